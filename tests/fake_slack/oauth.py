"""The OAuth install: the authorize page and oauth.v2.access."""

from __future__ import annotations

import base64
import binascii
import copy
import secrets
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fake_slack.errors import SlackError
from tests.fake_slack.records import AUTHORIZE, DEFAULT_BOT_SCOPES, Call, TokenInfo
from tests.fake_slack.state import SlackState


class OAuthApi(SlackState):
    """An install by OAuth: codes registered by the test, or granted on the spot."""

    def register_oauth_code(
        self,
        code: str,
        *,
        team_id: str = "T0INSTALL1",
        team_name: str = "Installing Team",
        bot_token: str | None = None,
        bot_user_id: str = "U0INSTBOT",
        bot_id: str = "B0INSTBOT",
        scopes: Iterable[str] = DEFAULT_BOT_SCOPES,
        authed_user_id: str = "U0INSTALLR",
        user_scopes: Iterable[str] = (),
        redirect_uri: str | None = None,
    ) -> dict[str, Any]:
        """Make ``code`` exchangeable (once) by oauth.v2.access for this installation payload.

        The bot token becomes valid for auth.test and the rest when the code is exchanged.
        ``redirect_uri``, when given, must match the one sent with the exchange."""
        token = bot_token or f"xoxb-{team_id}-{secrets.token_hex(6)}"
        user_scope_list = sorted(user_scopes)
        authed_user: dict[str, Any] = {"id": authed_user_id}
        if user_scope_list:
            authed_user |= {
                "scope": ",".join(user_scope_list),
                "access_token": f"xoxp-{team_id}-{secrets.token_hex(6)}",
                "token_type": "user",
            }
        payload: dict[str, Any] = {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": authed_user,
            "scope": ",".join(sorted(scopes)),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": bot_user_id,
            "team": {"id": team_id, "name": team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        self.oauth_codes[code] = payload
        self._redirect_uris[code] = redirect_uri
        self._unissued_codes.append(code)
        self._install_bot_ids[code] = bot_id
        return copy.deepcopy(payload)

    async def _serve_authorize(self, request: web.Request) -> web.Response:
        """The user approves the install at once: redirect with a code and the state."""
        arrived = time.monotonic()
        params = dict(request.query)
        redirect_uri = params.get("redirect_uri") or self.oauth_redirect_uri
        refusal = None
        if params.get("client_id") != self.client_id:
            refusal = "invalid_client_id"
        elif not redirect_uri:
            refusal = "bad_redirect_uri"
        if refusal is not None or redirect_uri is None:
            self.rejected.append(Call(AUTHORIZE, params, None, arrived, "GET", 400, refusal))
            return web.Response(status=400, text=refusal or "bad_redirect_uri")
        if self._unissued_codes:
            code = self._unissued_codes.pop(0)
        else:  # nothing registered: grant what was asked, to a fresh workspace
            code = secrets.token_hex(12)
            requested = [s for s in params.get("scope", "").split(",") if s]
            self.register_oauth_code(code, scopes=requested or DEFAULT_BOT_SCOPES)
            self._unissued_codes.remove(code)
        query = {"code": code}
        if "state" in params:
            query["state"] = params["state"]
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}"
        self.calls.append(Call(AUTHORIZE, params, None, arrived, "GET", 302, location))
        raise web.HTTPFound(location)

    @staticmethod
    def _with_basic_auth(params: dict[str, Any], authorization: str) -> dict[str, Any]:
        if not authorization.startswith("Basic "):
            return params
        try:
            decoded = base64.b64decode(authorization[len("Basic ") :]).decode()
        except (binascii.Error, UnicodeDecodeError):
            return params
        client_id, _, client_secret = decoded.partition(":")
        return params | {"client_id": client_id, "client_secret": client_secret}

    def _oauth_v2_access(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        if params.get("client_id") != self.client_id:
            raise SlackError("invalid_client_id")
        if params.get("client_secret") != self.client_secret:
            raise SlackError("bad_client_secret")
        code = str(params.get("code") or "")
        payload = self.oauth_codes.pop(code, None)
        if payload is None:
            raise SlackError("invalid_code")
        expected_redirect = self._redirect_uris.pop(code, None)
        if expected_redirect is not None and params.get("redirect_uri") != expected_redirect:
            raise SlackError("bad_redirect_uri")
        if code in self._unissued_codes:
            self._unissued_codes.remove(code)
        team = payload["team"]
        if team["id"] not in self.teams:
            self.add_team(team["id"], team["name"])
        bot_id = self._install_bot_ids.pop(code)
        self.add_token(
            payload["access_token"],
            team_id=team["id"],
            user_id=payload["bot_user_id"],
            bot_id=bot_id,
            scopes=payload["scope"].split(","),
        )
        if payload["bot_user_id"] not in self.users:
            self.add_user(
                payload["bot_user_id"], "passerelle", is_bot=True, bot_id=bot_id, team_id=team["id"]
            )
        installer = payload["authed_user"]
        if installer["id"] not in self.users:
            self.add_user(installer["id"], team_id=team["id"])
        if "access_token" in installer:
            self.add_token(
                installer["access_token"],
                team_id=team["id"],
                user_id=installer["id"],
                scopes=installer["scope"].split(","),
            )
        return payload
