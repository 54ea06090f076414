"""Slack's v0 request signing, a signed POST, and the ids Slack mints (trigger ids that carry
the moment they were issued)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

TEAM_ID = "T0PASSRL1"

TEAM_DOMAIN = "passerelle-test"

APP_ID = "A0PASSRL1"

BOT_USER_ID = "U0PASSBOT"

SIGNING_SECRET = "fake-signing-secret-0123456789abcdef"

# The deprecated verification token Slack still puts in every payload (Bolt ignores it).
VERIFICATION_TOKEN = "fakeVerificationToken123"

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

ACK_TIMEOUT_SECONDS = 3.0


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed with the signing secret."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def content_type_of(body: bytes) -> str:
    """The Content-Type Slack uses for this body: JSON for the Events API, a form otherwise."""
    if body.lstrip().startswith(b"{"):
        return "application/json"
    return "application/x-www-form-urlencoded"


def signed_headers(
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """The headers Slack sends with ``body``: signature, timestamp, Content-Type, User-Agent.

    ``timestamp`` defaults to now (Bolt refuses one more than 5 minutes away). ``retry_num``
    adds Slack's retry headers, as when an earlier delivery was not acknowledged in time.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers = {
        "Content-Type": content_type or content_type_of(body),
        "User-Agent": SLACK_USER_AGENT,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret, ts),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


@dataclass(frozen=True)
class Reply:
    """What the app answered to a signed request."""

    status: int
    text: str
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


async def post_signed(
    url: str,
    body: bytes,
    secret: str = SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    ack_within: float = ACK_TIMEOUT_SECONDS,
    session: aiohttp.ClientSession | None = None,
) -> Reply:
    """POST ``body`` to the app at ``url`` as Slack would, giving up after Slack's 3 seconds
    (raises ``TimeoutError``: an app that does slow work before acking fails here too)."""
    headers = signed_headers(
        body, secret, timestamp, retry_num=retry_num, retry_reason=retry_reason
    )
    client_timeout = aiohttp.ClientTimeout(total=ack_within)
    own = session is None
    http = session or aiohttp.ClientSession()
    try:
        async with http.post(url, data=body, headers=headers, timeout=client_timeout) as resp:
            return Reply(resp.status, await resp.text(), dict(resp.headers))
    finally:
        if own:
            await http.close()


def new_trigger_id(issued_at: float | None = None) -> str:
    """A trigger id shaped like Slack's (``<digits>.<digits>.<hex>``).

    The first part is the issue time in milliseconds: FakeSlack reads it to answer
    ``expired_trigger_id`` after 3 seconds. Pass ``issued_at`` (unix seconds) to make a stale one.
    """
    at = time.time() if issued_at is None else issued_at
    return f"{int(at * 1000)}.{secrets.randbelow(10**9):09d}.{secrets.token_hex(10)}"


def trigger_issued_at(trigger_id: str) -> float | None:
    """The issue time encoded by :func:`new_trigger_id`, or None for a malformed id."""
    parts = trigger_id.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    try:
        int(parts[2], 16)
    except ValueError:
        return None
    return int(parts[0]) / 1000


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def action_ts() -> str:
    return f"{time.time():.6f}"
