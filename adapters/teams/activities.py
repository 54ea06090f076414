"""Reading Teams activities (Bot Framework JSON): who, where, what. Pure functions.

The tenant is read from `channelData.tenant.id`: Teams also sends `conversation.tenantId`, which
botbuilder's model does not keep (it expects `tenantID`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogs.events import Actor, Place

PLATFORM = "teams"
Json = dict[str, Any]
_MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


# Column sizes (storage/models.py): a tenant is a workspace (64), ids are keys (200), a
# service URL is kept with a reference (500). Teams' own ids are far shorter.
TENANT_LENGTH, ID_LENGTH, URL_LENGTH = 64, 200, 500


def malformed(activity: Json) -> str | None:
    """Why an activity cannot be one the Bot Connector sent (None: it may be). Its ids end up
    in the database (keys, marks) and in the connector's URLs, its service URL in a reference:
    an id longer than its column, a text that is not valid Unicode (a JSON escape of a lone
    surrogate) or a service URL that is not plain ASCII would fail there, after the activity
    was taken, with a 5xx or a traceback. A message or card submission needs the
    conversation it is answered in."""
    try:
        json.dumps(activity, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "a text is not valid Unicode (a lone surrogate)"
    except (TypeError, ValueError, RecursionError):
        return "not an activity"
    url = activity.get("serviceUrl")
    if url is not None and (not isinstance(url, str) or len(url) > URL_LENGTH or not url.isascii()):
        return f"serviceUrl: ASCII, at most {URL_LENGTH} characters"
    conversation = activity.get("conversation")
    if activity.get("type") == "message" and not _dict(conversation).get("id"):
        return "conversation.id: a message is in a conversation"
    data = _dict(activity.get("channelData"))
    for where, value, limit in (
        ("id", activity.get("id"), ID_LENGTH),
        ("replyToId", activity.get("replyToId"), ID_LENGTH),
        ("conversation.id", _dict(conversation).get("id"), ID_LENGTH),
        ("conversation.tenantId", _dict(conversation).get("tenantId"), TENANT_LENGTH),
        ("from.id", _dict(activity.get("from")).get("id"), ID_LENGTH),
        ("recipient.id", _dict(activity.get("recipient")).get("id"), ID_LENGTH),
        ("channelData.tenant.id", _dict(data.get("tenant")).get("id"), TENANT_LENGTH),
        ("channelData.team.id", _dict(data.get("team")).get("id"), ID_LENGTH),
        ("channelData.channel.id", _dict(data.get("channel")).get("id"), ID_LENGTH),
    ):
        if value is not None and not _id(value, limit):
            return f"{where}: a text of at most {limit} characters"
    for field in ("membersAdded", "membersRemoved"):
        for account in accounts(activity, field):
            if account.get("id") is not None and not _id(account["id"], ID_LENGTH):
                return f"{field}: ids of at most {ID_LENGTH} characters"
    return None


def _id(value: object, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit and value.isprintable()


def _dict(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def tenant_of(activity: Json) -> str:
    data = _dict(activity.get("channelData"))
    tenant = _dict(data.get("tenant")).get("id") or _dict(activity.get("conversation")).get(
        "tenantId"
    )
    return str(tenant or "")


def conversation_type(activity: Json) -> str:
    return str(_dict(activity.get("conversation")).get("conversationType") or "personal")


def team_id_of(activity: Json) -> str:
    return str(_dict(_dict(activity.get("channelData")).get("team")).get("id") or "")


def channel_id_of(activity: Json) -> str:
    """The channel a channel activity is in (without a thread's `;messageid=` suffix)."""
    channel = _dict(_dict(activity.get("channelData")).get("channel")).get("id")
    if channel:
        return str(channel)
    conversation = str(_dict(activity.get("conversation")).get("id") or "")
    return conversation.split(";", 1)[0]


def team_name_of(activity: Json) -> str:
    return str(_dict(_dict(activity.get("channelData")).get("team")).get("name") or "")


def is_general(activity: Json) -> bool:
    """The team's General channel, whose id is the team's."""
    team = team_id_of(activity)
    return bool(team) and channel_id_of(activity) == team


def channel_name_of(activity: Json) -> str:
    """The channel's name when this activity carries it (Teams sends names with some events
    only: conversationUpdate, channelRenamed...). The General channel has no name of its own
    in Teams' API: it is shown by the team's name."""
    data = _dict(activity.get("channelData"))
    if is_general(activity):
        return team_name_of(activity)
    return str(_dict(data.get("channel")).get("name") or "")


def event_type(activity: Json) -> str:
    """`channelData.eventType` of a conversationUpdate (channelRenamed, teamRenamed...)."""
    return str(_dict(activity.get("channelData")).get("eventType") or "")


def client_locale(activity: Json) -> str:
    """The sender's client locale: `locale`, or the `clientInfo` entity's."""
    if isinstance(activity.get("locale"), str) and activity["locale"]:
        return str(activity["locale"])
    for entity in activity.get("entities") or []:
        if _dict(entity).get("type") == "clientInfo" and _dict(entity).get("locale"):
            return str(_dict(entity)["locale"])
    return ""


def bot_id_of(activity: Json) -> str:
    return str(_dict(activity.get("recipient")).get("id") or "")


def valid_zone(name: object) -> str | None:
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def local_timezone(activity: Json) -> str | None:
    """Teams' `localTimezone` (IANA), or the `clientInfo` entity's `timezone`."""
    zone = valid_zone(activity.get("localTimezone"))
    if zone:
        return zone
    for entity in activity.get("entities") or []:
        if _dict(entity).get("type") == "clientInfo":
            zone = valid_zone(_dict(entity).get("timezone"))
            if zone:
                return zone
    return None


def actor_of(activity: Json, account: Json | None = None) -> Actor:
    """The person who sent `activity`, or `account` (a roster entry) in its tenant."""
    person = account if account is not None else _dict(activity.get("from"))
    own = account is None
    return Actor(
        platform=PLATFORM,
        workspace=tenant_of(activity),
        user_ref=str(person.get("id") or ""),
        display_name=str(person.get("name") or "")[:200],
        timezone=local_timezone(activity) if own else None,
        locale=client_locale(activity) or None if own else None,
    )


def place_of(activity: Json, channel_id: str | None = None) -> Place | None:
    """The channel, for activities in a team's channel; None in a 1:1 or group chat."""
    if conversation_type(activity) != "channel" and not team_id_of(activity):
        return None
    return Place(
        platform=PLATFORM,
        workspace=tenant_of(activity),
        channel_ref=channel_id or channel_id_of(activity),
        name=channel_name_of(activity),
    )


def command_text(activity: Json) -> str:
    """The words typed, without the @mention of the bot (and any markup Teams added)."""
    text = str(activity.get("text") or "")
    text = _MENTION.sub(" ", text)
    text = _TAG.sub(" ", text).replace("&nbsp;", " ")
    return " ".join(text.split())


def accounts(activity: Json, field: str) -> list[Json]:
    """`membersAdded` / `membersRemoved` entries."""
    return [_dict(m) for m in activity.get(field) or [] if isinstance(m, dict)]
