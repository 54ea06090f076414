"""A fake Slack Web API: a real aiohttp server on 127.0.0.1 for the real slack_sdk and Bolt.

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        # or SLACK_API_URL=slack.api_url for the app under test (slack.env() gives the lot)

It speaks the wire protocol slack_sdk uses (checked against slack_sdk 3.47):
- ``POST|GET /api/<method>``; arguments as a query string (``params=``: auth.test,
  conversations.*, users.info, files.*), a form (``data=``: oauth.v2.access) or a JSON body
  (``json=``: chat.*, views.*). A token is read from ``Authorization: Bearer`` or, as Slack
  allows, from a ``token`` query or form field (never from a JSON body).
  ``oauth.v2.access`` takes the client id and secret as HTTP Basic auth or as form fields.
- every answer is HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": "<code>"}``
  (``invalid_blocks`` and ``invalid_arguments`` add ``response_metadata.messages``), except a
  rate limit: HTTP 429, ``Retry-After: <whole seconds>`` and ``{"ok": false, "error":
  "ratelimited"}``, which ``AsyncRateLimitErrorRetryHandler`` honours.
- ``files_upload_v2``: files.getUploadURLExternal gives an ``upload_url`` on this server; the
  raw bytes are POSTed there (no token; answer ``text/plain`` ``OK - <n>``); then
  files.completeUploadExternal shares the file and posts it in the channel.
- Socket Mode: ``apps.connections.open`` with the app-level token (``app_token``, ``xapp-``)
  gives a ``ws://127.0.0.1`` URL on this server, good for one connection, which says ``hello``;
  ``push()`` sends an envelope over it as Slack does (``envelope_id``, ``type``, ``payload``,
  ``accepts_response_payload``) and ``socket_ack()`` waits for the app's acknowledgement.
- ``answer_submission()`` applies the ack of a view_submission as Slack does
  (``response_action: update`` replaces the modal; no answer closes it), ``close_view()``
  closes a modal (``views.update`` on it is then ``not_found``), ``add_view()`` holds a modal
  as if views.open had shown it.
- ``response_url``s (``new_response_url()``) accept JSON like hooks.slack.com and answer ``ok``;
  ``authorize_url`` plays slack.com/oauth/v2/authorize: it redirects to the redirect URI with a
  code (one registered by ``register_oauth_code`` or a fresh one) and the ``state``.

Where Slack is strict, so is the fake: channels, users and DMs must exist (``add_channel``,
``add_user``; posting to a user id lands in the user's DM); a private channel the bot is not in
is ``channel_not_found``, a public one ``not_in_channel``; ``chat.update`` needs the DM id
(``D…``), not a user id; ``users.info`` gives ``locale`` only with ``include_locale=true``;
``views.open``/``views.push`` refuse a trigger id that is malformed, used twice or older than
3 seconds (make them with ``tests.slack_signing.new_trigger_id``); modal titles and a few Block
Kit limits are checked; ``conversations.members`` lists the bot too and pages by cursor.

Everything is recorded: ``calls`` (requests served: HTTP 200 whatever ``ok`` says, and the
authorize redirect), ``rejected`` (HTTP 429, forced 5xx, unknown upload or response URLs, refused
authorize visits), ``messages``, ``views``, ``home_views``, ``files``, ``responses``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import datetime as dt
import itertools
import json
import math
import mimetypes
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.slack_signing import (
    APP_ID,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_DOMAIN,
    TEAM_ID,
    trigger_issued_at,
)

UPLOAD = "upload"  # Call.method of the raw upload POST to an upload_url
RESPONSE_URL = "response_url"  # Call.method of a POST to a response_url
AUTHORIZE = "oauth/v2/authorize"  # Call.method of a visit to authorize_url

DEFAULT_BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "im:write",
        "im:read",
        "mpim:write",
        "channels:read",
        "groups:read",
        "users:read",
        "team:read",
        "files:write",
    }
)

# Methods that need a token, with the scope each needs (None: any valid token will do).
_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "conversations.members": "channels:read",
    "conversations.info": "channels:read",
    "users.info": "users:read",
    "team.info": "team:read",
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
_NO_TOKEN = {"oauth.v2.access"}

TRIGGER_TTL_SECONDS = 3.0
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the fake answered. ``at`` is ``time.monotonic()`` on arrival."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    http_method: str = "POST"
    status: int = 200
    response: Any = None
    retry_after: int | None = None
    peer: tuple[str, int] | None = None  # the client's address and port: its connection

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.response, dict) and bool(self.response["ok"])

    @property
    def error(self) -> str | None:
        return self.response.get("error") if isinstance(self.response, dict) else None


@dataclass(frozen=True)
class TokenInfo:
    """Who a token speaks for. ``scopes=None`` grants every scope."""

    team_id: str
    user_id: str
    bot_id: str | None = None
    scopes: frozenset[str] | None = DEFAULT_BOT_SCOPES
    app_id: str = APP_ID


@dataclass
class Team:
    id: str
    name: str
    domain: str


@dataclass
class User:
    id: str
    name: str
    real_name: str
    tz: str = "America/Toronto"
    locale: str = "en-US"
    team_id: str = TEAM_ID
    email: str | None = None
    is_bot: bool = False
    bot_id: str | None = None
    deleted: bool = False
    tz_label: str | None = None

    def to_dict(self, include_locale: bool = False) -> dict[str, Any]:
        now = dt.datetime.now(ZoneInfo(self.tz))
        offset = now.utcoffset() or dt.timedelta(0)
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": self.team_id,
        }
        if self.email:
            profile["email"] = self.email
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label or now.tzname(),
            "tz_offset": int(offset.total_seconds()),
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_archived: bool = False
    user: str | None = None  # the other party of a DM
    team_id: str = TEAM_ID
    created: int = 1700000000

    def to_dict(self, bot_user_id: str, include_num_members: bool = False) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "context_team_id": self.team_id,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        info: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": bot_user_id in self.members,
            "created": self.created,
            "creator": "",
            "context_team_id": self.team_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if include_num_members:
            info["num_members"] = len(self.members)
        return info


@dataclass
class Message:
    """A message as it stands in a channel (``ephemeral_to``: seen by that user only)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    bot_id: str | None
    team: str
    app_id: str | None = None
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    files: list[str] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    edits: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The message object as Slack returns it (and as interactivity payloads carry it)."""
        message: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
            "team": self.team,
        }
        if self.bot_id:
            message["bot_id"] = self.bot_id
            message["app_id"] = self.app_id
        if self.blocks:
            message["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.ephemeral_to:
            message["is_ephemeral"] = True
        if self.files:
            message["files"] = [{"id": f} for f in self.files]
        if self.edits:
            message["edited"] = {"user": self.user, "ts": self.ts}
        if self.metadata:
            message["metadata"] = copy.deepcopy(self.metadata)
        return message


@dataclass
class File:
    id: str
    filename: str
    length: int
    user: str
    team: str
    alt_txt: str | None = None
    content: bytes | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass(frozen=True)
class ResponsePost:
    """What the app POSTed to a response_url."""

    key: str
    body: dict[str, Any]
    at: float


class _SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: dict[str, Any] = {"ok": False, "error": error, **extra}


def _invalid(error: str, messages: list[str]) -> _SlackError:
    extra: dict[str, Any] = {"response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}}
    if error == "invalid_blocks":
        extra["errors"] = messages
    return _SlackError(error, **extra)


@dataclass
class _Limit:
    per_window: int
    window: float
    per_channel: bool
    hits: dict[tuple[str | None, str | None], deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )


@dataclass
class _Bucket:
    """A limit the client is not told: ``rate`` calls a second, up to ``burst`` at once."""

    method: str | None
    rate: float
    burst: int
    per_channel: bool
    # (team, channel) -> (tokens, when they were counted)
    tokens: dict[tuple[str | None, str | None], tuple[float, float]] = field(default_factory=dict)

    def key(self, team_id: str | None, params: dict[str, Any]) -> tuple[str | None, str | None]:
        return team_id, str(params.get("channel", "")) if self.per_channel else None

    def level(self, key: tuple[str | None, str | None], now: float) -> float:
        tokens, at = self.tokens.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)


@dataclass(frozen=True)
class _Forced:
    status: int
    retry_after: int
    error: str | None


# --- helpers -------------------------------------------------------------------------------


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _json_param(params: dict[str, Any], name: str, error: str = "invalid_arguments") -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise _SlackError(error) from exc
    return value


def _require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise _SlackError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )


def _check_text(
    obj: Any, pointer: str, limit: int, errors: list[str], *, plain: bool = False
) -> None:
    if obj is None:
        return
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"must be a text object [json-pointer:{pointer}]")
        return
    if plain and obj["type"] != "plain_text":
        errors.append(f"must be plain_text [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be a non-empty string [json-pointer:{pointer}/text]")
    elif len(text) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")


_OPTION_LIMITS = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
    "overflow": 5,
}


def _check_element(element: Any, pointer: str, errors: list[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        errors.append(f"must be an element with a type [json-pointer:{pointer}]")
        return
    action_id = element.get("action_id")
    if isinstance(action_id, str) and len(action_id) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{pointer}/action_id]")
    kind = element["type"]
    if kind == "button":
        _check_text(element.get("text"), f"{pointer}/text", 75, errors, plain=True)
        value = element.get("value")
        if isinstance(value, str) and len(value) > 2000:
            errors.append(f"must be less than 2001 characters [json-pointer:{pointer}/value]")
    _check_text(element.get("placeholder"), f"{pointer}/placeholder", 150, errors, plain=True)
    if kind in _OPTION_LIMITS and "options" in element:
        options = element["options"]
        limit = _OPTION_LIMITS[kind]
        if not isinstance(options, list) or not options:
            errors.append(f"must provide at least 1 option [json-pointer:{pointer}/options]")
            return
        if len(options) > limit:
            errors.append(
                f"must provide no more than {limit} items [json-pointer:{pointer}/options]"
            )
        for i, option in enumerate(options):
            where = f"{pointer}/options/{i}"
            _check_text(
                option.get("text") if isinstance(option, dict) else None,
                f"{where}/text",
                75,
                errors,
            )
            value = option.get("value") if isinstance(option, dict) else None
            if not isinstance(value, str) or len(value) > 150:
                errors.append(f"must be at most 150 characters [json-pointer:{where}/value]")


def _check_blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    """A subset of Block Kit's rules, with Slack's json-pointer style of message."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    if len(blocks) > max_blocks:
        errors.append(f"must provide no more than {max_blocks} items [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        here = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"must be a block with a type [json-pointer:{here}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > 255:
                errors.append(f"must be less than 256 characters [json-pointer:{here}/block_id]")
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{here}/block_id]")
            block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                errors.append(f"must provide either text or fields [json-pointer:{here}]")
            _check_text(block.get("text"), f"{here}/text", 3000, errors)
            for j, item in enumerate(block.get("fields") or []):
                _check_text(item, f"{here}/fields/{j}", 2000, errors)
            if "accessory" in block:
                _check_element(block["accessory"], f"{here}/accessory", errors)
        elif kind == "header":
            _check_text(block.get("text"), f"{here}/text", 150, errors, plain=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 25:
                errors.append(f"must provide 1 to 25 elements [json-pointer:{here}/elements]")
                continue
            seen: set[str] = set()
            for j, element in enumerate(elements):
                _check_element(element, f"{here}/elements/{j}", errors)
                aid = element.get("action_id") if isinstance(element, dict) else None
                if isinstance(aid, str):
                    if aid in seen:
                        errors.append(
                            f"duplicate action_id {aid!r} [json-pointer:{here}/elements/{j}]"
                        )
                    seen.add(aid)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 10:
                errors.append(f"must provide 1 to 10 elements [json-pointer:{here}/elements]")
        elif kind == "input":
            _check_text(block.get("label"), f"{here}/label", 2000, errors, plain=True)
            _check_text(block.get("hint"), f"{here}/hint", 2000, errors, plain=True)
            if "element" not in block:
                errors.append(f"must provide an element [json-pointer:{here}/element]")
            else:
                _check_element(block["element"], f"{here}/element", errors)
    return errors


def _check_view(view: Any, kinds: tuple[str, ...]) -> list[str]:
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") not in kinds:
        errors.append(f"must be one of {list(kinds)} [json-pointer:/view/type]")
    if view.get("type") == "modal":
        if view.get("title") is None:
            errors.append("must provide a title [json-pointer:/view/title]")
        _check_text(view.get("title"), "/view/title", 24, errors, plain=True)
        _check_text(view.get("submit"), "/view/submit", 24, errors, plain=True)
        _check_text(view.get("close"), "/view/close", 24, errors, plain=True)
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and view.get("submit") is None:
            errors.append("must provide a submit with input blocks [json-pointer:/view/submit]")
    for name, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        value = view.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:/view/{name}]")
    errors += _check_blocks(view.get("blocks", []), "/view/blocks", MAX_VIEW_BLOCKS)
    return errors


def _field_bytes(value: bytes | bytearray | web.FileField) -> bytes:
    """The bytes of a multipart field."""
    if isinstance(value, web.FileField):
        return value.file.read()
    return bytes(value)


def _cursor(member_id: str) -> str:
    return base64.b64encode(f"user:{member_id}".encode()).decode()


def _uncursor(cursor: str) -> str:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _SlackError("invalid_cursor") from exc
    if not decoded.startswith("user:"):
        raise _SlackError("invalid_cursor")
    return decoded[len("user:") :]


# --- the fake ------------------------------------------------------------------------------


class FakeSlack:
    """A local Slack Web API. See the module docstring for what it answers and how."""

    def __init__(
        self,
        *,
        team_id: str = TEAM_ID,
        team_name: str = "Passerelle Test",
        team_domain: str = TEAM_DOMAIN,
        bot_token: str = "xoxb-1000-2000-fakebottoken",
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = "B0PASSBOT",
        app_id: str = APP_ID,
        bot_scopes: Iterable[str] = DEFAULT_BOT_SCOPES,
        client_id: str = "1000.2000",
        client_secret: str = "fake-client-secret",
        signing_secret: str = SIGNING_SECRET,
        oauth_redirect_uri: str | None = None,
        app_token: str = "xapp-1-A0PASSRL1-1000-fakeapptoken",
    ) -> None:
        self.team_id = team_id
        self.app_token = app_token  # the app-level token (connections:write) of Socket Mode
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.signing_secret = signing_secret  # not used by the server: for the app under test
        self.oauth_redirect_uri = oauth_redirect_uri
        self.trigger_ttl = TRIGGER_TTL_SECONDS

        self.calls: list[Call] = []
        self.rejected: list[Call] = []
        self.tokens: dict[str, TokenInfo] = {}
        self.revoked: set[str] = set()
        self.teams: dict[str, Team] = {team_id: Team(team_id, team_name, team_domain)}
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: list[Message] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, File] = {}
        self.responses: list[ResponsePost] = []
        self.oauth_codes: dict[str, dict[str, Any]] = {}

        self._ids = itertools.count(1)
        self._last_ts = 0
        self._dms: dict[str, str] = {}
        self._mpims: dict[tuple[str, ...], str] = {}
        self._used_triggers: set[str] = set()
        self._uploads: dict[str, str] = {}  # upload key -> file id
        self._response_keys: set[str] = set()
        self._redirect_uris: dict[str, str | None] = {}
        self._unissued_codes: list[str] = []
        self._install_bot_ids: dict[str, str] = {}
        self._last_view_id: str | None = None
        self.closed_views: set[str] = set()
        self.socket_acks: list[dict[str, Any]] = []  # what the app sent back on Socket Mode
        self._socket_keys: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_news: asyncio.Condition | None = None
        self._limits: dict[str | None, _Limit] = {}
        self._buckets: list[_Bucket] = []
        self._forced: dict[str | None, deque[_Forced]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.port = 0

        self.add_token(
            bot_token, team_id=team_id, user_id=bot_user_id, bot_id=bot_id, scopes=bot_scopes
        )
        self.add_user(bot_user_id, "passerelle", is_bot=True, bot_id=bot_id, team_id=team_id)

        self._handlers: dict[str, Callable[[dict[str, Any], TokenInfo | None], dict[str, Any]]]
        self._handlers = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "team.info": self._team_info,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._serve_api)
        app.router.add_post("/upload/v1/{key}", self._serve_upload)
        app.router.add_post("/webhook/{key}", self._serve_response_url)
        app.router.add_get("/oauth/v2/authorize", self._serve_authorize)
        app.router.add_get("/socket-mode/{key}", self._serve_socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL: ``AsyncWebClient(base_url=...)`` and ``SLACK_API_URL``."""
        return f"{self.base_url}/api/"

    @property
    def authorize_url(self) -> str:
        """Stands in for https://slack.com/oauth/v2/authorize (Bolt's ``authorization_url``)."""
        return f"{self.base_url}/oauth/v2/authorize"

    def env(self, *, oauth: bool = False) -> dict[str, str]:
        """The app's Slack settings pointing at this fake."""
        env = {"SLACK_API_URL": self.api_url, "SLACK_SIGNING_SECRET": self.signing_secret}
        if oauth:
            env |= {"SLACK_CLIENT_ID": self.client_id, "SLACK_CLIENT_SECRET": self.client_secret}
        else:
            env["SLACK_BOT_TOKEN"] = self.bot_token
        return env

    def client(self, token: str | None = None, *, rate_limit_retries: int = 2) -> Any:
        """An ``AsyncWebClient`` on this fake that waits out 429s like the app should."""
        from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
        from slack_sdk.web.async_client import AsyncWebClient

        return AsyncWebClient(
            token=token or self.bot_token,
            base_url=self.api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)],
        )

    # --- setup by the test --------------------------------------------------------------

    def add_token(
        self,
        token: str,
        *,
        team_id: str | None = None,
        user_id: str | None = None,
        bot_id: str | None = None,
        scopes: Iterable[str] | None = DEFAULT_BOT_SCOPES,
    ) -> TokenInfo:
        info = TokenInfo(
            team_id=team_id or self.team_id,
            user_id=user_id or self.bot_user_id,
            bot_id=bot_id,
            scopes=None if scopes is None else frozenset(scopes),
            app_id=self.app_id,
        )
        self.tokens[token] = info
        self.revoked.discard(token)
        return info

    def revoke(self, token: str) -> None:
        """From now on the token answers ``token_revoked``."""
        self.tokens.pop(token, None)
        self.revoked.add(token)

    def add_team(self, team_id: str, name: str, domain: str | None = None) -> Team:
        team = Team(team_id, name, domain or name.lower().replace(" ", "-"))
        self.teams[team_id] = team
        return team

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        tz: str = "America/Toronto",
        locale: str = "en-US",
        real_name: str | None = None,
        team_id: str | None = None,
        email: str | None = None,
        is_bot: bool = False,
        bot_id: str | None = None,
        deleted: bool = False,
        tz_label: str | None = None,
    ) -> User:
        ZoneInfo(tz)  # fail early on a zone name Slack would never send
        name = name or user_id.lower()
        user = User(
            id=user_id,
            name=name,
            real_name=real_name or name.title(),
            tz=tz,
            locale=locale,
            team_id=team_id or self.team_id,
            email=email,
            is_bot=is_bot,
            bot_id=bot_id,
            deleted=deleted,
            tz_label=tz_label,
        )
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
        bot_member: bool = True,
        is_archived: bool = False,
        team_id: str | None = None,
    ) -> Channel:
        """A channel (``C…``, or ``G…``/``C…`` with ``is_private``). The bot is a member unless
        ``bot_member=False``; members are listed in the order given, the bot last."""
        member_list = list(dict.fromkeys(members))
        if bot_member and self.bot_user_id not in member_list:
            member_list.append(self.bot_user_id)
        channel = Channel(
            id=channel_id,
            name=name or channel_id.lower(),
            members=member_list,
            is_private=is_private,
            is_archived=is_archived,
            team_id=team_id or self.team_id,
        )
        self.channels[channel_id] = channel
        return channel

    def dm_id(self, user_id: str) -> str:
        """The id of the bot's DM with ``user_id`` (stable; what conversations.open gives)."""
        if user_id not in self._dms:
            channel = Channel(
                id=self._new_id("D"),
                name=user_id,
                members=[user_id, self.bot_user_id],
                is_im=True,
                user=user_id,
                team_id=self.users[user_id].team_id if user_id in self.users else self.team_id,
            )
            self.channels[channel.id] = channel
            self._dms[user_id] = channel.id
        return self._dms[user_id]

    def register_oauth_code(
        self,
        code: str,
        *,
        team_id: str = "T0INSTALL1",
        team_name: str = "Installing Team",
        bot_token: str | None = None,
        bot_user_id: str = "U0INSTBOT",
        bot_id: str = "B0INSTBOT",
        scopes: Iterable[str] = DEFAULT_BOT_SCOPES,
        authed_user_id: str = "U0INSTALLR",
        user_scopes: Iterable[str] = (),
        redirect_uri: str | None = None,
    ) -> dict[str, Any]:
        """Make ``code`` exchangeable (once) by oauth.v2.access for this installation payload.

        The bot token becomes valid for auth.test and the rest when the code is exchanged.
        ``redirect_uri``, when given, must match the one sent with the exchange."""
        token = bot_token or f"xoxb-{team_id}-{secrets.token_hex(6)}"
        user_scope_list = sorted(user_scopes)
        authed_user: dict[str, Any] = {"id": authed_user_id}
        if user_scope_list:
            authed_user |= {
                "scope": ",".join(user_scope_list),
                "access_token": f"xoxp-{team_id}-{secrets.token_hex(6)}",
                "token_type": "user",
            }
        payload: dict[str, Any] = {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": authed_user,
            "scope": ",".join(sorted(scopes)),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": bot_user_id,
            "team": {"id": team_id, "name": team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        self.oauth_codes[code] = payload
        self._redirect_uris[code] = redirect_uri
        self._unissued_codes.append(code)
        self._install_bot_ids[code] = bot_id
        return copy.deepcopy(payload)

    def new_response_url(self) -> str:
        """A response_url on this fake (for slash commands and interactivity payloads)."""
        key = secrets.token_hex(8)
        self._response_keys.add(key)
        return f"{self.base_url}/webhook/{key}"

    def rate_limit(
        self,
        method: str | None,
        per_minute: int,
        *,
        window_seconds: float = 60.0,
        per_channel: bool = False,
    ) -> None:
        """Allow ``per_minute`` calls of ``method`` (``None``: of all Web API methods together)
        per workspace in any sliding window of ``window_seconds`` (60 unless shortened for
        speed); beyond that answer HTTP 429 with ``Retry-After``. ``per_channel`` counts each
        channel apart, like chat.postMessage's one message per second per channel."""
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._limits[method] = _Limit(per_minute, window_seconds, per_channel)

    def hidden_limit(
        self, method: str | None, rate: float, *, burst: int = 1, per_channel: bool = False
    ) -> None:
        """A token bucket on ``method`` (``None``: every Web API method together), per
        workspace or, with ``per_channel``, per workspace and channel: ``rate`` calls a second
        on average, ``burst`` at once after a lull; beyond, HTTP 429 with the whole seconds
        until a token is back as ``Retry-After`` (at least 1, as Slack sends). Several may hold
        at once (a workspace ceiling and one per channel); none is published to the client."""
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._buckets.append(_Bucket(method, rate, burst, per_channel))

    def clear_rate_limits(self) -> None:
        self._limits.clear()
        self._buckets.clear()

    def fail_next(
        self,
        method: str | None,
        status: int = 429,
        retry_after: int = 1,
        *,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``None``: any method; ``UPLOAD``: the
        upload POST) fail: 429 with ``Retry-After: retry_after``, a 5xx, or with ``status=200``
        a plain ``{"ok": false, "error": error}``."""
        for _ in range(times):
            self._forced[method].append(_Forced(status, max(1, int(retry_after)), error))

    # --- queries by the test ------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Served calls of ``method`` (``ok`` true or false), oldest first."""
        return [c for c in self.calls if c.method == method]

    def rejected_calls_to(self, method: str) -> list[Call]:
        return [c for c in self.rejected if c.method == method]

    async def wait_for(self, method: str, count: int = 1, *, within: float = 5.0) -> list[Call]:
        """Wait until ``count`` answered calls of ``method`` have arrived; return them."""
        deadline = time.monotonic() + within
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                got = len(self.calls_to(method))
                raise TimeoutError(f"{method}: {got} call(s) after {within}s, wanted {count}")
            await asyncio.sleep(0.01)
        return self.calls_to(method)

    def messages_in(self, channel_id: str, *, include_ephemeral: bool = False) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.channel == channel_id and (include_ephemeral or m.ephemeral_to is None)
        ]

    def messages_to(self, user_id: str) -> list[Message]:
        """Messages in the bot's DM with ``user_id``."""
        dm = self._dms.get(user_id)
        return [m for m in self.messages if dm is not None and m.channel == dm]

    def ephemerals_for(self, user_id: str) -> list[Message]:
        return [m for m in self.messages if m.ephemeral_to == user_id]

    def message(self, channel_id: str, ts: str) -> Message:
        for m in self.messages:
            if m.channel == channel_id and m.ts == ts:
                return m
        raise KeyError((channel_id, ts))

    @property
    def last_view(self) -> dict[str, Any]:
        """The modal or home view most recently opened, pushed, updated or published."""
        if not self._last_view_id:
            raise LookupError("no view yet")
        return self.views[self._last_view_id]

    def add_view(self, view: dict[str, Any], *, view_id: str | None = None) -> dict[str, Any]:
        """A modal as if views.open had shown it (no trigger id needed): for benchmarks and
        tests that build submissions without clicking first. Returns the stored view."""
        auth = self.tokens[self.bot_token]
        self._store_view({"view": view}, auth, ("modal",), view_id=view_id)
        return self.views[view_id or self._last_view_id or ""]

    def answer_submission(self, submitted: dict[str, Any], response: Any) -> None:
        """What Slack does with the ack of a view_submission: ``response_action: update``
        replaces the modal (unless the app updated it since: its hash moved), ``errors``
        leaves it as it is, any other answer closes it (later views.update: ``not_found``)."""
        view_id = str(submitted.get("id") or "")
        current = self.views.get(view_id)
        action = response.get("response_action") if isinstance(response, dict) else None
        if current is None or action == "errors" or action == "push":
            return
        if action != "update":
            self.closed_views.add(view_id)
            return
        if current.get("hash") != submitted.get("hash"):
            return  # a views.update from the app already came after the ack
        auth = self.tokens[self.bot_token]
        self._store_view(
            {"view": response["view"]},
            auth,
            ("modal",),
            view_id=view_id,
            root_view_id=current["root_view_id"],
        )

    def close_view(self, view_id: str) -> None:
        """The person closes the modal (the app hears of it only with notify_on_close)."""
        self.closed_views.add(view_id)

    # --- HTTP ---------------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = dict(request.query)
        body_token = params.pop("token", None)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _SlackError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise _SlackError("invalid_json")
                body.pop("token", None)  # Slack ignores a token in a JSON body
                params |= body
            else:
                form = await request.post()
                for key, value in form.items():
                    params[key] = value if isinstance(value, str) else _field_bytes(value)
                body_token = params.pop("token", body_token)
        return params, body_token

    async def _serve_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.monotonic()
        authorization = request.headers.get("Authorization", "")
        try:
            params, body_token = await self._read_params(request)
        except _SlackError as exc:
            params, body_token = {}, None
            parse_error: dict[str, Any] | None = exc.body
        else:
            parse_error = None
        token = body_token
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :].strip() or None

        def answer(body: dict[str, Any], status: int = 200, retry_after: int | None = None):
            peername = request.transport.get_extra_info("peername") if request.transport else None
            peer = (str(peername[0]), int(peername[1])) if peername else None
            call = Call(
                method, params, token, arrived, request.method, status, body, retry_after, peer
            )
            (self.calls if status == 200 else self.rejected).append(call)
            headers = {"X-Slack-Req-Id": secrets.token_hex(16)}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            return web.json_response(body, status=status, headers=headers)

        if method == "apps.connections.open":  # Socket Mode: the app-level token only
            return answer(self._apps_connections_open(token))
        handler = self._handlers.get(method)
        if handler is None:
            return answer({"ok": False, "error": "unknown_method"})
        forced = self._take_forced(method)
        if forced is not None:
            return answer(*self._forced_answer(forced))
        if parse_error is not None:
            return answer(parse_error)

        auth: TokenInfo | None = None
        if method not in _NO_TOKEN:
            if token is None:
                return answer({"ok": False, "error": "not_authed"})
            if token in self.revoked:
                return answer({"ok": False, "error": "token_revoked"})
            if token not in self.tokens:
                return answer({"ok": False, "error": "invalid_auth"})
            auth = self.tokens[token]
            needed = _SCOPES.get(method)
            if needed and auth.scopes is not None and needed not in auth.scopes:
                return answer(
                    {
                        "ok": False,
                        "error": "missing_scope",
                        "needed": needed,
                        "provided": ",".join(sorted(auth.scopes)),
                    }
                )
        else:
            params = self._with_basic_auth(params, authorization)

        retry_after = self._over_limit(method, auth.team_id if auth else None, params, arrived)
        if retry_after is not None:
            return answer({"ok": False, "error": "ratelimited"}, 429, retry_after)
        try:
            body = handler(params, auth)
        except _SlackError as exc:
            body = exc.body
        return answer(body)

    def _take_forced(self, method: str) -> _Forced | None:
        for key in (method, None):
            queue = self._forced.get(key)
            if queue:
                return queue.popleft()
        return None

    @staticmethod
    def _forced_answer(forced: _Forced) -> tuple[dict[str, Any], int, int | None]:
        if forced.status == 429:
            return {"ok": False, "error": forced.error or "ratelimited"}, 429, forced.retry_after
        return {"ok": False, "error": forced.error or "internal_error"}, forced.status, None

    @staticmethod
    def _with_basic_auth(params: dict[str, Any], authorization: str) -> dict[str, Any]:
        if not authorization.startswith("Basic "):
            return params
        try:
            decoded = base64.b64decode(authorization[len("Basic ") :]).decode()
        except (binascii.Error, UnicodeDecodeError):
            return params
        client_id, _, client_secret = decoded.partition(":")
        return params | {"client_id": client_id, "client_secret": client_secret}

    def _over_limit(
        self, method: str, team_id: str | None, params: dict[str, Any], now: float
    ) -> int | None:
        limits = [self._limits[m] for m in (method, None) if m in self._limits]
        worst: int | None = None
        buckets: list[deque[float]] = []
        for limit in limits:
            channel = str(params.get("channel", "")) if limit.per_channel else None
            hits = limit.hits[(team_id, channel)]
            while hits and hits[0] <= now - limit.window:
                hits.popleft()
            if len(hits) >= limit.per_window:
                wait = max(1, math.ceil(hits[0] + limit.window - now))
                worst = max(worst or 0, wait)
            buckets.append(hits)
        levels = []
        for bucket in self._buckets:
            if bucket.method not in (method, None):
                continue
            key = bucket.key(team_id, params)
            level = bucket.level(key, now)
            if level < 1:
                wait = max(1, math.ceil((1 - level) / bucket.rate))
                worst = max(worst or 0, wait)
            levels.append((bucket, key, level))
        if worst is not None:
            return worst
        for hits in buckets:
            hits.append(now)
        for bucket, key, level in levels:
            bucket.tokens[key] = (level - 1, now)
        return None

    # --- Socket Mode ----------------------------------------------------------------------

    def _apps_connections_open(self, token: str | None) -> dict[str, Any]:
        """A WebSocket URL for one connection (Slack's is wss://wss-primary.slack.com/link/…)."""
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        key = secrets.token_hex(12)
        self._socket_keys.add(key)
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode/{key}"}

    def _news(self) -> asyncio.Condition:
        if self._socket_news is None:
            self._socket_news = asyncio.Condition()
        return self._socket_news

    async def _serve_socket(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        if key not in self._socket_keys:  # each URL serves one connection
            self.rejected.append(Call("socket-mode", {}, None, time.monotonic(), "GET", 404))
            return web.Response(status=404)
        self._socket_keys.discard(key)
        socket = web.WebSocketResponse()  # answers the client's pings with pongs
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        async with self._news():
            self._news().notify_all()
        try:
            async for message in socket:
                if message.type != web.WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                async with self._news():
                    self.socket_acks.append(ack)
                    self._news().notify_all()
        finally:
            self._sockets.remove(socket)
        return socket

    async def socket_connected(self, *, within: float = 10.0) -> None:
        """Wait until the app holds a Socket Mode connection."""
        async with self._news():
            await asyncio.wait_for(self._news().wait_for(lambda: bool(self._sockets)), within)

    async def push(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Send an envelope to the app over its Socket Mode connection, as Slack does:
        ``kind`` is ``slash_commands``, ``interactive`` or ``events_api``; returns its id."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection")
        envelope_id = f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        if accepts_response_payload is None:
            accepts_response_payload = kind != "events_api"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": ""}
        await self._sockets[-1].send_json(envelope)
        return envelope_id

    async def socket_ack(self, envelope_id: str, *, within: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of one envelope: ``{"envelope_id": …[, "payload": …]}``."""

        def found() -> dict[str, Any] | None:
            return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

        async with self._news():
            await asyncio.wait_for(self._news().wait_for(lambda: found() is not None), within)
        ack = found()
        assert ack is not None
        return ack

    async def _serve_upload(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        key = request.match_info["key"]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = form.get("file") or form.get("filename")
            data = b"" if part is None or isinstance(part, str) else _field_bytes(part)
        else:
            data = await request.read()
        file_id = self._uploads.get(key)
        params = {"file_id": file_id, "length": len(data)}
        forced = self._take_forced(UPLOAD)
        if forced is not None or file_id is None:
            status = forced.status if forced else 404
            self.rejected.append(Call(UPLOAD, params, None, arrived, "POST", status, None))
            headers = {"Retry-After": str(forced.retry_after)} if forced else {}
            return web.Response(status=status, text="Not Found", headers=headers)
        self.files[file_id].content = data
        self.calls.append(Call(UPLOAD, params, None, arrived, "POST", 200, f"OK - {len(data)}"))
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _serve_response_url(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        key = request.match_info["key"]
        try:
            body = await request.json()
        except ValueError:
            body = {"raw": await request.text()}
        if key not in self._response_keys:
            self.rejected.append(Call(RESPONSE_URL, body, None, arrived, "POST", 404, None))
            return web.Response(status=404, text="no_active_hooks")
        self.responses.append(ResponsePost(key, body, arrived))
        self.calls.append(Call(RESPONSE_URL, body, None, arrived, "POST", 200, "ok"))
        return web.Response(text="ok", content_type="text/html")

    async def _serve_authorize(self, request: web.Request) -> web.Response:
        """The user approves the install at once: redirect with a code and the state."""
        arrived = time.monotonic()
        params = dict(request.query)
        redirect_uri = params.get("redirect_uri") or self.oauth_redirect_uri
        refusal = None
        if params.get("client_id") != self.client_id:
            refusal = "invalid_client_id"
        elif not redirect_uri:
            refusal = "bad_redirect_uri"
        if refusal is not None or redirect_uri is None:
            self.rejected.append(Call(AUTHORIZE, params, None, arrived, "GET", 400, refusal))
            return web.Response(status=400, text=refusal or "bad_redirect_uri")
        if self._unissued_codes:
            code = self._unissued_codes.pop(0)
        else:  # nothing registered: grant what was asked, to a fresh workspace
            code = secrets.token_hex(12)
            requested = [s for s in params.get("scope", "").split(",") if s]
            self.register_oauth_code(code, scopes=requested or DEFAULT_BOT_SCOPES)
            self._unissued_codes.remove(code)
        query = {"code": code}
        if "state" in params:
            query["state"] = params["state"]
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}"
        self.calls.append(Call(AUTHORIZE, params, None, arrived, "GET", 302, location))
        raise web.HTTPFound(location)

    # --- ids ----------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    def _new_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # --- conversations ------------------------------------------------------------------

    def _channel(self, channel_id: Any, *, user_ids_open_dm: bool = False) -> Channel:
        if not isinstance(channel_id, str) or not channel_id:
            raise _SlackError("channel_not_found")
        if user_ids_open_dm and channel_id[0] in "UW":
            if channel_id not in self.users or self.users[channel_id].deleted:
                raise _SlackError("channel_not_found")
            return self.channels[self.dm_id(channel_id)]
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _SlackError("channel_not_found")
        if (channel.is_private or channel.is_mpim) and self.bot_user_id not in channel.members:
            raise _SlackError("channel_not_found")
        return channel

    def _postable(self, channel: Channel, auth: TokenInfo) -> None:
        if channel.is_archived:
            raise _SlackError("is_archived")
        if auth.user_id not in channel.members:
            public_ok = auth.scopes is None or "chat:write.public" in auth.scopes
            if channel.is_private or channel.is_im or not public_ok:
                raise _SlackError("not_in_channel")

    def _auth_test(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        team = self.teams.get(auth.team_id) or Team(auth.team_id, auth.team_id, auth.team_id)
        user = self.users.get(auth.user_id)
        body: dict[str, Any] = {
            "ok": True,
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": user.name if user else auth.user_id,
            "team_id": auth.team_id,
            "user_id": auth.user_id,
            "is_enterprise_install": False,
        }
        if auth.bot_id:
            body["bot_id"] = auth.bot_id
        return body

    @staticmethod
    def _message_content(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        blocks = _json_param(params, "blocks", "invalid_blocks_format")
        attachments = _json_param(params, "attachments", "invalid_attachments")
        text = params.get("text")
        if not text and not blocks and not attachments:
            raise _SlackError("no_text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if text and len(text) > 40000:
            raise _SlackError("msg_too_long")
        if blocks is not None:
            errors = _check_blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            if errors:
                raise _invalid("invalid_blocks", errors)
        return text or "", list(blocks or [])

    def _chat_post_message(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        channel = self._channel(params.get("channel"), user_ids_open_dm=True)
        self._postable(channel, auth)
        text, blocks = self._message_content(params)
        thread_ts = params.get("thread_ts") or None
        if thread_ts and not any(
            m.channel == channel.id and m.ts == thread_ts for m in self.messages
        ):
            raise _SlackError("thread_not_found")
        message = Message(
            channel=channel.id,
            ts=self._new_ts(),
            text=text,
            blocks=blocks,
            user=auth.user_id,
            bot_id=auth.bot_id,
            team=auth.team_id,
            app_id=auth.app_id,
            thread_ts=thread_ts,
            metadata=_json_param(params, "metadata"),
        )
        self.messages.append(message)
        return {"ok": True, "channel": channel.id, "ts": message.ts, "message": message.to_dict()}

    def _chat_update(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        channel = self._channel(params.get("channel"))
        ts = params.get("ts")
        found = [m for m in self.messages if m.channel == channel.id and m.ts == ts]
        if not found or found[0].ephemeral_to is not None:
            raise _SlackError("message_not_found")
        message = found[0]
        if message.user != auth.user_id:
            raise _SlackError("cant_update_message")
        text, blocks = self._message_content(params)
        message.text = text
        if "blocks" in params:
            message.blocks = blocks
        message.edits += 1
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_dict(),
        }

    def _chat_post_ephemeral(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        assert auth is not None
        _require(params, "user")
        channel = self._channel(params.get("channel"), user_ids_open_dm=True)
        self._postable(channel, auth)
        user_id = params["user"]
        if user_id not in self.users:
            raise _SlackError("user_not_found")
        if user_id not in channel.members:
            raise _SlackError("user_not_in_channel")
        text, blocks = self._message_content(params)
        message = Message(
            channel=channel.id,
            ts=self._new_ts(),
            text=text,
            blocks=blocks,
            user=auth.user_id,
            bot_id=auth.bot_id,
            team=auth.team_id,
            app_id=auth.app_id,
            thread_ts=params.get("thread_ts") or None,
            ephemeral_to=user_id,
        )
        self.messages.append(message)
        return {"ok": True, "message_ts": message.ts}

    def _conversations_open(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        return_im = _flag(params.get("return_im"))
        if params.get("channel"):
            channel = self._channel(params["channel"])
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel.id}}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise _SlackError("too_many_users")
        for user_id in users:
            user = self.users.get(user_id)
            if user is None or user.deleted:
                raise _SlackError("user_not_found")
            if user.is_bot and len(users) == 1:
                raise _SlackError("cannot_dm_bot")
        if len(users) == 1:
            existed = users[0] in self._dms
            channel = self.channels[self.dm_id(users[0])]
        else:
            key = tuple(sorted(users))
            existed = key in self._mpims
            if not existed:
                mpim = Channel(
                    id=self._new_id("G"),
                    name="mpdm-" + "--".join(key) + "-1",
                    members=[*key, auth.user_id],
                    is_private=True,
                    is_mpim=True,
                    team_id=auth.team_id,
                )
                self.channels[mpim.id] = mpim
                self._mpims[key] = mpim.id
            channel = self.channels[self._mpims[key]]
        body: dict[str, Any] = {"ok": True}
        if existed:
            body |= {"no_op": True, "already_open": True}
        body["channel"] = channel.to_dict(self.bot_user_id) if return_im else {"id": channel.id}
        return body

    def _conversations_members(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        try:
            limit = int(params.get("limit") or 100)
        except ValueError as exc:
            raise _SlackError("invalid_limit") from exc
        limit = max(1, min(limit, 1000))
        start = 0
        if params.get("cursor"):
            member_id = _uncursor(str(params["cursor"]))
            if member_id not in channel.members:
                raise _SlackError("invalid_cursor")
            start = channel.members.index(member_id)
        page = channel.members[start : start + limit]
        rest = channel.members[start + limit :]
        return {
            "ok": True,
            "members": page,
            "response_metadata": {"next_cursor": _cursor(rest[0]) if rest else ""},
        }

    def _conversations_info(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        info = channel.to_dict(self.bot_user_id, _flag(params.get("include_num_members")))
        if _flag(params.get("include_locale")):
            info["locale"] = "en-US"
        return {"ok": True, "channel": info}

    def _users_info(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise _SlackError("user_not_found")
        return {"ok": True, "user": user.to_dict(_flag(params.get("include_locale")))}

    def _team_info(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        team = self.teams.get(str(params.get("team") or auth.team_id))
        if team is None:
            raise _SlackError("team_not_found")
        return {
            "ok": True,
            "team": {
                "id": team.id,
                "name": team.name,
                "url": f"https://{team.domain}.slack.com/",
                "domain": team.domain,
                "email_domain": "",
                "icon": {"image_default": True},
                "avatar_base_url": "https://ca.slack-edge.com/",
                "is_verified": False,
            },
        }

    # --- views --------------------------------------------------------------------------

    def _use_trigger(self, params: dict[str, Any]) -> None:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise _invalid("invalid_arguments", ["missing required field: trigger_id"])
        issued_at = trigger_issued_at(str(trigger_id))
        if issued_at is None:
            raise _SlackError("invalid_trigger_id")
        if trigger_id in self._used_triggers:
            raise _SlackError("trigger_exchanged")
        if time.time() - issued_at > self.trigger_ttl:
            raise _SlackError("expired_trigger_id")
        self._used_triggers.add(str(trigger_id))

    def _store_view(
        self,
        params: dict[str, Any],
        auth: TokenInfo,
        kinds: tuple[str, ...],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
    ) -> dict[str, Any]:
        view = _json_param(params, "view")
        errors = _check_view(view, kinds)
        if errors:
            raise _invalid("invalid_arguments", errors)
        view_id = view_id or self._new_id("V")
        stored = copy.deepcopy(view)
        stored |= {
            "id": view_id,
            "team_id": auth.team_id,
            "app_id": auth.app_id,
            "app_installed_team_id": auth.team_id,
            "bot_id": auth.bot_id,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": root_view_id or view_id,
            "previous_view_id": None,
            "state": {"values": {}},
        }
        for name, default in (
            ("private_metadata", ""),
            ("callback_id", ""),
            ("external_id", ""),
            ("clear_on_close", False),
            ("notify_on_close", False),
            ("blocks", []),
        ):
            stored.setdefault(name, default)
        self.views[view_id] = stored
        self._last_view_id = view_id
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_open(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        view = _json_param(params, "view")
        errors = _check_view(view, ("modal",))
        if errors:
            raise _invalid("invalid_arguments", errors)
        self._use_trigger(params)
        return self._store_view(params, auth, ("modal",))

    def _views_push(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        return self._views_open(params, auth)

    def _find_view(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("view_id"):
            found = self.views.get(str(params["view_id"]))
        elif params.get("external_id"):
            found = next(
                (v for v in self.views.values() if v.get("external_id") == params["external_id"]),
                None,
            )
        else:
            raise _invalid("invalid_arguments", ["must provide view_id or external_id"])
        if found is None or found["id"] in self.closed_views:
            raise _SlackError("not_found")
        if params.get("hash") and params["hash"] != found["hash"]:
            raise _SlackError("hash_conflict")
        return found

    def _views_update(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        current = self._find_view(params)
        kinds = ("home",) if current.get("type") == "home" else ("modal",)
        return self._store_view(
            params, auth, kinds, view_id=current["id"], root_view_id=current["root_view_id"]
        )

    def _views_publish(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        _require(params, "user_id")
        user_id = str(params["user_id"])
        if user_id not in self.users:
            raise _SlackError("user_not_found")
        current = self.home_views.get(user_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        result = self._store_view(
            params, auth, ("home",), view_id=current["id"] if current else None
        )
        self.home_views[user_id] = self.views[result["view"]["id"]]
        return result

    # --- files --------------------------------------------------------------------------

    def _files_get_upload_url(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        assert auth is not None
        _require(params, "filename", "length")
        try:
            length = int(params["length"])
        except ValueError as exc:
            raise _SlackError("invalid_arguments") from exc
        if length < 1:
            raise _SlackError("invalid_arguments")
        file = File(
            id=self._new_id("F"),
            filename=str(params["filename"]),
            length=length,
            user=auth.user_id,
            team=auth.team_id,
            alt_txt=params.get("alt_txt"),
        )
        self.files[file.id] = file
        key = secrets.token_urlsafe(24)
        self._uploads[key] = file.id
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{key}", "file_id": file.id}

    def _file_json(self, file: File) -> dict[str, Any]:
        team = self.teams.get(file.team)
        domain = team.domain if team else file.team
        mimetype = mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
        filetype = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else "binary"
        kinds: dict[str, list[str]] = {"channels": [], "groups": [], "ims": []}
        for channel_id in file.channels:
            channel = self.channels[channel_id]
            kind = "ims" if channel.is_im else "groups" if channel.is_private else "channels"
            kinds[kind].append(channel_id)
        return {
            "id": file.id,
            "created": file.created,
            "timestamp": file.created,
            "name": file.filename,
            "title": file.title or file.filename,
            "mimetype": mimetype,
            "filetype": filetype,
            "user": file.user,
            "user_team": file.team,
            "editable": False,
            "size": len(file.content or b""),
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(kinds["channels"]),
            "url_private": f"{self.base_url}/files-pri/{file.team}-{file.id}/{file.filename}",
            "permalink": f"https://{domain}.slack.com/files/{file.user}/{file.id}/{file.filename}",
            "alt_txt": file.alt_txt,
            **kinds,
        }

    def _files_complete_upload(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        assert auth is not None
        entries = _json_param(params, "files")
        if not isinstance(entries, list) or not entries:
            raise _invalid("invalid_arguments", ["must provide files"])
        targets: list[Channel] = []
        names = [params["channel_id"]] if params.get("channel_id") else []
        names += [c for c in str(params.get("channels") or "").split(",") if c]
        for name in names:
            channel = self._channel(name)
            self._postable(channel, auth)
            targets.append(channel)
        files: list[File] = []
        for entry in entries:
            file = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if file is None or file.content is None or file.team != auth.team_id:
                raise _SlackError("file_not_found")
            files.append(file)
        thread_ts = params.get("thread_ts") or None
        for file, entry in zip(files, entries, strict=True):
            file.title = entry.get("title") or file.filename
            file.completed = True
            file.initial_comment = params.get("initial_comment")
            file.thread_ts = thread_ts
            file.channels = [c.id for c in targets]
        for channel in targets:
            self.messages.append(
                Message(
                    channel=channel.id,
                    ts=self._new_ts(),
                    text=str(params.get("initial_comment") or ""),
                    blocks=[],
                    user=auth.user_id,
                    bot_id=auth.bot_id,
                    team=auth.team_id,
                    app_id=auth.app_id,
                    thread_ts=thread_ts,
                    files=[f.id for f in files],
                )
            )
        return {"ok": True, "files": [self._file_json(f) for f in files]}

    # --- OAuth --------------------------------------------------------------------------

    def _oauth_v2_access(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        if params.get("client_id") != self.client_id:
            raise _SlackError("invalid_client_id")
        if params.get("client_secret") != self.client_secret:
            raise _SlackError("bad_client_secret")
        code = str(params.get("code") or "")
        payload = self.oauth_codes.pop(code, None)
        if payload is None:
            raise _SlackError("invalid_code")
        expected_redirect = self._redirect_uris.pop(code, None)
        if expected_redirect is not None and params.get("redirect_uri") != expected_redirect:
            raise _SlackError("bad_redirect_uri")
        if code in self._unissued_codes:
            self._unissued_codes.remove(code)
        team = payload["team"]
        if team["id"] not in self.teams:
            self.add_team(team["id"], team["name"])
        bot_id = self._install_bot_ids.pop(code)
        self.add_token(
            payload["access_token"],
            team_id=team["id"],
            user_id=payload["bot_user_id"],
            bot_id=bot_id,
            scopes=payload["scope"].split(","),
        )
        if payload["bot_user_id"] not in self.users:
            self.add_user(
                payload["bot_user_id"], "passerelle", is_bot=True, bot_id=bot_id, team_id=team["id"]
            )
        installer = payload["authed_user"]
        if installer["id"] not in self.users:
            self.add_user(installer["id"], team_id=team["id"])
        if "access_token" in installer:
            self.add_token(
                installer["access_token"],
                team_id=team["id"],
                user_id=installer["id"],
                scopes=installer["scope"].split(","),
            )
        return payload
