"""What the fake Slack holds, and the setup a test does on it (tokens, teams, users, channels)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fake_slack.errors import SlackError
from tests.fake_slack.records import (
    DEFAULT_BOT_SCOPES,
    TRIGGER_TTL_SECONDS,
    Bucket,
    Call,
    Channel,
    File,
    Forced,
    Limit,
    Message,
    ResponsePost,
    Team,
    TokenInfo,
    User,
)
from tests.slack_signing import (
    APP_ID,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_DOMAIN,
    TEAM_ID,
)


class SlackState:
    """The fake's state; each Web API family is a mixin on it."""

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
        self._limits: dict[str | None, Limit] = {}
        self._buckets: list[Bucket] = []
        self._forced: dict[str | None, deque[Forced]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.port = 0

        self.add_token(
            bot_token, team_id=team_id, user_id=bot_user_id, bot_id=bot_id, scopes=bot_scopes
        )
        self.add_user(bot_user_id, "passerelle", is_bot=True, bot_id=bot_id, team_id=team_id)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    def _new_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _post_as(
        self,
        auth: TokenInfo,
        channel: Channel,
        text: str,
        blocks: list[dict[str, Any]],
        **more: Any,
    ) -> Message:
        """A new message from the token's bot (or user) in the channel, kept in `messages`."""
        message = Message(
            channel=channel.id,
            ts=self._new_ts(),
            text=text,
            blocks=blocks,
            user=auth.user_id,
            bot_id=auth.bot_id,
            team=auth.team_id,
            app_id=auth.app_id,
            **more,
        )
        self.messages.append(message)
        return message

    def _channel(self, channel_id: Any, *, user_ids_open_dm: bool = False) -> Channel:
        if not isinstance(channel_id, str) or not channel_id:
            raise SlackError("channel_not_found")
        if user_ids_open_dm and channel_id[0] in "UW":
            if channel_id not in self.users or self.users[channel_id].deleted:
                raise SlackError("channel_not_found")
            return self.channels[self.dm_id(channel_id)]
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        if (channel.is_private or channel.is_mpim) and self.bot_user_id not in channel.members:
            raise SlackError("channel_not_found")
        return channel

    def _postable(self, channel: Channel, auth: TokenInfo) -> None:
        if channel.is_archived:
            raise SlackError("is_archived")
        if auth.user_id not in channel.members:
            public_ok = auth.scopes is None or "chat:write.public" in auth.scopes
            if channel.is_private or channel.is_im or not public_ok:
                raise SlackError("not_in_channel")
