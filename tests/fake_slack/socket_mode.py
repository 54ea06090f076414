"""Socket Mode: apps.connections.open, the WebSocket, envelopes pushed and acknowledged."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from aiohttp import web

from tests.fake_slack.records import Call
from tests.fake_slack.state import SlackState


class SocketMode(SlackState):
    """One Socket Mode connection at a time, as the app opens it."""

    def _apps_connections_open(self, token: str | None) -> dict[str, Any]:
        """A WebSocket URL for one connection (Slack's is wss://wss-primary.slack.com/link/…)."""
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        key = secrets.token_hex(12)
        self._socket_keys.add(key)
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode/{key}"}

    def _news(self) -> asyncio.Condition:
        if self._socket_news is None:
            self._socket_news = asyncio.Condition()
        return self._socket_news

    async def _serve_socket(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        if key not in self._socket_keys:  # each URL serves one connection
            self.rejected.append(Call("socket-mode", {}, None, time.monotonic(), "GET", 404))
            return web.Response(status=404)
        self._socket_keys.discard(key)
        socket = web.WebSocketResponse()  # answers the client's pings with pongs
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        async with self._news():
            self._news().notify_all()
        try:
            async for message in socket:
                if message.type != web.WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                async with self._news():
                    self.socket_acks.append(ack)
                    self._news().notify_all()
        finally:
            self._sockets.remove(socket)
        return socket

    async def socket_connected(self, *, within: float = 10.0) -> None:
        """Wait until the app holds a Socket Mode connection."""
        async with self._news():
            await asyncio.wait_for(self._news().wait_for(lambda: bool(self._sockets)), within)

    async def push(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Send an envelope to the app over its Socket Mode connection, as Slack does:
        ``kind`` is ``slash_commands``, ``interactive`` or ``events_api``; returns its id."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection")
        envelope_id = f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        if accepts_response_payload is None:
            accepts_response_payload = kind != "events_api"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": ""}
        await self._sockets[-1].send_json(envelope)
        return envelope_id

    async def socket_ack(self, envelope_id: str, *, within: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of one envelope: ``{"envelope_id": …[, "payload": …]}``."""

        def found() -> dict[str, Any] | None:
            return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

        async with self._news():
            await asyncio.wait_for(self._news().wait_for(lambda: found() is not None), within)
        ack = found()
        assert ack is not None
        return ack
