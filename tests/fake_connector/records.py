"""What the fake connector records and holds, and the operation kinds it tells apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

FORBIDDEN_MESSAGE = "The bot is not part of the conversation roster."


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
class Forced:
    status: int
    retry_after: int | None
    code: str | None
    message: str | None
