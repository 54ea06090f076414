"""Teams' blocking calls (signing keys, the outbound token, a hanging connector call) are made off
the event loop: a server whose database is away, or whose Microsoft endpoints hang, still
answers its other requests.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.teams.app import TeamsBridge
from adapters.teams.botframework import BotFramework, Credentials
from adapters.teams.routes import TeamsRoutes
from dialogs.engine import Engine
from storage import migrate
from storage.database import Database
from tests.bot_framework_tokens import (
    TEST_OUTBOUND_TOKEN,
    FixedTokenCredentials,
    FixedTokenCredentialsFactory,
    OpenIdMetadataServer,
    auth_overrides,
    bearer,
    mint,
)
from tests.fake_connector import FakeConnector
from tests.teams_activities import person, personal, post_activity

# --------------------------------------------------------------------------- Teams, off the loop
# botbuilder fetches the inbound signing keys and the outbound token with blocking calls: each
# is held here (a gate in another thread), and the server must answer another request
# meanwhile; then the gate opens and the held activity is answered as usual.
APP_ID = "0d6c1f0e-5b8a-4c41-9a57-outage000001"

ANNE = person("29:anne", "Anne")

PING_WITHIN = 5.0  # a failure guard, not a measure: a blocked loop never answers

# A held call gives up after this: then the loop was blocked (the test could not open the gate).
HOLD_LIMIT = 10.0


class Gate:
    """Opened by the test, from its event loop; `hold` blocks a thread until then."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.expired = False  # a hold gave up: nobody could open the gate in time

    def set(self) -> None:
        self.opened.set()

    def hold(self) -> None:
        if not self.opened.wait(HOLD_LIMIT):
            self.expired = True


class HeldTokenCredentials(FixedTokenCredentials):
    """Like MSAL asking Azure AD for a token: a blocking call, held until `gate` opens."""

    def __init__(self, app_id: str, oauth_scope: str | None, gate: Gate) -> None:
        super().__init__(app_id, TEST_OUTBOUND_TOKEN, oauth_scope)
        self.gate = gate
        self.asked = threading.Event()

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.asked.set()
        self.gate.hold()
        return super().get_access_token(force_refresh)


class HeldTokenFactory(FixedTokenCredentialsFactory):
    def __init__(self, app_id: str, gate: Gate) -> None:
        super().__init__(app_id)
        self.gate = gate
        self.asked = threading.Event()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        made = await super().create_credentials(
            app_id, oauth_scope, login_endpoint, validate_authority
        )
        if not isinstance(made, FixedTokenCredentials):
            return made
        held = HeldTokenCredentials(app_id, oauth_scope, self.gate)
        held.asked = self.asked
        return held


class HeldMetadataServer(OpenIdMetadataServer):
    """The OpenID metadata document, held until `gate` opens (served from its own thread)."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate
        self.asked = threading.Event()

    async def _metadata(self, request: web.Request) -> web.Response:
        self.asked.set()
        await asyncio.to_thread(self.gate.hold)
        return await super()._metadata(request)


async def teams_server(tmp_path: Path, framework: BotFramework) -> tuple[TestServer, Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'teams.db'}")
    await migrate.upgrade(database)
    app = web.Application()
    app.router.add_routes(TeamsRoutes(TeamsBridge(Engine(database), framework)).routes())

    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    app.router.add_get("/ping", ping)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, database


async def answered_while_held(
    server: TestServer,
    activity: dict[str, Any],
    headers: dict[str, str],
    held: threading.Event,
    gate: Gate,
) -> int:
    """POST `activity`; once the blocking call it needs is held, /ping must still answer;
    then the gate opens: the activity's status."""
    url = str(server.make_url("/api/messages"))
    posting = asyncio.ensure_future(post_activity(url, activity, headers))
    try:
        assert await asyncio.to_thread(held.wait, 30), "the blocking call never came"
        async with aiohttp.ClientSession() as http:
            timeout = aiohttp.ClientTimeout(total=PING_WITHIN)
            async with http.get(str(server.make_url("/ping")), timeout=timeout) as answer:
                assert answer.status == 200 and await answer.text() == "pong"
        assert not posting.done()  # the activity was still waiting for the held call
    finally:
        gate.set()
    status = await posting
    assert not gate.expired, "the event loop was blocked while the call was held"
    return status


async def test_teams_signing_keys_are_fetched_off_the_event_loop(tmp_path: Path) -> None:
    gate = Gate()
    metadata = HeldMetadataServer(gate)
    async with metadata, FakeConnector(require_token=TEST_OUTBOUND_TOKEN) as connector:
        connector.add_user(ANNE["id"], ANNE["name"])
        framework = BotFramework(
            Credentials(app_id=APP_ID, password="secret"),
            auth_overrides=auth_overrides(metadata.metadata_url),
            credentials_factory=FixedTokenCredentialsFactory(APP_ID),
        )
        server, database = await teams_server(tmp_path, framework)
        try:
            conversation = connector.personal_conversation_id(ANNE["id"])
            activity = personal(connector.service_url, conversation, ANNE, "help")
            token = bearer(mint(APP_ID, connector.service_url))
            status = await answered_while_held(server, activity, token, metadata.asked, gate)
            assert status in (200, 201)
            assert connector.posted(conversation)  # answered once the keys came
        finally:
            await server.close()
            await database.dispose()


async def test_teams_outbound_token_is_fetched_off_the_event_loop(tmp_path: Path) -> None:
    gate = Gate()
    factory = HeldTokenFactory(APP_ID, gate)
    async with (
        OpenIdMetadataServer() as metadata,
        FakeConnector(require_token=TEST_OUTBOUND_TOKEN) as connector,
    ):
        connector.add_user(ANNE["id"], ANNE["name"])
        framework = BotFramework(
            Credentials(app_id=APP_ID, password="secret"),
            auth_overrides=auth_overrides(metadata.metadata_url),
            credentials_factory=factory,
        )
        server, database = await teams_server(tmp_path, framework)
        try:
            conversation = connector.personal_conversation_id(ANNE["id"])
            activity = personal(connector.service_url, conversation, ANNE, "help")
            token = bearer(mint(APP_ID, connector.service_url))
            status = await answered_while_held(server, activity, token, factory.asked, gate)
            assert status in (200, 201)
            sent = [c for c in connector.calls if c.kind == "reply_to_activity"]
            assert sent and all(c.token == TEST_OUTBOUND_TOKEN for c in sent)
        finally:
            await server.close()
            await database.dispose()


async def test_a_hanging_connector_call_leaves_the_event_loop_free(tmp_path: Path) -> None:
    gate = Gate()
    held = threading.Event()
    connector = FakeConnector()
    serve = connector._serve

    async def slow(request: web.Request) -> web.Response:  # on the connector's own loop
        if request.method == "POST" and "/activities" in request.path:
            held.set()
            await asyncio.to_thread(gate.hold)
        return await serve(request)

    connector._serve = slow  # type: ignore[method-assign]
    async with connector:
        connector.add_user(ANNE["id"], ANNE["name"])
        server, database = await teams_server(tmp_path, BotFramework(Credentials()))
        try:
            conversation = connector.personal_conversation_id(ANNE["id"])
            activity = personal(connector.service_url, conversation, ANNE, "help")
            status = await answered_while_held(server, activity, {}, held, gate)
            assert status in (200, 201)
            assert connector.posted(conversation)
        finally:
            await server.close()
            await database.dispose()
