"""Inbound JWT validation through a real ``CloudAdapter``, with tokens from
tests/bot_framework_tokens.py, and the local mode (no app id).

How ``CloudAdapter.process`` treats bad requests: a ``PermissionError`` in
authentication becomes ``HTTPUnauthorized`` (401) raised out of ``process``; every other failure
escapes as that exception, i.e. aiohttp answers 500 unless the route catches it. Escaping, on the
parameterized path: a missing ``Authorization`` header (``AttributeError``: ``process`` passes
``""``, which that path does not treat as "no header"), an unknown ``kid`` (``IndexError`` in
``_OpenIdMetadata._find``), an expired token (``jwt.ExpiredSignatureError``), a bad signature
(``jwt.InvalidSignatureError``), a key not endorsed for the channel (plain ``Exception``). On the
built-in public-cloud path with no app id, no header is accepted (anonymous) but a malformed
bearer escapes as ``jwt.DecodeError`` (it is decoded unverified before anything else). So the
route must map any exception out of authentication to 401.

The OpenID metadata is fetched with blocking ``requests`` on the event loop, hence a metadata
server on a thread of its own (``OpenIdMetadataServer``). The ``loopback_only`` fixture
(tests/conftest.py) refuses any connection or name lookup beyond loopback, so a code path that
would reach Microsoft fails loud.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import jwt
import pytest
import requests
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ErrorResponseException,
)

from tests.bot_framework_tokens import (
    ISSUER,
    TEST_OUTBOUND_TOKEN,
    FixedTokenCredentialsFactory,
    OpenIdMetadataServer,
    bearer,
    configuration,
    jwk,
    mint,
    new_key,
)
from tests.connector_fixtures import ANA, APP_ID, TENANT, card, message
from tests.fake_connector import (
    POST_ACTIVITY,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    FakeConnector,
    cards_in,
)

pytestmark = pytest.mark.usefixtures("loopback_only")


class RecordingBot:
    """A bot whose turn answers with a card, through the connector."""

    def __init__(self) -> None:
        self.turns: list[Activity] = []

    async def on_turn(self, turn_context: TurnContext) -> None:
        self.turns.append(turn_context.activity)
        await turn_context.send_activity(message("pong", card()))


class BotServer:
    def __init__(self, adapter: CloudAdapter, bot: RecordingBot) -> None:
        self.adapter = adapter
        self.bot = bot
        self.escaped: list[BaseException] = []  # what botbuilder raised besides HTTP errors
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def messages(self, request: web.Request) -> web.StreamResponse:
        try:
            response = await self.adapter.process(request, self.bot)
        except web.HTTPException:
            raise  # e.g. HTTPUnauthorized, which process raises for a PermissionError
        except Exception as exc:  # botbuilder raises other things for bad tokens: 401 too
            self.escaped.append(exc)
            return web.json_response({"error": "unauthorized"}, status=401)
        return response or web.Response(status=201)

    async def __aenter__(self) -> BotServer:
        app = web.Application()
        app.router.add_post("/api/messages", self.messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/messages"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def post(self, activity: dict[str, Any], headers: dict[str, str]) -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, json=activity, headers=headers) as response,
        ):
            return response.status


def inbound(connector: FakeConnector, conversation_id: str, text: str = "ping") -> dict[str, Any]:
    """A Teams message to the bot, as the channel posts it."""
    return {
        "type": "message",
        "id": "1700000000123",
        "timestamp": "2026-11-24T15:00:00.000Z",
        "serviceUrl": connector.service_url,
        "channelId": "msteams",
        "from": {"id": ANA, "name": "Ana Tremblay", "aadObjectId": "aad-ana"},
        "conversation": {"id": conversation_id, "conversationType": "personal", "tenantId": TENANT},
        "recipient": {"id": f"28:{APP_ID}", "name": "Passerelle"},
        "text": text,
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "fr-CA",
    }


Secured = tuple["BotServer", FakeConnector, FixedTokenCredentialsFactory]
LocalMode = tuple["BotServer", FakeConnector]


@functools.cache
def webchat_key() -> Any:
    """A second published key, endorsed for webchat only."""
    return new_key()


@pytest.fixture
def metadata() -> Iterator[OpenIdMetadataServer]:
    keys = [jwk(), jwk(webchat_key(), "webchat-only", ["webchat"])]
    with OpenIdMetadataServer(keys=keys) as server:
        yield server


@pytest.fixture
async def secured(
    metadata: OpenIdMetadataServer,
) -> AsyncIterator[tuple[BotServer, FakeConnector, FixedTokenCredentialsFactory]]:
    credentials = FixedTokenCredentialsFactory(APP_ID)
    config = configuration(APP_ID, "app-password", TENANT, metadata.metadata_url)
    auth = ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials)
    async with (
        FakeConnector(require_token=TEST_OUTBOUND_TOKEN, tenant=TENANT) as connector,
        BotServer(CloudAdapter(auth), RecordingBot()) as server,
    ):
        connector.add_user(ANA, "Ana Tremblay", aad_object_id="aad-ana")
        yield server, connector, credentials


async def test_a_valid_token_is_accepted_and_the_reply_carries_ours(
    secured: Secured, metadata: OpenIdMetadataServer
) -> None:
    server, connector, credentials = secured
    conversation_id = connector.personal_conversation_id(ANA)
    token = mint(APP_ID, connector.service_url)
    status = await server.post(inbound(connector, conversation_id), bearer(token))
    assert status == 201 and server.escaped == []
    assert [t.text for t in server.bot.turns] == ["ping"]
    [reply] = connector.messages_to(conversation_id)
    assert reply["text"] == "pong" and cards_in(reply) == [card()]
    assert connector.calls[-1].token == TEST_OUTBOUND_TOKEN
    assert (APP_ID, "https://api.botframework.com") in credentials.created
    assert metadata.requests_seen == {"metadata": 1, "keys": 1}


@pytest.mark.parametrize(
    ("case", "escapes"),
    [
        ("no Authorization header", AttributeError),
        ("not a bearer", None),
        ("wrong audience", None),
        ("wrong issuer", None),
        ("serviceurl claim differs from activity.serviceUrl", None),
        ("no serviceurl claim", None),
        ("unknown key id", IndexError),
        ("expired", jwt.ExpiredSignatureError),
        ("signed with another key", jwt.InvalidSignatureError),
        ("key not endorsed for msteams", Exception),
    ],
)
async def test_bad_tokens_are_refused_with_401(secured: Secured, case: str, escapes: Any) -> None:
    server, connector, _ = secured
    url = connector.service_url
    headers = {
        "no Authorization header": {},
        "not a bearer": {"Authorization": f"Basic {mint(APP_ID, url)}"},
        "wrong audience": bearer(mint("11111111-0000-0000-0000-000000000000", url)),
        "wrong issuer": bearer(mint(APP_ID, url, issuer="https://evil.example")),
        "serviceurl claim differs from activity.serviceUrl": bearer(
            mint(APP_ID, "https://smba.trafficmanager.net/amer/")
        ),
        "no serviceurl claim": bearer(mint(APP_ID, None)),
        "unknown key id": bearer(mint(APP_ID, url, kid="rotated-away")),
        "expired": bearer(mint(APP_ID, url, expires_in=-3600, not_before=-7200)),
        "signed with another key": bearer(mint(APP_ID, url, key=new_key())),
        "key not endorsed for msteams": bearer(
            mint(APP_ID, url, kid="webchat-only", key=webchat_key())
        ),
    }[case]
    status = await server.post(inbound(connector, connector.personal_conversation_id(ANA)), headers)
    assert status == 401
    assert server.bot.turns == [] and connector.calls == []
    if escapes is None:  # botbuilder's own PermissionError -> HTTPUnauthorized
        assert server.escaped == []
    else:  # it raised something else, which would have been a 500
        [error] = server.escaped
        assert isinstance(error, escapes) and not isinstance(error, PermissionError)
        if case == "key not endorsed for msteams":
            assert str(error) == "Could not validate endorsement key"


async def test_a_valid_token_is_still_accepted_after_refusals(secured: Secured) -> None:
    server, connector, _ = secured
    activity = inbound(connector, connector.personal_conversation_id(ANA))
    assert await server.post(activity, bearer(mint(APP_ID, connector.service_url, kid="x"))) == 401
    assert await server.post(activity, bearer(mint(APP_ID, connector.service_url))) == 201
    assert len(server.bot.turns) == 1


async def test_issuer_in_metadata_matches_the_token_issuer(metadata: OpenIdMetadataServer) -> None:
    def fetch() -> dict[str, Any]:
        document = requests.get(metadata.metadata_url, timeout=5).json()
        keys = requests.get(document["jwks_uri"], timeout=5).json()["keys"]
        return {"issuer": document["issuer"], "keys": keys}

    got = await asyncio.to_thread(fetch)
    assert got["issuer"] == ISSUER
    first = got["keys"][0]
    assert {"kid", "kty", "n", "e", "use", "alg", "endorsements"} <= set(first)
    assert first["kty"] == "RSA" and "msteams" in first["endorsements"]
    decoded = jwt.decode(
        mint(APP_ID, "http://x/"),
        jwt.PyJWK(first).key,
        algorithms=["RS256"],
        audience=APP_ID,
        issuer=ISSUER,
    )
    assert decoded["serviceurl"] == "http://x/" and decoded["exp"] > decoded["nbf"]


@pytest.fixture
async def local_mode() -> AsyncIterator[tuple[BotServer, FakeConnector]]:
    config = SimpleNamespace(APP_ID="", APP_PASSWORD="")  # what an empty MICROSOFT_APP_ID gives
    auth = ConfigurationBotFrameworkAuthentication(config)
    async with (
        FakeConnector(tenant=TENANT) as connector,
        BotServer(CloudAdapter(auth), RecordingBot()) as server,
    ):
        connector.add_user(ANA, "Ana Tremblay")
        yield server, connector


async def test_local_mode_accepts_no_header_and_sends_no_token(local_mode: LocalMode) -> None:
    server, connector = local_mode
    conversation_id = connector.personal_conversation_id(ANA)
    assert await server.post(inbound(connector, conversation_id), {}) == 201
    assert len(server.bot.turns) == 1 and server.escaped == []
    # TurnContext.send_activity sets replyToId to the inbound id: it is a reply_to_activity
    [send] = connector.calls_of(REPLY_TO_ACTIVITY)
    assert send.path.endswith("/activities/1700000000123") and send.authorization is None
    assert connector.messages_to(conversation_id)[0]["text"] == "pong"


async def test_local_mode_malformed_bearer_escapes_as_decode_error(local_mode: LocalMode) -> None:
    server, connector = local_mode
    activity = inbound(connector, connector.personal_conversation_id(ANA))
    status = await server.post(activity, {"Authorization": "Bearer not-a-jwt"})
    assert status == 401 and server.bot.turns == []
    [error] = server.escaped
    assert isinstance(error, jwt.DecodeError)


async def test_a_proactive_send_is_a_reply_to_a_made_up_activity_id(local_mode: LocalMode) -> None:
    """``CloudAdapter.continue_conversation`` builds a continuation activity with a fresh uuid1
    id, and ``TurnContext.send_activity`` turns it into ``replyToId``: a proactive message goes
    out as ``reply_to_activity`` (POST .../activities/<uuid>), not ``send_to_conversation``.
    ``fail_next(POST_ACTIVITY, ...)`` catches both."""
    server, connector = local_mode
    conversation_id = connector.personal_conversation_id(ANA)
    reference = TurnContext.get_conversation_reference(
        Activity().deserialize(inbound(connector, conversation_id))
    )
    connector.fail_next(POST_ACTIVITY, 502)
    sent: list[str] = []

    async def logic(context: TurnContext) -> None:
        try:
            await context.send_activity(message("proactive"))
        except ErrorResponseException as error:
            sent.append(f"failed {error.response.status_code}")
        response = await context.send_activity(message("proactive"))
        sent.append(response.id)

    await server.adapter.continue_conversation(reference, logic, bot_app_id="")
    assert sent[0] == "failed 502" and sent[1]
    [posted] = connector.posted(conversation_id)
    assert posted.kind == REPLY_TO_ACTIVITY and posted.reply_to_id
    assert posted.reply_to_id != reference.activity_id
    assert connector.calls_of(SEND_TO_CONVERSATION) == []
