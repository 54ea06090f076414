"""Bot Framework tokens for tests: inbound JWT validation with test keys, no network.

    with OpenIdMetadataServer() as metadata:            # or `async with`
        config = configuration(APP_ID, "secret", TENANT, metadata.metadata_url)
        auth = ConfigurationBotFrameworkAuthentication(
            config, credentials_factory=FixedTokenCredentialsFactory(APP_ID)
        )
        adapter = CloudAdapter(auth)
        headers = {"Authorization": f"Bearer {mint(APP_ID, activity['serviceUrl'])}"}

How botbuilder 4.17.1 validates (read from botframework/connector/auth): any of the
``TO_BOT_FROM_CHANNEL_*`` (and a few other) attributes on the configuration make
``BotFrameworkAuthenticationFactory.create`` choose ``_ParameterizedBotFrameworkAuthentication``,
whose channel path is "government channel validation": the token's ``iss`` must be in
``[TO_BOT_FROM_CHANNEL_TOKEN_ISSUER]`` (else no identity -> ``PermissionError``); the header must
have a ``kid`` found in the JWKS (an unknown ``kid`` raises ``IndexError`` inside
``_OpenIdMetadata._find``: not a PermissionError); the key's ``endorsements`` must contain the
activity's ``channelId`` ("msteams"); ``alg`` in RS256/384/512; the signature and ``exp`` (5 min
leeway) are checked by PyJWT (``ExpiredSignatureError``, ``InvalidSignatureError``: not
PermissionErrors); then ``iss`` again, ``aud`` must be the app id
(``credentials_factory.is_valid_app_id``) and the ``serviceurl`` claim must equal
``activity.serviceUrl``. A token with a ``ver`` claim and an app-id audience is taken for a skill
token, and one whose issuer is an Azure AD/emulator issuer goes the emulator way: ``mint`` makes
neither.

The metadata (``/.well-known/openidconfiguration`` -> ``jwks_uri`` -> ``{"keys": [...]}``) is
fetched by ``_OpenIdMetadata._refresh`` with blocking ``requests.get`` *on the event loop*. So
``OpenIdMetadataServer`` is a real HTTP server run from a thread with its own loop (see
``tests.fake_connector.LoopbackServer``); on the test's loop it would deadlock. The metadata is
cached per URL, process-wide, for a day (``JwtTokenExtractor.metadataCache``): each server gets
a random path so that a new server (or a reused port) never meets stale keys; call
``forget_cached_metadata()`` after changing ``keys`` on a running server.

Outbound, the connector would get its token from Azure AD through MSAL
(login.microsoftonline.com): ``FixedTokenCredentialsFactory`` gives credentials whose token is
a fixed string (``TEST_OUTBOUND_TOKEN``), or none when the app id is empty (local mode), which
``tests.fake_connector.FakeConnector(require_token=...)`` can insist on. Always pass it: with the
parameterized configuration, the default credential factory would build private-cloud MSAL
credentials.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from botframework.connector.auth import (
    AppCredentials,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fake_connector import LoopbackServer

ISSUER = "https://api.botframework.com"  # the Bot Framework channel token issuer
OUTBOUND_SCOPE = "https://api.botframework.com"
DEFAULT_KID = "passerelle-test-key-1"
TEST_OUTBOUND_TOKEN = "test-outbound-token"


# --- keys ----------------------------------------------------------------------------------


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key pair (2048 bits), e.g. to sign with a key the JWKS does not hold."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def signing_key() -> rsa.RSAPrivateKey:
    """The test signing key, generated once per process, published as ``DEFAULT_KID``."""
    return new_key()


def jwk(
    key: rsa.RSAPrivateKey | rsa.RSAPublicKey | None = None,
    kid: str = DEFAULT_KID,
    endorsements: list[str] | None = None,
) -> dict[str, Any]:
    """A JWKS entry as login.botframework.com publishes it (public part only)."""
    key = key or signing_key()
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    entry: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public))
    entry |= {
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "endorsements": ["msteams", "emulator", "webchat"]
        if endorsements is None
        else endorsements,
    }
    return entry


def mint(
    app_id: str,
    service_url: str | None,
    *,
    kid: str | None = DEFAULT_KID,
    issuer: str = ISSUER,
    audience: str | None = None,
    expires_in: float = 3600,
    not_before: float = -300,
    key: rsa.RSAPrivateKey | None = None,
    algorithm: str = "RS256",
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """An RS256 token like the Bot Framework channel's: ``iss``, ``aud`` (the app id unless
    ``audience``), ``serviceurl`` (left out when None), ``nbf``, ``exp``, ``iat``; header
    ``kid``. ``expires_in`` may be negative (an expired token; mind the 5-minute leeway)."""
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": app_id if audience is None else audience,
        "iat": now,
        "nbf": now + dt.timedelta(seconds=not_before),
        "exp": now + dt.timedelta(seconds=expires_in),
    }
    if service_url is not None:
        claims["serviceurl"] = service_url
    claims |= extra_claims or {}
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key or signing_key(), algorithm=algorithm, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the OpenID metadata endpoint ----------------------------------------------------------


class OpenIdMetadataServer:
    """Stands in for https://login.botframework.com/v1/.well-known/openidconfiguration.

    Served from its own thread (the client fetches with blocking ``requests``). ``keys`` is the
    JWKS list served (mutable); ``requests_seen`` counts the fetches of each document."""

    def __init__(self, keys: list[dict[str, Any]] | None = None, issuer: str = ISSUER) -> None:
        self.keys: list[dict[str, Any]] = [jwk()] if keys is None else keys
        self.issuer = issuer
        self.requests_seen: dict[str, int] = {"metadata": 0, "keys": 0}
        self._nonce = secrets.token_hex(6)
        self._server = LoopbackServer(self._make_app, name="openid-metadata")

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/{self._nonce}/.well-known/openidconfiguration", self._metadata)
        app.router.add_get(f"/{self._nonce}/.well-known/keys", self._keys)
        return app

    async def _metadata(self, request: web.Request) -> web.Response:
        self.requests_seen["metadata"] += 1
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": "https://invalid.example/v1/.well-known/authorize",
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.requests_seen["keys"] += 1
        return web.json_response({"keys": self.keys})

    def start(self) -> OpenIdMetadataServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self.forget_cached_metadata()
        self._server.stop()

    def __enter__(self) -> OpenIdMetadataServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> OpenIdMetadataServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def metadata_url(self) -> str:
        return f"{self._server.base_url}/{self._nonce}/.well-known/openidconfiguration"

    @property
    def jwks_url(self) -> str:
        return f"{self._server.base_url}/{self._nonce}/.well-known/keys"

    def forget_cached_metadata(self) -> None:
        """Drop botbuilder's process-wide cache of this server's keys."""
        JwtTokenExtractor.metadataCache.pop(self.metadata_url, None)


# --- configuration and credentials ---------------------------------------------------------


@dataclass
class BotConfiguration:
    """What ``ConfigurationBotFrameworkAuthentication`` and
    ``ConfigurationServiceClientCredentialFactory`` read (``APP_ID``, ``APP_PASSWORD``,
    ``APP_TENANTID``, ``APP_TYPE``, ``TO_BOT_FROM_CHANNEL_*``...), plus the
    ``MicrosoftApp*`` names the samples' config.py uses, for the app's own settings."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TENANTID: str | None
    APP_TYPE: str
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str = ISSUER
    TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL: str | None = None
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str = OUTBOUND_SCOPE

    @property
    def MicrosoftAppId(self) -> str:  # the name botbuilder's samples use
        return self.APP_ID

    @property
    def MicrosoftAppPassword(self) -> str:
        return self.APP_PASSWORD

    @property
    def MicrosoftAppTenantId(self) -> str | None:
        return self.APP_TENANTID

    @property
    def MicrosoftAppType(self) -> str:
        return self.APP_TYPE


