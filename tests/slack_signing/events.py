"""Slash commands and Events API bodies, as Slack puts them on the wire."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from tests.slack_signing.signing import (
    APP_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    action_ts,
    new_event_id,
    new_trigger_id,
)


def slash_command(
    text: str,
    user_id: str,
    channel_id: str,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    command: str = "/passerelle",
    *,
    channel_name: str | None = None,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    response_url: str | None = None,
    enterprise_id: str | None = None,
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """The urlencoded body of a slash command, fields in Slack's order.

    ``channel_name`` defaults to Slack's ``directmessage`` for a ``D…`` channel.
    ``response_url`` should come from ``FakeSlack.new_response_url()`` when the app responds.
    """
    if channel_name is None:
        channel_name = "directmessage" if channel_id.startswith("D") else "general"
    fields: list[tuple[str, str]] = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
    ]
    if enterprise_id is not None:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", "Enterprise")]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        (
            "response_url",
            response_url or f"https://hooks.slack.com/commands/{team_id}/1/{secrets.token_hex(8)}",
        ),
        ("trigger_id", trigger_id or new_trigger_id()),
    ]
    return urlencode(fields).encode()


def event_callback(
    event: dict[str, Any],
    team_id: str = TEAM_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    *,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
    token: str = VERIFICATION_TOKEN,
    is_ext_shared_channel: bool = False,
) -> bytes:
    """An Events API envelope (JSON bytes) around ``event``.

    Keep ``event_id`` to send the same event twice (Slack's retries reuse it)."""
    envelope = {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }
    return json.dumps(envelope).encode()


def url_verification(challenge: str, *, token: str = VERIFICATION_TOKEN) -> bytes:
    """The handshake Slack sends when the Request URL is saved; the app echoes ``challenge``."""
    return json.dumps({"token": token, "challenge": challenge, "type": "url_verification"}).encode()


def member_joined_channel(
    user_id: str, channel_id: str, team_id: str = TEAM_ID, *, inviter: str | None = None
) -> dict[str, Any]:
    """A ``member_joined_channel`` event (wrap it with :func:`event_callback`)."""
    event: dict[str, Any] = {
        "type": "member_joined_channel",
        "user": user_id,
        "channel": channel_id,
        "channel_type": "C",
        "team": team_id,
        "event_ts": action_ts(),
    }
    if inviter:
        event["inviter"] = inviter
    return event


def app_home_opened(user_id: str, channel_id: str, *, tab: str = "home") -> dict[str, Any]:
    """An ``app_home_opened`` event (wrap it with :func:`event_callback`)."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": tab,
        "event_ts": action_ts(),
    }


def message_im(user_id: str, channel_id: str, text: str, team_id: str = TEAM_ID) -> dict[str, Any]:
    """A user's message in the app's DM (``message.im``; wrap it with :func:`event_callback`)."""
    ts = action_ts()
    return {
        "type": "message",
        "channel": channel_id,
        "user": user_id,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "team": team_id,
        "channel_type": "im",
    }
