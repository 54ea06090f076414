"""The fake connector's HTTP side: its thread, its routes, the answers it records."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.fake_connector.operations import ConnectorOperations
from tests.fake_connector.protocol import ConnectorError, code_for, error_body, route
from tests.fake_connector.records import FORBIDDEN_MESSAGE, UNKNOWN, Call


class FakeConnector(ConnectorOperations):
    """A local Bot Framework connector for Teams. See the package docstring."""

    def start(self) -> FakeConnector:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    async def __aenter__(self) -> FakeConnector:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> FakeConnector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        prefix = f"/{self.path_prefix}" if self.path_prefix else ""
        app.router.add_route("*", prefix + "/{tail:.*}", self._serve)
        return app

    async def _serve(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        path = "/" + request.match_info["tail"]
        kind, params = route(request.method, path)
        headers = dict(request.headers)
        raw = await request.read()
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
                body = raw.decode("utf-8", "replace")

        def answer(status: int, payload: Any, retry_after: int | None = None) -> web.Response:
            call = Call(
                kind,
                request.method,
                path,
                dict(request.query),
                body,
                headers,
                status,
                payload,
                arrived,
                retry_after,
            )
            with self._lock:
                self.calls.append(call)
                if not call.ok:
                    self.rejected.append(call)
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            if payload is None:
                return web.Response(status=status, headers=extra)
            return web.json_response(payload, status=status, headers=extra)

        token_ok = headers.get("Authorization") == f"Bearer {self.require_token}"
        if self.require_token is not None and not token_ok:
            return answer(401, {"message": "Authorization has been denied for this request."})
        forced = self._take_forced(kind, path)
        if forced is not None:
            code = forced.code or code_for(forced.status)
            message = forced.message or (
                FORBIDDEN_MESSAGE if forced.status == 403 else f"Injected {forced.status}."
            )
            return answer(forced.status, error_body(code, message), forced.retry_after)
        if kind == UNKNOWN:
            return answer(404, error_body("NotFound", f"No route for {request.method} {path}."))
        if bad_json or (request.method in ("POST", "PUT") and not isinstance(body, dict)):
            return answer(400, error_body("BadSyntax", "The request body is not a JSON object."))
        try:
            with self._lock:
                status, payload = self._handle(kind, params, body, request.query)
        except ConnectorError as exc:
            return answer(exc.status, error_body(exc.code, exc.message))
        return answer(status, payload)
