"""Inbound tokens with an app id: botbuilder validates the Bot Framework JWT (test keys served
by a local OpenID metadata server); every bad or missing token is 401 and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.teams.app import TeamsBridge
from adapters.teams.botframework import BotFramework, Credentials
from adapters.teams.routes import TeamsRoutes
from dialogs.engine import Engine
from tests.bot_framework_tokens import (
    TEST_OUTBOUND_TOKEN,
    FixedTokenCredentialsFactory,
    OpenIdMetadataServer,
    auth_overrides,
    bearer,
    mint,
    new_key,
)
from tests.fake_connector import FakeConnector
from tests.teams_activities import person, personal, post_activity

APP_ID = "6f1c3a52-8d0e-4b7a-9c1e-2f3a4b5c6d7e"
ANNE = person("29:anne", "Anne")


@pytest.fixture
def metadata() -> Iterator[OpenIdMetadataServer]:
    with OpenIdMetadataServer() as server:
        yield server


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector(require_token=TEST_OUTBOUND_TOKEN) as fake:
        fake.add_user(ANNE["id"], ANNE["name"])
        yield fake


@pytest.fixture
async def url(engine: Engine, metadata: OpenIdMetadataServer) -> AsyncIterator[str]:
    framework = BotFramework(
        Credentials(app_id=APP_ID, password="secret", tenant_id="", app_type="MultiTenant"),
        auth_overrides=auth_overrides(metadata.metadata_url),
        credentials_factory=FixedTokenCredentialsFactory(APP_ID),
    )
    app = web.Application()
    app.router.add_routes(TeamsRoutes(TeamsBridge(engine, framework)).routes())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/api/messages"))
    finally:
        await server.close()


async def post(url: str, activity: dict[str, Any], headers: dict[str, str]) -> int:
    return await post_activity(url, activity, headers)


def hello(connector: FakeConnector) -> dict[str, Any]:
    conversation = connector.personal_conversation_id(ANNE["id"])
    return personal(connector.service_url, conversation, ANNE, "help")


async def test_a_valid_token_is_accepted_and_the_bot_answers_with_its_own(
    url: str, connector: FakeConnector
) -> None:
    activity = hello(connector)
    token = mint(APP_ID, connector.service_url)
    assert await post(url, activity, bearer(token)) in (200, 201)
    (reply,) = connector.posted(connector.personal_conversation_id(ANNE["id"]))
    assert reply.reply_to_id == activity["id"]
    sent = [c for c in connector.calls if c.kind == "reply_to_activity"]
    assert sent and all(c.token == TEST_OUTBOUND_TOKEN for c in sent)


def bad_tokens(service_url: str) -> dict[str, dict[str, str]]:
    return {
        "missing": {},
        "not a bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "malformed": bearer("not.a.jwt"),
        "wrong audience": bearer(mint("someone-else", service_url)),
        "wrong service url": bearer(mint(APP_ID, "https://smba.example.net/emea/")),
        "no service url": bearer(mint(APP_ID, None)),
        "unknown key id": bearer(mint(APP_ID, service_url, kid="nobody-knows-this-kid")),
        "wrong signing key": bearer(mint(APP_ID, service_url, key=new_key())),
        "expired": bearer(mint(APP_ID, service_url, expires_in=-3600)),
        "wrong issuer": bearer(mint(APP_ID, service_url, issuer="https://evil.example")),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not a bearer",
        "malformed",
        "wrong audience",
        "wrong service url",
        "no service url",
        "unknown key id",
        "wrong signing key",
        "expired",
        "wrong issuer",
    ],
)
async def test_a_bad_or_missing_token_is_401_and_changes_nothing(
    url: str, connector: FakeConnector, case: str
) -> None:
    headers = bad_tokens(connector.service_url)[case]
    assert await post(url, hello(connector), headers) == 401
    assert not connector.calls  # nothing answered, nothing fetched
