"""What the fake connector holds, the setup a test does on it and the test's queries."""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from tests.fake_connector.loopback import LoopbackServer
from tests.fake_connector.protocol import cards_in, uuid_from
from tests.fake_connector.records import (
    BOT_ID,
    BOT_NAME,
    DEFAULT_TENANT,
    KINDS,
    Call,
    Conversation,
    Forced,
    Posted,
    Team,
    Update,
    User,
)


class ConnectorState:
    """The fake's state, shared by the HTTP thread and the test (under ``_lock``)."""

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
        self._forced: list[tuple[str | None, list[Forced]]] = []
        self._server = LoopbackServer(self._make_app, name="fake-connector")

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def service_url(self) -> str:
        """What Teams puts in ``activity.serviceUrl`` (ends with "/")."""
        prefix = f"/{self.path_prefix}" if self.path_prefix else ""
        return f"{self._server.base_url}{prefix}/"

    def _make_app(self) -> web.Application:
        """The HTTP side's application (FakeConnector in server.py builds it)."""
        raise NotImplementedError

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
        aad = aad_object_id or str(uuid_from(user_id))
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
            aad_group_id=aad_group_id or str(uuid_from(team_id)),
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

    def join_team(self, team_id: str, user_id: str) -> None:
        """Someone added to the team after the bot: on every channel's roster from now on."""
        with self._lock:
            members = self.teams[team_id].members  # shared by the team's channels
            if user_id not in members:
                members.append(user_id)

    def rename_team(self, team_id: str, name: str) -> None:
        with self._lock:
            self.teams[team_id].name = name

    def add_channel(self, team_id: str, channel_id: str, name: str) -> None:
        """A channel created after the bot was added (Teams then sends channelCreated)."""
        with self._lock:
            team = self.teams[team_id]
            team.channels.append((channel_id, name))
            self.conversations[channel_id] = Conversation(
                channel_id, "channel", team.tenant_id, team.members, team_id, name
            )

    def rename_channel(self, team_id: str, channel_id: str, name: str) -> None:
        """What `GET v3/teams/{id}/conversations` answers from now on (the General channel
        has no name in the API, as in Teams, and cannot be renamed)."""
        if channel_id == team_id:
            raise ValueError("the General channel has no name to change")
        with self._lock:
            team = self.teams[team_id]
            team.channels = [(c, name if c == channel_id else n) for c, n in team.channels]
            self.conversations[channel_id].name = name

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
        forced = [Forced(status, retry_after, code, message) for _ in range(times)]
        with self._lock:
            self._forced.append((path_or_kind, forced))

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
