"""Slack's error answers and the argument readers that raise them."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: dict[str, Any] = {"ok": False, "error": error, **extra}


def invalid(error: str, messages: list[str]) -> SlackError:
    extra: dict[str, Any] = {"response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}}
    if error == "invalid_blocks":
        extra["errors"] = messages
    return SlackError(error, **extra)


def flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def json_param(params: dict[str, Any], name: str, error: str = "invalid_arguments") -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise SlackError(error) from exc
    return value


def require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )


def field_bytes(value: bytes | bytearray | web.FileField) -> bytes:
    """The bytes of a multipart field."""
    if isinstance(value, web.FileField):
        return value.file.read()
    return bytes(value)


def member_cursor(member_id: str) -> str:
    return base64.b64encode(f"user:{member_id}".encode()).decode()


def cursor_member(cursor: str) -> str:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SlackError("invalid_cursor") from exc
    if not decoded.startswith("user:"):
        raise SlackError("invalid_cursor")
    return decoded[len("user:") :]
