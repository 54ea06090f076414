"""Slack's HTTP endpoints on our aiohttp server (Bolt has no aiohttp request handler).

`POST /slack/events` takes events, slash commands and interactivity. A request whose signature
is missing, wrong or older than 5 minutes gets 401 before anything is read into Bolt; a signed
body that cannot be parsed, or whose shape Bolt would choke on (adapters/slack/envelope.py),
gets 400. `GET /slack/install` and `GET /slack/oauth_redirect`
exist when the app installs through OAuth.

When Bolt itself fails (500) because the database is away (with OAuth, finding the
workspace's installation reads it), Slack still gets an answer it can show (`_outage`): a form
keeps what was typed with "not saved, send it again in a minute" under its first input, a
slash command gets that message, and an Events API delivery gets 503 so that Slack sends it
again. The language is not known without the database: French, then English.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack import envelope
from adapters.slack.app import SlackBridge
from adapters.slack.blocks import view_errors
from dialogs.i18n import LANGUAGES, t

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_AGE_SECONDS = 300  # Slack's own rule: a request older than 5 minutes is a replay
RETRY = {"Retry-After": "60"}


def signed(
    body: bytes, secret: str, timestamp: str, signature: str, now: float | None = None
) -> bool:
    """Slack's v0 signature over the raw bytes, from the last 5 minutes (any bytes: a body
    that is not even UTF-8 is still checked before it is called malformed)."""
    if not timestamp.isdigit() or not signature.startswith("v0="):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class SlackRoutes:
    def __init__(self, bridge: SlackBridge) -> None:
        self.bridge = bridge

    def routes(self) -> list[web.AbstractRouteDef]:
        found: list[web.AbstractRouteDef] = [web.post(EVENTS_PATH, self.events)]
        flow = self.bridge.app.oauth_flow
        if flow is not None:
            found += [
                web.get(flow.install_path, self.install),
                web.get(flow.redirect_uri_path, self.oauth_redirect),
            ]
        return found

    async def events(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not signed(
            raw,
            self.bridge.signing_secret,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""),
        ):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception:  # a signed body Bolt cannot parse
            return web.json_response({"error": "malformed request"}, status=400)
        interactive = _form_with_payload(bolt_request)
        why = envelope.problem(bolt_request.body, interactive=interactive)
        if why is not None:  # Bolt would raise on it (see adapters/slack/envelope.py)
            return web.json_response({"error": "malformed request", "detail": why}, status=400)
        try:
            response = await self.bridge.app.async_dispatch(bolt_request)
        except Exception:
            log.exception("slack request could not be dispatched")
            response = None
        if response is None or response.status >= 500:
            if not await self.bridge.database.reachable():
                return _outage(raw)
            if response is None:
                return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(response)

    async def install(self, request: web.Request) -> web.StreamResponse:
        flow = self.bridge.app.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_installation(await self._bolt(request)))

    async def oauth_redirect(self, request: web.Request) -> web.StreamResponse:
        flow = self.bridge.app.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_callback(await self._bolt(request)))

    @staticmethod
    async def _bolt(request: web.Request) -> AsyncBoltRequest:
        return AsyncBoltRequest(
            body=await request.text(),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )


def _form_with_payload(request: AsyncBoltRequest) -> bool:
    """Whether Bolt read the body as interactivity (the JSON in a form's `payload` field).

    Bolt takes any form body in which the word "payload" appears for one (`parse_body`), and
    reads a slash command whose text says "payload" as an empty body, which no listener
    takes: such a command's body is read again here as the form it is."""
    raw = request.raw_body
    if request.content_type == "application/json" or raw.startswith("{") or "payload" not in raw:
        return False
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in form:
        return True
    request.body = form
    request.context = build_async_context(AsyncBoltContext({}), form)
    return False


def _both(key: str) -> str:
    return "\n\n".join(t(language, key) for language in LANGUAGES)


def _outage(raw: bytes) -> web.Response:
    """What Slack is answered while the database is away (see the module's docstring)."""
    try:
        text = raw.decode("utf-8")
        if text.lstrip().startswith("{"):  # the Events API: Slack retries a failed delivery
            return web.json_response({"error": "unavailable"}, status=503, headers=RETRY)
        form = parse_qs(text)
        payload: Any = json.loads(form["payload"][0]) if "payload" in form else None
    except (ValueError, KeyError, UnicodeDecodeError):
        return web.Response(status=200)
    if isinstance(payload, dict) and payload.get("type") == "view_submission":
        view = payload.get("view")
        for block in (view.get("blocks") if isinstance(view, dict) else None) or []:
            if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
                return web.json_response(view_errors({block["block_id"]: _both("outage.form")}))
        return web.Response(status=200)  # no input to show it under: the modal closes
    if payload is None and "command" in form:  # a slash command: shown to the person only
        return web.json_response({"response_type": "ephemeral", "text": _both("outage.retry")})
    return web.Response(status=200)  # a button: nothing was done, it can be pressed again
