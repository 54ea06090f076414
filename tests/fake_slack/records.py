"""What the fake Slack stores and records: workspaces, users, channels, messages, files, calls,
and the rate limits a test sets."""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tests.slack_signing import (
    APP_ID,
    TEAM_ID,
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

TRIGGER_TTL_SECONDS = 3.0


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


@dataclass
class Limit:
    per_window: int
    window: float
    per_channel: bool
    hits: dict[tuple[str | None, str | None], deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )


@dataclass
class Bucket:
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
class Forced:
    status: int
    retry_after: int
    error: str | None
