"""Slack's HTTP endpoints on our aiohttp server (Bolt has no aiohttp request handler).

`POST /slack/events` takes events, slash commands and interactivity. A request whose signature
is missing, wrong or older than 5 minutes gets 401 before anything is read into Bolt; a signed
body that cannot be parsed gets 400. `GET /slack/install` and `GET /slack/oauth_redirect`
exist when the app installs through OAuth.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.app import SlackBridge

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_AGE_SECONDS = 300  # Slack's own rule: a request older than 5 minutes is a replay


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
        try:
            response = await self.bridge.app.async_dispatch(bolt_request)
        except Exception:
            log.exception("slack request could not be dispatched")
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
