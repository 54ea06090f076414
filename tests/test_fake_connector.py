"""The Teams test infrastructure, checked against the real botframework-connector 4.17.1.

FakeConnector must answer botbuilder's own clients the way the Bot Framework connector does, and
bot_framework_tokens must produce tokens that a real ``CloudAdapter`` accepts, and refuses when
they are wrong in each way Teams' could be.

What the Teams adapter's sender must know (established by the tests below):

- ``CloudAdapter`` talks to the connector with ``botframework.connector.aio.ConnectorClient``
  (created by ``_ConnectorFactoryImpl``). It is msrest over **requests**, run in the default
  thread-pool executor (``AsyncRequestsHTTPSender``), not aiohttp. ``TeamsInfo.get_team_details``
  / ``get_team_channels`` use ``botframework.connector.teams.TeamsConnectorClient``, which is
  *synchronous* requests called on the event loop (it blocks the loop for the round trip).
- An error status raises ``botbuilder.schema.ErrorResponseException`` (re-exported as
  ``botframework.connector.models.ErrorResponseException``), a subclass of
  ``msrest.exceptions.HttpOperationError``, for create/send/reply/update/delete/members/member.
  ``get_conversation_paged_members``, ``get_teams_conversation_paged_members`` and the Teams
  extension operations raise a plain ``HttpOperationError``. Catch ``HttpOperationError``:
  ``exc.response`` is the ``requests.Response`` (msrest unwraps ``internal_response``), so the
  status is ``exc.response.status_code`` and the header ``exc.response.headers["Retry-After"]``
  (a string of seconds, case-insensitive lookup); for ``ErrorResponseException``
  ``exc.error.error.code`` / ``.message`` hold the Bot Framework error body (``exc.error`` is an
  ``ErrorResponse`` model), and ``str(exc)`` is ``"(<code>) <message>"``. A connection failure
  is ``msrest.exceptions.ClientRequestError`` instead (no response).
- msrest retries by itself (urllib3 ``Retry``, 3 retries, backoff 0.8): GET/PUT/DELETE only
  (never POST: send, reply, create), on 408 and 5xx but 501/505, and on 413/429/503 *with*
  ``Retry-After`` (slept in the executor thread; in the caller's thread for the sync Teams
  client). Exhausted retries give ``ClientRequestError`` (``.inner_exception`` a
  ``requests.exceptions.RetryError``), not ``HttpOperationError``.
- A proactive ``send_activity`` (inside ``continue_conversation``) is a ``reply_to_activity`` to
  a made-up uuid1 activity id, not a ``send_to_conversation``; an answer to an inbound message is
  a reply to the inbound id.
- ``ConversationParameters.tenant_id`` is serialised as ``tenantID``; the tenant Teams reads is
  ``channelData.tenant.id``, so set both.
- ``ConnectorClient`` with ``MicrosoftAppCredentials.empty()`` sends no ``Authorization`` header
  at all (``AppCredentials._should_set_token`` is false for an empty app id).

How ``CloudAdapter.process`` treats bad requests (see the JWT tests): a ``PermissionError`` in
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
server on a thread of its own (``OpenIdMetadataServer``). An autouse fixture refuses any
connection or name lookup beyond loopback, so a code path that would reach Microsoft fails loud.
"""

from __future__ import annotations

import asyncio
import functools
import socket
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
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    ErrorResponseException,
)
from botbuilder.schema.teams import TeamsChannelAccount
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from botframework.connector.teams import TeamsConnectorClient
from msrest.exceptions import ClientRequestError, HttpOperationError

from tests.bot_framework_tokens import (
    ISSUER,
    TEST_OUTBOUND_TOKEN,
    FixedTokenCredentials,
    FixedTokenCredentialsFactory,
    OpenIdMetadataServer,
    bearer,
    configuration,
    jwk,
    mint,
    new_key,
)
from tests.fake_connector import (
    ADAPTIVE_CARD,
    CREATE_CONVERSATION,
    GET_MEMBERS,
    GET_PAGED_MEMBERS,
    POST_ACTIVITY,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    UPDATE_ACTIVITY,
    FakeConnector,
    cards_in,
)

