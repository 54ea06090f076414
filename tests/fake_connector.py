"""A fake Bot Framework connector service (what a Teams activity's ``serviceUrl`` points at).

    async with FakeConnector() as connector:
        connector.add_user("29:ana", "Ana", aad_object_id="aad-ana")
        connector.add_team("19:team@thread.tacv2", "Partners", channels=[...], members=["29:ana"])
        # point the bot at connector.service_url (an inbound activity's serviceUrl)
        ...
        connector.messages_to(connector.personal_conversation_id("29:ana"))

It is a real aiohttp server on 127.0.0.1 (ephemeral port) that **runs in its own thread with
its own event loop**. That is not a detail: botframework-connector 4.17.1 sends with
``requests`` — the async ``ConnectorClient`` runs ``requests`` in the default executor, and the
Teams extension client (``TeamsConnectorClient``, used by ``TeamsInfo.get_team_details`` and
``get_team_channels``) is *synchronous* and is called on the event loop. A fake served on the
test's own loop would deadlock on the latter. ``service_url`` carries a path (``/amer/``, like
``https://smba.trafficmanager.net/amer/``) so that a bot that drops the path is caught.

Wire protocol (read from botframework/connector/aio/operations_async and teams/operations):
- ``POST v3/conversations`` (create_conversation): ConversationParameters (``isGroup``,
  ``members``, ``bot``, ``activity``, ``channelData``; the tenant from ``channelData.tenant.id``,
  ``tenantId`` or botbuilder's own ``tenantID``). A 1:1 gives the same id every time for a
  (tenant, user) pair, like Teams; with ``channelData.channel.id`` and an activity it starts a
  thread in a channel (``<channel>;messageid=<activity id>``). Answer
  ``{"id", "activityId", "serviceUrl"}``.
- ``POST v3/conversations/{id}/activities`` (send_to_conversation), ``POST
  v3/conversations/{id}/activities/{activityId}`` (reply_to_activity), ``PUT`` the same path
  (update_activity), ``DELETE`` it (delete_activity): answer ``{"id": ...}`` (DELETE: empty).
- ``GET v3/conversations/{id}/members``, ``.../pagedmembers?pageSize=&continuationToken=``,
  ``.../members/{memberId}`` (the 29: id or the AAD object id): TeamsChannelAccount JSON
  (``id, name, givenName, surname, aadObjectId, email, userPrincipalName, tenantId,
  userRole``). The bot is not in a roster.
- ``GET v3/teams/{teamId}/conversations`` (``{"conversations": [{"id", "name"}]}``; the General
  channel, whose id is the team id, has no name, as in Teams) and ``GET v3/teams/{teamId}``
  (``{"id", "name", "aadGroupId", "channelCount", "memberCount", "type"}``).

Errors are Bot Framework shaped, ``{"error": {"code": ..., "message": ...}}``, which the client
turns into ``ErrorResponseException`` (see tests/test_fake_connector.py for how to read the
status). What Teams checks and a bot could get wrong is checked: a body that is not JSON (400
BadSyntax), an activity without ``type`` (400), an Adaptive Card attachment whose content lacks
``type: AdaptiveCard`` or a ``version`` (400), an unknown conversation (404
ConversationNotFound), member (404 MemberNotFoundInConversation), activity to update or delete
(404) or team (404), a 1:1 with a user who removed the app (``uninstall``: 403 Forbidden), a
create_conversation without a tenant (400). ``require_token="..."`` makes every call without
``Authorization: Bearer <that token>`` a 401, like the real service.

Everything is recorded: ``calls`` (every request: ``kind``, method, path, query, json, headers,
status, response), ``rejected`` (the calls answered with an error), ``activities``
(conversation id -> ``Posted`` list), ``updates``, ``deletes``, ``created`` (create_conversation
bodies). ``fail_next`` injects errors (429 with Retry-After, 412, 502, 504, 403, 404...) by
operation kind (``POST_ACTIVITY``: send or reply), path pattern, or for any call. Mind that
msrest retries GET/PUT/DELETE on 5xx by itself (see tests/test_fake_connector.py), so one
injected 502 on those is invisible to the caller.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import fnmatch
import hashlib
import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

DEFAULT_TENANT = "tenant-0000-passerelle"
BOT_ID = "28:bot-app-id"
BOT_NAME = "Passerelle"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

# Call.kind: the ConnectorClient operation each route serves (also keys for fail_next).
CREATE_CONVERSATION = "create_conversation"
SEND_TO_CONVERSATION = "send_to_conversation"
REPLY_TO_ACTIVITY = "reply_to_activity"
UPDATE_ACTIVITY = "update_activity"
DELETE_ACTIVITY = "delete_activity"
GET_MEMBERS = "get_conversation_members"
GET_PAGED_MEMBERS = "get_conversation_paged_members"
GET_MEMBER = "get_conversation_member"
GET_TEAM_CHANNELS = "get_teams_channels"
GET_TEAM_DETAILS = "get_team_details"
UNKNOWN = "unknown"
# For fail_next only: any activity posted to a conversation (send_to_conversation or
# reply_to_activity; a proactive turn's send_activity is a reply_to_activity, see below).
POST_ACTIVITY = "post_activity"
KINDS = frozenset(
    {
        POST_ACTIVITY,
        CREATE_CONVERSATION,
        SEND_TO_CONVERSATION,
        REPLY_TO_ACTIVITY,
        UPDATE_ACTIVITY,
        DELETE_ACTIVITY,
        GET_MEMBERS,
        GET_PAGED_MEMBERS,
        GET_MEMBER,
        GET_TEAM_CHANNELS,
        GET_TEAM_DETAILS,
    }
)

DEFAULT_PAGE_SIZE = 200
_FORBIDDEN_MESSAGE = "The bot is not part of the conversation roster."


# --- a server in a thread of its own ---------------------------------------------------------


class LoopbackServer:
    """Serve an aiohttp application on 127.0.0.1 from a daemon thread with its own event loop.

    Needed whenever the code under test makes *blocking* HTTP calls from the event loop
    (botframework's ``TeamsConnectorClient``, its OpenID metadata refresh): a server on the
    caller's loop could never answer them."""

    def __init__(self, make_app: Callable[[], web.Application], name: str = "loopback") -> None:
        self._make_app = make_app
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self, timeout: float = 10.0) -> int:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(self._make_app(), access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                self.port = runner.addresses[0][1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"{self._name}: server did not start within {timeout}s")
        if failure:
            raise failure[0]
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._loop = None
        self._thread = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# --- records and state ---------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request. ``path`` is relative to ``service_url`` (``/v3/...``), decoded."""

    kind: str
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int
    response: Any
    at: float
    retry_after: int | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")

    @property
    def token(self) -> str | None:
        """The bearer token sent, or None when there was no ``Authorization: Bearer``."""
        value = self.authorization or ""
        return value[len("Bearer ") :] if value.startswith("Bearer ") else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class User:
    id: str
    name: str
    aad_object_id: str
    tenant_id: str
    email: str | None = None
    user_principal_name: str | None = None
    given_name: str | None = None
    surname: str | None = None
    user_role: str = "user"
    app_installed: bool = True

    def to_json(self) -> dict[str, Any]:
        account: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad_object_id,
            "tenantId": self.tenant_id,
            "userRole": self.user_role,
        }
        for key, value in (
            ("givenName", self.given_name),
            ("surname", self.surname),
            ("email", self.email),
            ("userPrincipalName", self.user_principal_name),
        ):
            if value is not None:
                account[key] = value
        return account


