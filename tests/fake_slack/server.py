"""The HTTP server: routes, the Web API's token and scope checks, response_urls."""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fake_slack.chat import ChatApi
from tests.fake_slack.conversations import ConversationsApi
from tests.fake_slack.errors import SlackError, field_bytes
from tests.fake_slack.files import FilesApi
from tests.fake_slack.oauth import OAuthApi
from tests.fake_slack.records import RESPONSE_URL, Call, ResponsePost, TokenInfo
from tests.fake_slack.socket_mode import SocketMode
from tests.fake_slack.views import ViewsApi

# Methods that need a token, with the scope each needs (None: any valid token will do).
_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "conversations.members": "channels:read",
    "conversations.info": "channels:read",
    "users.info": "users:read",
    "team.info": "team:read",
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}

_NO_TOKEN = {"oauth.v2.access"}


Handler = Callable[[dict[str, Any], TokenInfo | None], dict[str, Any]]


class FakeSlack(ChatApi, ConversationsApi, ViewsApi, FilesApi, OAuthApi, SocketMode):
    """A local Slack Web API. See the package docstring for what it answers and how."""

    @functools.cached_property
    def _handlers(self) -> dict[str, Handler]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "team.info": self._team_info,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "oauth.v2.access": self._oauth_v2_access,
        }

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._serve_api)
        app.router.add_post("/upload/v1/{key}", self._serve_upload)
        app.router.add_post("/webhook/{key}", self._serve_response_url)
        app.router.add_get("/oauth/v2/authorize", self._serve_authorize)
        app.router.add_get("/socket-mode/{key}", self._serve_socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """The Web API base URL: ``AsyncWebClient(base_url=...)`` and ``SLACK_API_URL``."""
        return f"{self.base_url}/api/"

    @property
    def authorize_url(self) -> str:
        """Stands in for https://slack.com/oauth/v2/authorize (Bolt's ``authorization_url``)."""
        return f"{self.base_url}/oauth/v2/authorize"

    def env(self, *, oauth: bool = False) -> dict[str, str]:
        """The app's Slack settings pointing at this fake."""
        env = {"SLACK_API_URL": self.api_url, "SLACK_SIGNING_SECRET": self.signing_secret}
        if oauth:
            env |= {"SLACK_CLIENT_ID": self.client_id, "SLACK_CLIENT_SECRET": self.client_secret}
        else:
            env["SLACK_BOT_TOKEN"] = self.bot_token
        return env

    def client(self, token: str | None = None, *, rate_limit_retries: int = 2) -> Any:
        """An ``AsyncWebClient`` on this fake that waits out 429s like the app should."""
        from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
        from slack_sdk.web.async_client import AsyncWebClient

        return AsyncWebClient(
            token=token or self.bot_token,
            base_url=self.api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)],
        )

    def new_response_url(self) -> str:
        """A response_url on this fake (for slash commands and interactivity payloads)."""
        key = secrets.token_hex(8)
        self._response_keys.add(key)
        return f"{self.base_url}/webhook/{key}"

    def calls_to(self, method: str) -> list[Call]:
        """Served calls of ``method`` (``ok`` true or false), oldest first."""
        return [c for c in self.calls if c.method == method]

    def rejected_calls_to(self, method: str) -> list[Call]:
        return [c for c in self.rejected if c.method == method]

    async def wait_for(self, method: str, count: int = 1, *, within: float = 5.0) -> list[Call]:
        """Wait until ``count`` answered calls of ``method`` have arrived; return them."""
        deadline = time.monotonic() + within
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                got = len(self.calls_to(method))
                raise TimeoutError(f"{method}: {got} call(s) after {within}s, wanted {count}")
            await asyncio.sleep(0.01)
        return self.calls_to(method)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = dict(request.query)
        body_token = params.pop("token", None)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise SlackError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise SlackError("invalid_json")
                body.pop("token", None)  # Slack ignores a token in a JSON body
                params |= body
            else:
                form = await request.post()
                for key, value in form.items():
                    params[key] = value if isinstance(value, str) else field_bytes(value)
                body_token = params.pop("token", body_token)
        return params, body_token

    async def _serve_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.monotonic()
        authorization = request.headers.get("Authorization", "")
        try:
            params, body_token = await self._read_params(request)
        except SlackError as exc:
            params, body_token = {}, None
            parse_error: dict[str, Any] | None = exc.body
        else:
            parse_error = None
        token = body_token
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :].strip() or None

        def answer(
            body: dict[str, Any], status: int = 200, retry_after: int | None = None
        ) -> web.Response:
            peername = request.transport.get_extra_info("peername") if request.transport else None
            peer = (str(peername[0]), int(peername[1])) if peername else None
            call = Call(
                method, params, token, arrived, request.method, status, body, retry_after, peer
            )
            (self.calls if status == 200 else self.rejected).append(call)
            headers = {"X-Slack-Req-Id": secrets.token_hex(16)}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            return web.json_response(body, status=status, headers=headers)

        if method == "apps.connections.open":  # Socket Mode: the app-level token only
            return answer(self._apps_connections_open(token))
        handler = self._handlers.get(method)
        if handler is None:
            return answer({"ok": False, "error": "unknown_method"})
        forced = self._take_forced(method)
        if forced is not None:
            return answer(*self._forced_answer(forced))
        if parse_error is not None:
            return answer(parse_error)

        auth: TokenInfo | None = None
        if method not in _NO_TOKEN:
            if token is None:
                return answer({"ok": False, "error": "not_authed"})
            if token in self.revoked:
                return answer({"ok": False, "error": "token_revoked"})
            if token not in self.tokens:
                return answer({"ok": False, "error": "invalid_auth"})
            auth = self.tokens[token]
            needed = _SCOPES.get(method)
            if needed and auth.scopes is not None and needed not in auth.scopes:
                return answer(
                    {
                        "ok": False,
                        "error": "missing_scope",
                        "needed": needed,
                        "provided": ",".join(sorted(auth.scopes)),
                    }
                )
        else:
            params = self._with_basic_auth(params, authorization)

        retry_after = self._over_limit(method, auth.team_id if auth else None, params, arrived)
        if retry_after is not None:
            return answer({"ok": False, "error": "ratelimited"}, 429, retry_after)
        try:
            body = handler(params, auth)
        except SlackError as exc:
            body = exc.body
        return answer(body)

    async def _serve_response_url(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        key = request.match_info["key"]
        try:
            body = await request.json()
        except ValueError:
            body = {"raw": await request.text()}
        if key not in self._response_keys:
            self.rejected.append(Call(RESPONSE_URL, body, None, arrived, "POST", 404, None))
            return web.Response(status=404, text="no_active_hooks")
        self.responses.append(ResponsePost(key, body, arrived))
        self.calls.append(Call(RESPONSE_URL, body, None, arrived, "POST", 200, "ok"))
        return web.Response(text="ok", content_type="text/html")