TENANT = "tenant-0000-passerelle"
APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
ANA, BEN, CHLOE, DAVID = "29:1ana", "29:1ben", "29:1chloe", "29:1david"
TEAM = "19:partners@thread.tacv2"
PLANNING = "19:planning@thread.tacv2"

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any name lookup or connection beyond loopback, from any thread."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in _LOOPBACK:
            raise OSError(f"test tried to resolve {name!r}: loopback only")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            raise OSError(f"test tried to connect to {address!r}: loopback only")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


def card(text: str = "How was the week?", version: str | None = "1.5") -> dict[str, Any]:
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "body": [
            {"type": "TextBlock", "text": text, "wrap": True},
            {
                "type": "Input.ChoiceSet",
                "id": "score",
                "style": "expanded",
                "choices": [{"title": str(i), "value": str(i)} for i in range(1, 6)],
            },
        ],
        "actions": [{"type": "Action.Submit", "title": "Send", "data": {"form": "checkin"}}],
    }
    if version is not None:
        content["version"] = version
    return content


def message(text: str, *attachments: dict[str, Any]) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        text=text,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=a) for a in attachments],
    )


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector(tenant=TENANT) as fake:
        fake.add_user(ANA, "Ana Tremblay", aad_object_id="aad-ana", email="ana@example.org")
        fake.add_user(BEN, "Ben Roy", aad_object_id="aad-ben")
        fake.add_user(CHLOE, "Chloé Martin", aad_object_id="aad-chloe", user_role="anonymous")
        fake.add_user(DAVID, "David Côté", aad_object_id="aad-david")
        fake.add_team(
            TEAM,
            "Partners",
            channels=[(PLANNING, "Planning")],
            members=[ANA, BEN, CHLOE, DAVID],
            aad_group_id="group-partners",
        )
        yield fake


def client(connector: FakeConnector, credentials: Any = None) -> ConnectorClient:
    return ConnectorClient(credentials or MicrosoftAppCredentials.empty(), connector.service_url)


def personal(user_id: str, activity: Activity | None = None) -> ConversationParameters:
    return ConversationParameters(
        is_group=False,
        members=[ChannelAccount(id=user_id)],
        channel_data={"tenant": {"id": TENANT}},
        tenant_id=TENANT,
        activity=activity,
    )


async def raised(call: Any, kind: type[Exception] = HttpOperationError) -> Any:
    with pytest.raises(kind) as caught:
        await call
    return caught.value


# --- the connector, through the real ConnectorClient ---------------------------------------


async def test_service_url_is_loopback_with_a_path(connector: FakeConnector) -> None:
    assert connector.service_url.startswith("http://127.0.0.1:")
    assert connector.service_url.endswith("/amer/")