def configuration(
    app_id: str,
    password: str,
    tenant: str | None,
    metadata_url: str,
    *,
    app_type: str = "MultiTenant",
    issuer: str = ISSUER,
) -> BotConfiguration:
    """A configuration that validates inbound tokens against the fake metadata server.

    The emulator metadata URL points at the fake too, so that no token shape can make
    botbuilder reach the internet."""
    return BotConfiguration(
        APP_ID=app_id,
        APP_PASSWORD=password,
        APP_TENANTID=tenant,
        APP_TYPE=app_type,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=issuer,
        TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=metadata_url,
    )


def auth_overrides(metadata_url: str) -> dict[str, str]:
    """The same as `configuration`, as `BotFramework(auth_overrides=...)` takes it."""
    return {
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": metadata_url,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER,
        "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": metadata_url,
    }


class FixedTokenCredentials(AppCredentials):  # type: ignore[misc]
    """App credentials whose access token is a fixed string (no Azure AD, no MSAL)."""

    def __init__(self, app_id: str, token: str, oauth_scope: str | None = None) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self.token = token
        self.tokens_given = 0

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.tokens_given += 1
        return self.token


class FixedTokenCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """Like ``PasswordServiceClientCredentialFactory`` (app id check, auth disabled when the app
    id is empty, then ``MicrosoftAppCredentials.empty()``), with ``FixedTokenCredentials``.
    ``created`` records (app_id, oauth_scope) for each credential built."""

    def __init__(self, app_id: str, token: str = TEST_OUTBOUND_TOKEN) -> None:
        self.app_id = app_id
        self.token = token
        self.created: list[tuple[str, str | None]] = []

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return not self.app_id

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        self.created.append((app_id, oauth_scope))
        if await self.is_authentication_disabled():
            return MicrosoftAppCredentials.empty()
        if not await self.is_valid_app_id(app_id):
            raise PermissionError(f"Invalid app_id {app_id!r}")
        return FixedTokenCredentials(app_id, self.token, oauth_scope)