@dataclass
class Team:
    id: str
    name: str
    aad_group_id: str
    tenant_id: str
    channels: list[tuple[str, str | None]]  # (id, name); the General channel has no name
    members: list[str]


@dataclass
class Conversation:
    id: str
    kind: str  # "personal", "channel" or "groupChat"
    tenant_id: str
    members: list[str]
    team_id: str | None = None
    name: str | None = None


@dataclass
class Posted:
    """An activity the bot posted. ``activity`` is its current JSON (after updates)."""

    conversation_id: str
    id: str
    activity: dict[str, Any]
    kind: str  # SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY or CREATE_CONVERSATION
    reply_to_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False


@dataclass(frozen=True)
class Update:
    conversation_id: str
    activity_id: str
    activity: dict[str, Any]


@dataclass(frozen=True)
class _Forced:
    status: int
    retry_after: int | None
    code: str | None
    message: str | None


class ConnectorError(Exception):
    """Raised inside a handler: answered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "Error"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def cards_in(activity: dict[str, Any]) -> list[dict[str, Any]]:
    """The Adaptive Card contents among an activity's attachments (JSON as posted)."""
    return [
        a["content"]
        for a in activity.get("attachments") or []
        if isinstance(a, dict) and a.get("contentType") == ADAPTIVE_CARD
    ]