async def test_personal_conversation_is_stable_per_user(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    first = await conversations.create_conversation(personal(ANA))
    again = await conversations.create_conversation(personal(ANA))
    other = await conversations.create_conversation(personal(BEN))
    assert first.id == again.id == connector.personal_conversation_id(ANA)
    assert other.id != first.id
    assert first.service_url == connector.service_url
    call = connector.calls_of(CREATE_CONVERSATION)[0]
    assert (call.method, call.path, call.status) == ("POST", "/v3/conversations", 201)
    # botbuilder's ConversationParameters says "tenantID"; Teams reads channelData.tenant.id.
    assert call.json["tenantID"] == TENANT and call.json["channelData"]["tenant"]["id"] == TENANT
    assert call.json["members"] == [{"id": ANA}]
    assert call.authorization is None and call.token is None  # empty credentials: no header


async def test_create_conversation_with_activity_posts_it(connector: FakeConnector) -> None:
    created = await client(connector).conversations.create_conversation(
        personal(BEN, message("Bonjour", card()))
    )
    assert created.activity_id
    [posted] = connector.messages_to(created.id)
    assert posted["id"] == created.activity_id and posted["text"] == "Bonjour"


async def test_create_conversation_refuses_what_teams_refuses(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    no_tenant = ConversationParameters(is_group=False, members=[ChannelAccount(id=ANA)])
    error = await raised(conversations.create_conversation(no_tenant), ErrorResponseException)
    assert error.response.status_code == 400
    error = await raised(conversations.create_conversation(personal("29:1nobody")))
    assert error.response.status_code == 404
    connector.uninstall(DAVID)
    error = await raised(conversations.create_conversation(personal(DAVID)))
    assert error.response.status_code == 403 and error.error.error.code == "Forbidden"


async def test_send_reply_update_delete_with_an_adaptive_card(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(ANA)

    sent = await conversations.send_to_conversation(conversation_id, message("Check-in", card()))
    reply = await conversations.reply_to_activity(
        conversation_id, "1700000000000", message("Thanks")
    )
    assert sent.id and reply.id and int(reply.id) > int(sent.id)

    [first, second] = connector.messages_to(conversation_id)
    assert cards_in(first) == [card()] and connector.cards_in(second) == []
    assert first["attachments"][0]["contentType"] == ADAPTIVE_CARD
    [send_post, reply_post] = connector.posted(conversation_id)
    assert (send_post.kind, reply_post.kind) == (SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY)
    assert reply_post.reply_to_id == "1700000000000"
    [reply_call] = connector.calls_of(REPLY_TO_ACTIVITY)
    assert reply_call.path == f"/v3/conversations/{conversation_id}/activities/1700000000000"

    both = message("Check-in (closed)", card("Closed"))  # text and a card: two messages
    error = await raised(conversations.update_activity(conversation_id, sent.id, both))
    assert error.response.status_code == 400
    updated = message("", card("Closed"))
    updated.id = sent.id
    answer = await conversations.update_activity(conversation_id, sent.id, updated)
    assert answer.id == sent.id
    assert connector.cards_to(conversation_id)[0]["body"][0]["text"] == "Closed"
    assert [u.activity_id for u in connector.updates] == [sent.id]
    assert connector.calls_of(UPDATE_ACTIVITY)[0].method == "PUT"

    await conversations.delete_activity(conversation_id, reply.id)
    assert [m["id"] for m in connector.messages_to(conversation_id)] == [sent.id]
    assert connector.deletes == [(conversation_id, reply.id)]
    error = await raised(conversations.update_activity(conversation_id, reply.id, updated))
    assert error.response.status_code == 404


async def test_invalid_activities_are_refused(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(ANA)
    for bad in (
        message("no version", card(version=None)),
        Activity(
            type="message",
            attachments=[Attachment(content_type=ADAPTIVE_CARD, content={"version": "1.5"})],
        ),
        Activity(text="no type"),
    ):
        error = await raised(conversations.send_to_conversation(conversation_id, bad))
        assert isinstance(error, ErrorResponseException)
        assert error.response.status_code == 400 and error.error.error.code == "BadArgument"
    error = await raised(conversations.send_to_conversation("a:unknown", message("hi")))
    assert error.response.status_code == 404
    assert error.error.error.code == "ConversationNotFound"
    assert connector.messages_to(conversation_id) == []
    assert [c.status for c in connector.rejected] == [400, 400, 400, 404]


async def test_a_body_that_is_not_json_is_a_400(connector: FakeConnector) -> None:
    url = f"{connector.service_url}v3/conversations/{TEAM}/activities"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=b"type=message", headers={"Content-Type": "text/plain"}) as r,
    ):
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "BadSyntax"


async def test_members_member_and_paged_members(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    members = await conversations.get_conversation_members(TEAM)
    # The operation deserialises ChannelAccount; TeamsInfo re-reads additional_properties.
    accounts = [
        TeamsChannelAccount().deserialize(dict(m.serialize(), **m.additional_properties))
        for m in members
    ]
    assert [a.id for a in accounts] == [ANA, BEN, CHLOE, DAVID]
    ana = accounts[0]
    assert (ana.aad_object_id, ana.email, ana.tenant_id) == ("aad-ana", "ana@example.org", TENANT)
    assert ana.user_principal_name and ana.user_role == "user"
    assert accounts[2].user_role == "anonymous"

    by_aad = await conversations.get_conversation_member(TEAM, "aad-ben")
    assert by_aad.id == BEN and by_aad.name == "Ben Roy"
    error = await raised(conversations.get_conversation_member(TEAM, "29:1stranger"))
    assert error.response.status_code == 404
    assert error.error.error.code == "MemberNotFoundInConversation"

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await conversations.get_teams_conversation_paged_members(PLANNING, 3, token)
        seen += [m.id for m in page.members]
        pages += 1
        token = page.continuation_token
        if not token:
            break
    assert seen == [ANA, BEN, CHLOE, DAVID] and pages == 2
    assert page.members[0].aad_object_id == "aad-david"
    queries = [c.query for c in connector.calls_of(GET_PAGED_MEMBERS)]
    assert queries[0] == {"pageSize": "3"} and "continuationToken" in queries[1]


async def test_team_channels_and_details_with_the_sync_teams_client(
    connector: FakeConnector,
) -> None:
    # TeamsInfo builds this synchronous client and calls it on the event loop: the fake
    # answers from its own thread, so this does not deadlock.
    teams = TeamsConnectorClient(MicrosoftAppCredentials.empty(), connector.service_url).teams
    channels = teams.get_teams_channels(TEAM).conversations
    assert [(c.id, c.name) for c in channels] == [(TEAM, None), (PLANNING, "Planning")]
    details = teams.get_team_details(TEAM)
    assert (details.id, details.name, details.aad_group_id) == (TEAM, "Partners", "group-partners")
    assert (details.channel_count, details.member_count) == (2, 4)
    with pytest.raises(HttpOperationError) as caught:
        teams.get_team_details("19:unknown@thread.tacv2")
    assert caught.value.response.status_code == 404


async def test_channel_thread_via_create_conversation(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    params = ConversationParameters(
        is_group=True,
        channel_data={"channel": {"id": PLANNING}, "tenant": {"id": TENANT}},
        activity=message("Round 3 is open", card()),
    )
    created = await conversations.create_conversation(params)
    assert created.id == f"{PLANNING};messageid={created.activity_id}"
    await conversations.reply_to_activity(created.id, created.activity_id, message("Reminder"))
    assert [m.get("text") for m in connector.messages_to(PLANNING)] == [
        "Round 3 is open",
        "Reminder",
    ]
    assert connector.messages_to(TEAM) == []


async def test_429_with_retry_after_then_success(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(ANA)
    connector.fail_next(SEND_TO_CONVERSATION, 429, retry_after=7)
    error = await raised(conversations.send_to_conversation(conversation_id, message("hi")))
    assert isinstance(error, ErrorResponseException)
    assert error.response.status_code == 429
    assert error.response.headers["retry-after"] == "7"
    assert error.error.error.code == "TooManyRequests"
    assert str(error).startswith("(TooManyRequests)")
    sent = await conversations.send_to_conversation(conversation_id, message("hi"))
    assert [m["id"] for m in connector.messages_to(conversation_id)] == [sent.id]
    assert [c.retry_after for c in connector.rejected] == [7]


async def test_injected_errors_by_path_and_status(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(BEN)
    sent = await conversations.send_to_conversation(conversation_id, message("v1"))
    connector.fail_next("/v3/conversations/*/activities/*", 412, times=2)
    connector.fail_next(SEND_TO_CONVERSATION, 502)
    connector.fail_next(GET_PAGED_MEMBERS, 429)
    for _ in range(2):
        error = await raised(conversations.update_activity(conversation_id, sent.id, message("x")))
        assert error.response.status_code == 412
    # a POST is never retried by msrest: the 502 surfaces at once
    error = await raised(conversations.send_to_conversation(conversation_id, message("v2")))
    assert isinstance(error, ErrorResponseException) and error.response.status_code == 502
    # paged members raises the plain HttpOperationError, not ErrorResponseException
    error = await raised(conversations.get_conversation_paged_members(TEAM))
    assert type(error) is HttpOperationError and error.response.status_code == 429
    assert "Retry-After" not in error.response.headers
    assert [c.status for c in connector.rejected] == [412, 412, 502, 429]
    assert len(connector.messages_to(conversation_id)) == 1


async def test_msrest_retries_5xx_on_get_put_delete_by_itself(connector: FakeConnector) -> None:
    """msrest's ClientRetryPolicy (a urllib3 Retry: 3 retries, backoff factor 0.8) retries 408
    and 5xx except 501/505, and 413/429/503 that carry Retry-After (sleeping that long, in the
    executor thread), for GET/PUT/DELETE only: urllib3 2 ignores the ``method_whitelist`` msrest
    sets, so its default methods apply and POST (send, reply, create) is never retried. When
    retries run out the error is ``msrest.exceptions.ClientRequestError``, with no response."""
    conversations = client(connector).conversations
    connector.fail_next(GET_MEMBERS, 504)
    members = await conversations.get_conversation_members(TEAM)
    assert members[0].id == ANA
    assert [c.status for c in connector.calls_of(GET_MEMBERS)] == [504, 200]

    # a 429 (or 413, 503) *with* Retry-After is retried too, after sleeping that long
    connector.fail_next(GET_MEMBERS, 429, retry_after=1)
    await conversations.get_conversation_members(TEAM)
    assert [c.status for c in connector.calls_of(GET_MEMBERS)][-2:] == [429, 200]

    connector.fail_next(GET_MEMBERS, 503, times=4, retry_after=1)
    error = await raised(conversations.get_conversation_members(TEAM), ClientRequestError)
    assert not isinstance(error, HttpOperationError)
    assert isinstance(error.inner_exception, requests.exceptions.RetryError)
    assert [c.status for c in connector.calls_of(GET_MEMBERS)] == [
        504,
        200,
        429,
        200,
        503,
        503,
        503,
        503,
    ]


async def test_a_user_who_removed_the_app_gives_403(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(CHLOE)
    connector.uninstall(CHLOE)
    error = await raised(conversations.send_to_conversation(conversation_id, message("hi")))
    assert isinstance(error, ErrorResponseException)
    assert error.response.status_code == 403
    assert error.response.json() == {
        "error": {"code": "Forbidden", "message": "The bot is not part of the conversation roster."}
    }


async def test_required_token_is_checked() -> None:
    async with FakeConnector(require_token=TEST_OUTBOUND_TOKEN, tenant=TENANT) as connector:
        connector.add_user(ANA, "Ana")
        anonymous = client(connector).conversations
        error = await raised(anonymous.create_conversation(personal(ANA)))
        assert error.response.status_code == 401
        signed = client(connector, FixedTokenCredentials(APP_ID, TEST_OUTBOUND_TOKEN))
        created = await signed.conversations.create_conversation(personal(ANA))
        assert created.id == connector.personal_conversation_id(ANA)
        assert [c.token for c in connector.calls] == [None, TEST_OUTBOUND_TOKEN]


# --- inbound JWT validation through a real CloudAdapter ------------------------------------


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


async def test_a_valid_token_is_accepted_and_the_reply_carries_ours(secured, metadata) -> None:
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
async def test_bad_tokens_are_refused_with_401(secured, case: str, escapes: Any) -> None:
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


async def test_a_valid_token_is_still_accepted_after_refusals(secured) -> None:
    server, connector, _ = secured
    activity = inbound(connector, connector.personal_conversation_id(ANA))
    assert await server.post(activity, bearer(mint(APP_ID, connector.service_url, kid="x"))) == 401
    assert await server.post(activity, bearer(mint(APP_ID, connector.service_url))) == 201
    assert len(server.bot.turns) == 1


async def test_issuer_in_metadata_matches_the_token_issuer(metadata) -> None:
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


# --- local mode: no app id (the built-in public-cloud path) --------------------------------


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


async def test_local_mode_accepts_no_header_and_sends_no_token(local_mode) -> None:
    server, connector = local_mode
    conversation_id = connector.personal_conversation_id(ANA)
    assert await server.post(inbound(connector, conversation_id), {}) == 201
    assert len(server.bot.turns) == 1 and server.escaped == []
    # TurnContext.send_activity sets replyToId to the inbound id: it is a reply_to_activity
    [send] = connector.calls_of(REPLY_TO_ACTIVITY)
    assert send.path.endswith("/activities/1700000000123") and send.authorization is None
    assert connector.messages_to(conversation_id)[0]["text"] == "pong"


async def test_local_mode_malformed_bearer_escapes_as_decode_error(local_mode) -> None:
    server, connector = local_mode
    activity = inbound(connector, connector.personal_conversation_id(ANA))
    status = await server.post(activity, {"Authorization": "Bearer not-a-jwt"})
    assert status == 401 and server.bot.turns == []
    [error] = server.escaped
    assert isinstance(error, jwt.DecodeError)


async def test_a_proactive_send_is_a_reply_to_a_made_up_activity_id(local_mode) -> None:
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
