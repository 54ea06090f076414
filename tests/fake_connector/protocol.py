"""The Bot Framework wire: routes, error bodies, activity checks, continuation tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from http import HTTPStatus
from typing import Any

from tests.fake_connector.records import (
    ADAPTIVE_CARD,
    CREATE_CONVERSATION,
    DELETE_ACTIVITY,
    GET_MEMBER,
    GET_MEMBERS,
    GET_PAGED_MEMBERS,
    GET_TEAM_CHANNELS,
    GET_TEAM_DETAILS,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    UNKNOWN,
    UPDATE_ACTIVITY,
)


class ConnectorError(Exception):
    """Raised inside a handler: answered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def code_for(status: int) -> str:
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


def check_activity(activity: Any) -> None:
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


def encode_token(index: int) -> str:
    return base64.urlsafe_b64encode(f"members:{index}".encode()).decode()


def decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "members":
            raise ValueError(text)
        return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ConnectorError(400, "BadArgument", "Invalid continuation token.") from exc


def uuid_from(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def route(method: str, path: str) -> tuple[str, dict[str, str]]:
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
