"""Keeping botbuilder's blocking calls off the event loop: outbound tokens fetched in a thread
before a connector client is made, inbound signing keys refreshed in a thread, and the loopback
check of local mode."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConstants,
    ServiceClientCredentialsFactory,
)
from botframework.connector.auth import jwt_token_extractor as _jwt

KEYS_SECONDS = 10.0  # botbuilder fetches the signing keys without any timeout


def is_loopback_url(url: object) -> bool:
    """An http(s) URL whose host is localhost or a loopback address."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            return False
        if host == "localhost":
            return True
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OffLoopCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """Outbound credentials whose token is already there when msrest asks for it.

    msrest signs each connector request by calling `signed_session` -> `get_access_token`
    synchronously, on the loop, and MSAL may then call Azure AD (a first token, a refresh):
    a blocking HTTP call. Here the token is fetched in a thread when the connector client is
    made (MSAL caches it: the call is quick when it is fresh), and the credentials handed to
    botbuilder only return it."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self.inner = inner

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self.inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self.inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        credentials = await self.inner.create_credentials(
            app_id, oauth_scope, login_endpoint, validate_authority
        )
        signs = getattr(credentials, "microsoft_app_id", "") not in (
            "",
            None,
            AuthenticationConstants.ANONYMOUS_SKILL_APP_ID,
        )
        if not isinstance(credentials, AppCredentials) or not signs:
            return credentials  # local mode, or credentials that sign without a token
        token = await asyncio.to_thread(credentials.get_access_token)
        return _FetchedToken(credentials, token)


class _FetchedToken(AppCredentials):  # type: ignore[misc]
    """The credentials of one connector client, with the token fetched off the loop."""

    def __init__(self, inner: AppCredentials, token: str) -> None:
        super().__init__(
            app_id=inner.microsoft_app_id,
            channel_auth_tenant=None,
            oauth_scope=inner.oauth_scope,
        )
        self.microsoft_app_id = inner.microsoft_app_id
        self.oauth_endpoint = inner.oauth_endpoint
        self.oauth_scope = inner.oauth_scope
        self._token = token

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self._token


class _OffLoopMetadata(_jwt._OpenIdMetadata):  # type: ignore[misc]
    """botbuilder's cache of inbound signing keys, refreshed in a thread (botbuilder calls
    `requests.get` on the loop, without a timeout); one refresh at a time per URL and loop."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._refreshing: asyncio.Task[None] | None = None

    async def _refresh(self) -> None:
        task = self._refreshing
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(asyncio.to_thread(self._fetch))
            self._refreshing = task
        await asyncio.shield(task)

    def _fetch(self) -> None:
        response = _jwt.requests.get(self.url, timeout=KEYS_SECONDS)
        response.raise_for_status()
        keys = _jwt.requests.get(response.json()["jwks_uri"], timeout=KEYS_SECONDS)
        keys.raise_for_status()
        self.keys = keys.json()["keys"]
        self.last_updated = _jwt.datetime.now()


# botbuilder makes its key caches through this module-level name (JwtTokenExtractor
# .get_open_id_metadata): every cache it makes from now on refreshes off the loop.
_jwt._OpenIdMetadata = _OffLoopMetadata