def _check_activity(activity: Any) -> None:
    if not isinstance(activity, dict):
        raise ConnectorError(400, "BadArgument", "The activity must be a JSON object.")
    if not activity.get("type"):
        raise ConnectorError(400, "BadArgument", "Activity type is required.")
    attachments = activity.get("attachments")
    if attachments is None:
        return
    if not isinstance(attachments, list):
        raise ConnectorError(400, "BadArgument", "attachments must be an array.")
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or not attachment.get("contentType"):
            raise ConnectorError(400, "BadArgument", f"attachments[{i}]: contentType required.")
        if attachment["contentType"] != ADAPTIVE_CARD:
            continue
        content = attachment.get("content")
        if isinstance(content, str):  # Teams accepts a card serialised as a string too
            try:
                content = json.loads(content)
            except ValueError:
                content = None
        if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
            raise ConnectorError(
                400, "BadArgument", f"attachments[{i}]: content must be an AdaptiveCard."
            )
        if not isinstance(content.get("version"), str) or not content["version"]:
            raise ConnectorError(
                400, "BadArgument", f"attachments[{i}]: AdaptiveCard version is required."
            )


def _encode_token(index: int) -> str:
    return base64.urlsafe_b64encode(f"members:{index}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "members":
            raise ValueError(text)
        return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ConnectorError(400, "BadArgument", "Invalid continuation token.") from exc


# --- the fake ------------------------------------------------------------------------------


class FakeConnector:
    """A local Bot Framework connector for Teams. See the module docstring."""

    def __init__(
        self,
        *,
        require_token: str | None = None,
        tenant: str = DEFAULT_TENANT,
        path_prefix: str = "amer",
        bot_id: str = BOT_ID,
        bot_name: str = BOT_NAME,
    ) -> None:
        self.require_token = require_token
        self.tenant = tenant
        self.path_prefix = path_prefix.strip("/")
        self.bot_id = bot_id
        self.bot_name = bot_name

        self.calls: list[Call] = []
        self.rejected: list[Call] = []
        self.activities: dict[str, list[Posted]] = defaultdict(list)
        self.updates: list[Update] = []
        self.deletes: list[tuple[str, str]] = []
        self.created: list[dict[str, Any]] = []
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.conversations: dict[str, Conversation] = {}

        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._activity_clock = int(time.time() * 1000)
        self._forced: list[tuple[str | None, list[_Forced]]] = []
        self._server = LoopbackServer(self._make_app, name="fake-connector")

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeConnector:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    async def __aenter__(self) -> FakeConnector:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> FakeConnector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def service_url(self) -> str:
        """What Teams puts in ``activity.serviceUrl`` (ends with "/")."""
        prefix = f"/{self.path_prefix}" if self.path_prefix else ""
        return f"{self._server.base_url}{prefix}/"

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        prefix = f"/{self.path_prefix}" if self.path_prefix else ""
        app.router.add_route("*", prefix + "/{tail:.*}", self._serve)
        return app

    # --- setup by the test --------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        aad_object_id: str | None = None,
        tenant: str | None = None,
        email: str | None = None,
        user_principal_name: str | None = None,
        given_name: str | None = None,
        surname: str | None = None,
        user_role: str = "user",
    ) -> User:
        """A Teams user (``29:...`` id) with the app installed for them."""
        name = name or user_id
        aad = aad_object_id or str(_uuid_from(user_id))
        upn = user_principal_name or f"{name.split()[0].lower()}@passerelle.example"
        user = User(
            id=user_id,
            name=name,
            aad_object_id=aad,
            tenant_id=tenant or self.tenant,
            email=email or upn,
            user_principal_name=upn,
            given_name=given_name,
            surname=surname,
            user_role=user_role,
        )
        with self._lock:
            self.users[user_id] = user
        return user

    def uninstall(self, user_id: str) -> None:
        """The user removed the app: creating or writing to their 1:1 answers 403."""
        with self._lock:
            self.users[user_id].app_installed = False

    def add_team(
        self,
        team_id: str,
        name: str,
        *,
        channels: Iterable[tuple[str, str] | str] = (),
        members: Iterable[str] = (),
        aad_group_id: str | None = None,
        tenant: str | None = None,
    ) -> Team:
        """A team; its General channel has the team's id. ``channels`` are more channels, as
        ids or (id, name). Every channel is a conversation whose roster is the team's."""
        extra = [(c, c) if isinstance(c, str) else (c[0], c[1]) for c in channels]
        member_list = list(dict.fromkeys(members))
        tenant_id = tenant or self.tenant
        team = Team(
            id=team_id,
            name=name,
            aad_group_id=aad_group_id or str(_uuid_from(team_id)),
            tenant_id=tenant_id,
            channels=[(team_id, None), *extra],
            members=member_list,
        )
        with self._lock:
            self.teams[team_id] = team
            for channel_id, channel_name in team.channels:
                self.conversations[channel_id] = Conversation(
                    channel_id, "channel", tenant_id, member_list, team_id, channel_name
                )
        return team

    def add_conversation(
        self,
        conversation_id: str,
        *,
        members: Iterable[str] = (),
        kind: str = "groupChat",
        tenant: str | None = None,
        team_id: str | None = None,
        name: str | None = None,
    ) -> Conversation:
        """A conversation the bot is already in (a group chat, or a 1:1 with ``kind=
        "personal"`` when the test plays the inbound first message)."""
        conversation = Conversation(
            conversation_id, kind, tenant or self.tenant, list(members), team_id, name
        )
        with self._lock:
            self.conversations[conversation_id] = conversation
        return conversation

    def personal_conversation_id(self, user_id: str, tenant: str | None = None) -> str:
        """The bot's 1:1 conversation id with ``user_id`` (stable, as in Teams); registers it."""
        tenant_id = tenant or (self.users[user_id].tenant_id if user_id in self.users else None)
        tenant_id = tenant_id or self.tenant
        digest = hashlib.sha256(f"{tenant_id}|{user_id}|{self.bot_id}".encode()).digest()
        conversation_id = "a:1" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        with self._lock:
            if conversation_id not in self.conversations:
                self.conversations[conversation_id] = Conversation(
                    conversation_id, "personal", tenant_id, [user_id]
                )
        return conversation_id

    def fail_next(
        self,
        path_or_kind: str | None,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        *,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching calls with ``status`` and a Bot Framework error
        body. ``path_or_kind``: an operation kind (``SEND_TO_CONVERSATION``...; ``POST_ACTIVITY``
        for send or reply), a path
        relative to the service URL with ``fnmatch`` wildcards (``/v3/conversations/*``), or
        None for any call (kinds are case-insensitive). ``retry_after`` sets the
        ``Retry-After`` header (whole seconds). ``code`` defaults to the status phrase
        (403: ``Forbidden``, 429: ``TooManyRequests``)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if path_or_kind is not None and not path_or_kind.startswith("/"):
            path_or_kind = path_or_kind.lower()  # "SEND_TO_CONVERSATION" works too
            if path_or_kind not in KINDS:
                raise ValueError(f"{path_or_kind!r}: not an operation kind nor a /v3/... path")
        forced = [_Forced(status, retry_after, code, message) for _ in range(times)]
        with self._lock:
            self._forced.append((path_or_kind, forced))

    # --- queries by the test ------------------------------------------------------------

    def calls_of(self, kind: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.kind == kind]

    def posted(self, conversation_id: str) -> list[Posted]:
        """What the bot posted in a conversation (for a channel id: its threads too)."""
        with self._lock:
            found: list[Posted] = []
            for key, posts in self.activities.items():
                if key == conversation_id or key.startswith(conversation_id + ";messageid="):
                    found.extend(posts)
            return sorted(found, key=lambda p: int(p.id))

    def messages_to(self, conversation_id: str) -> list[dict[str, Any]]:
        """The message activities in a conversation as they now stand (deleted ones left out)."""
        return [
            copy.deepcopy(p.activity)
            for p in self.posted(conversation_id)
            if not p.deleted and p.activity.get("type") == "message"
        ]

    def cards_to(self, conversation_id: str) -> list[dict[str, Any]]:
        return [card for a in self.messages_to(conversation_id) for card in cards_in(a)]

    @staticmethod
    def cards_in(activity: dict[str, Any]) -> list[dict[str, Any]]:
        return cards_in(activity)

    # --- HTTP ---------------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        path = "/" + request.match_info["tail"]
        kind, params = _route(request.method, path)
        headers = dict(request.headers)
        raw = await request.read()
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
                body = raw.decode("utf-8", "replace")

        def answer(status: int, payload: Any, retry_after: int | None = None) -> web.Response:
            call = Call(
                kind,
                request.method,
                path,
                dict(request.query),
                body,
                headers,
                status,
                payload,
                arrived,
                retry_after,
            )
            with self._lock:
                self.calls.append(call)
                if not call.ok:
                    self.rejected.append(call)
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            if payload is None:
                return web.Response(status=status, headers=extra)
            return web.json_response(payload, status=status, headers=extra)

        token_ok = headers.get("Authorization") == f"Bearer {self.require_token}"
        if self.require_token is not None and not token_ok:
            return answer(401, {"message": "Authorization has been denied for this request."})
        forced = self._take_forced(kind, path)
        if forced is not None:
            code = forced.code or _code_for(forced.status)
            message = forced.message or (
                _FORBIDDEN_MESSAGE if forced.status == 403 else f"Injected {forced.status}."
            )
            return answer(forced.status, error_body(code, message), forced.retry_after)
        if kind == UNKNOWN:
            return answer(404, error_body("NotFound", f"No route for {request.method} {path}."))
        if bad_json or (request.method in ("POST", "PUT") and not isinstance(body, dict)):
            return answer(400, error_body("BadSyntax", "The request body is not a JSON object."))
        try:
            with self._lock:
                status, payload = self._handle(kind, params, body, request.query)
        except ConnectorError as exc:
            return answer(exc.status, error_body(exc.code, exc.message))
        return answer(status, payload)

    def _take_forced(self, kind: str, path: str) -> _Forced | None:
        with self._lock:
            for key, queue in self._forced:
                if not queue:
                    continue
                posting = key == POST_ACTIVITY and kind in (SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY)
                if key is None or key == kind or posting or fnmatch.fnmatchcase(path, key):
                    forced = queue.pop(0)
                    self._forced = [entry for entry in self._forced if entry[1]]
                    return forced
        return None

    def _handle(self, kind: str, params: dict[str, str], body: Any, query: Any) -> tuple[int, Any]:
        if kind == CREATE_CONVERSATION:
            return 201, self._create_conversation(body)
        if kind in (SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY):
            self._writable(params["conversation"])
            _check_activity(body)
            reply_to = params.get("activity") or body.get("replyToId")
            posted = self._post(params["conversation"], body, kind, reply_to)
            return 201, {"id": posted.id}
        if kind == UPDATE_ACTIVITY:
            self._writable(params["conversation"])
            _check_activity(body)
            if body.get("text") and body.get("attachments"):
                # What Teams (and the Agents Playground) answer: text and a card are two
                # messages, and one message cannot be updated into two.
                raise ConnectorError(
                    400, "BadSyntax", "Activity resulted into multiple skype activities"
                )
            posted = self._find_posted(params["conversation"], params["activity"])
            posted.history.append(posted.activity)
            updated = copy.deepcopy(body)
            updated["id"] = posted.id
            posted.activity = updated
            self.updates.append(Update(params["conversation"], posted.id, copy.deepcopy(body)))
            return 200, {"id": posted.id}
        if kind == DELETE_ACTIVITY:
            self._conversation(params["conversation"])
            posted = self._find_posted(params["conversation"], params["activity"])
            posted.deleted = True
            self.deletes.append((params["conversation"], posted.id))
            return 200, None
        if kind == GET_MEMBERS:
            conversation = self._conversation(params["conversation"])
            return 200, [self._member(m).to_json() for m in conversation.members]
        if kind == GET_PAGED_MEMBERS:
            return 200, self._paged_members(params["conversation"], query)
        if kind == GET_MEMBER:
            conversation = self._conversation(params["conversation"])
            member = self._find_member(conversation, params["member"])
            return 200, member.to_json()
        if kind == GET_TEAM_CHANNELS:
            team = self._team(params["team"])
            channels = [
                {"id": cid} if cname is None else {"id": cid, "name": cname}
                for cid, cname in team.channels
            ]
            return 200, {"conversations": channels}
        if kind == GET_TEAM_DETAILS:
            team = self._team(params["team"])
            return 200, {
                "id": team.id,
                "name": team.name,
                "aadGroupId": team.aad_group_id,
                "channelCount": len(team.channels),
                "memberCount": len(team.members),
                "type": "standard",
            }
        raise ConnectorError(404, "NotFound", kind)

    # --- operations ---------------------------------------------------------------------

    def _create_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(copy.deepcopy(body))
        channel_data = body.get("channelData") or {}
        if not isinstance(channel_data, dict):
            raise ConnectorError(400, "BadArgument", "channelData must be an object.")
        tenant = (channel_data.get("tenant") or {}).get("id") or body.get("tenantId")
        tenant = tenant or body.get("tenantID")
        if not tenant:
            raise ConnectorError(400, "BadArgument", "A tenant id is required (channelData).")
        activity = body.get("activity")
        if activity is not None:
            _check_activity(activity)
        channel_id = (channel_data.get("channel") or {}).get("id")
        if channel_id:  # a new thread in a team channel
            conversation = self._conversation(channel_id)
            if conversation.kind != "channel":
                raise ConnectorError(400, "BadArgument", "Not a channel.")
            if activity is None:
                raise ConnectorError(400, "BadArgument", "A channel post needs an activity.")
            activity_id = self._next_activity_id()
            thread_id = f"{channel_id};messageid={activity_id}"
            self._post(thread_id, activity, CREATE_CONVERSATION, None, activity_id)
            return {"id": thread_id, "activityId": activity_id, "serviceUrl": self.service_url}
        members = body.get("members") or []
        if body.get("isGroup") or len(members) != 1:
            raise ConnectorError(
                400, "BadArgument", "Only a 1:1 conversation with one member can be created."
            )
        member = members[0] if isinstance(members[0], dict) else {}
        user = self._user_by_any_id(str(member.get("id") or ""))
        if user is None:
            raise ConnectorError(404, "NotFound", "The user is not found in the tenant.")
        if user.tenant_id != tenant:
            raise ConnectorError(403, "Forbidden", "The user is in another tenant.")
        if not user.app_installed:
            raise ConnectorError(403, "Forbidden", _FORBIDDEN_MESSAGE)
        conversation_id = self.personal_conversation_id(user.id, tenant)
        result: dict[str, Any] = {"id": conversation_id, "serviceUrl": self.service_url}
        if activity is not None:
            result["activityId"] = self._post(
                conversation_id, activity, CREATE_CONVERSATION, None
            ).id
        return result

    def _post(
        self,
        conversation_id: str,
        activity: dict[str, Any],
        kind: str,
        reply_to_id: str | None,
        activity_id: str | None = None,
    ) -> Posted:
        stored = copy.deepcopy(activity)
        posted_id = activity_id or self._next_activity_id()
        stored["id"] = posted_id
        posted = Posted(conversation_id, posted_id, stored, kind, reply_to_id)
        self.activities[conversation_id].append(posted)
        return posted

    def _next_activity_id(self) -> str:
        self._activity_clock = max(self._activity_clock + 1, int(time.time() * 1000))
        return str(self._activity_clock)

    def _conversation(self, conversation_id: str) -> Conversation:
        base = conversation_id.split(";messageid=")[0]
        conversation = self.conversations.get(base)
        if conversation is None:
            raise ConnectorError(404, "ConversationNotFound", "Conversation not found.")
        return conversation

    def _writable(self, conversation_id: str) -> Conversation:
        conversation = self._conversation(conversation_id)
        if conversation.kind == "personal":
            for member_id in conversation.members:
                user = self.users.get(member_id)
                if user is not None and not user.app_installed:
                    raise ConnectorError(403, "Forbidden", _FORBIDDEN_MESSAGE)
        return conversation

    def _find_posted(self, conversation_id: str, activity_id: str) -> Posted:
        base = conversation_id.split(";messageid=")[0]
        for key, posts in self.activities.items():
            if key.split(";messageid=")[0] != base:
                continue
            for posted in posts:
                if posted.id == activity_id and not posted.deleted:
                    return posted
        raise ConnectorError(404, "ActivityNotFound", "Activity not found.")

    def _member(self, member_id: str) -> User:
        user = self.users.get(member_id)
        if user is None:  # a roster entry the test did not describe
            user = User(member_id, member_id, str(_uuid_from(member_id)), self.tenant)
        return user

    def _user_by_any_id(self, member_id: str) -> User | None:
        user = self.users.get(member_id)
        if user is None:
            user = next((u for u in self.users.values() if u.aad_object_id == member_id), None)
        return user

    def _find_member(self, conversation: Conversation, member_id: str) -> User:
        for candidate in conversation.members:
            user = self._member(candidate)
            if member_id in (user.id, user.aad_object_id):
                return user
        raise ConnectorError(
            404, "MemberNotFoundInConversation", "The member is not found in conversation."
        )

    def _paged_members(self, conversation_id: str, query: Any) -> dict[str, Any]:
        conversation = self._conversation(conversation_id)
        try:
            size = int(query.get("pageSize") or DEFAULT_PAGE_SIZE)
        except ValueError as exc:
            raise ConnectorError(400, "BadArgument", "pageSize must be an integer.") from exc
        size = max(1, min(size, 500))
        token = query.get("continuationToken")
        start = _decode_token(token) if token else 0
        if start > len(conversation.members):
            raise ConnectorError(400, "BadArgument", "Invalid continuation token.")
        page = conversation.members[start : start + size]
        result: dict[str, Any] = {"members": [self._member(m).to_json() for m in page]}
        if start + size < len(conversation.members):
            result["continuationToken"] = _encode_token(start + size)
        return result

    def _team(self, team_id: str) -> Team:
        team = self.teams.get(team_id)
        if team is None:
            raise ConnectorError(404, "NotFound", "Team not found or the bot is not in it.")
        return team


def _uuid_from(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    """Which ConnectorClient operation a (method, decoded path) is, and its path parameters."""
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "v3":
        return UNKNOWN, {}
    if parts[1] == "conversations":
        if len(parts) == 2:
            return (CREATE_CONVERSATION, {}) if method == "POST" else (UNKNOWN, {})
        params = {"conversation": parts[2]}
        rest = parts[3:]
        if rest == ["activities"] and method == "POST":
            return SEND_TO_CONVERSATION, params
        if len(rest) == 2 and rest[0] == "activities":
            params["activity"] = rest[1]
            kinds = {"POST": REPLY_TO_ACTIVITY, "PUT": UPDATE_ACTIVITY, "DELETE": DELETE_ACTIVITY}
            return kinds.get(method, UNKNOWN), params
        if method == "GET" and rest == ["members"]:
            return GET_MEMBERS, params
        if method == "GET" and rest == ["pagedmembers"]:
            return GET_PAGED_MEMBERS, params
        if method == "GET" and len(rest) == 2 and rest[0] == "members":
            params["member"] = rest[1]
            return GET_MEMBER, params
        return UNKNOWN, params
    if parts[1] == "teams" and len(parts) >= 3 and method == "GET":
        params = {"team": parts[2]}
        if len(parts) == 3:
            return GET_TEAM_DETAILS, params
        if parts[3:] == ["conversations"]:
            return GET_TEAM_CHANNELS, params
    return UNKNOWN, {}
