"""What the endpoint fuzzer (tests/fuzz, bench/fuzz_endpoints.py) found, one case each: hostile
input gets a clear 400 (or the answer the platform expects), never a 5xx, a traceback or an
ERROR line.

- Slack: payloads of a shape Bolt's own middleware raises on (an event that is not an object,
  an interaction without a type, an action without its id, a view that is null...), ids that
  are not Slack ids (lone surrogates, 20,000 characters); a slash command whose text says
  "payload" (Bolt reads it as an empty body) is still answered.
- Teams: invokes answered 200 (botbuilder's default is 501); ids longer than their columns,
  lone surrogates and non-ASCII service URLs refused; a connector refusing an answer is one
  warning line.
- Sandbox: forms aiohttp cannot read (not UTF-8, broken multipart) are a 400 page.
- aiohttp's own 400 for a URL over 8 KB is one warning line, not an ERROR with a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack import envelope, events
from adapters.teams.activities import malformed
from bot import logs
from bot.demo import seed
from bot.server import build_app
from bot.settings import Settings
from dialogs.engine import Engine
from dialogs.i18n import t
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.slack_signing import (
    TEAM_ID,
    event_callback,
    interaction,
    member_joined_channel,
    post_signed,
    slash_command,
)
from tests.teams_activities import TENANT, person, personal, post_activity

CHANNEL, USER = "C0PARTNER", "U0ANNE"
SURROGATE = "\ud800"


def ok_event() -> dict[str, Any]:
    return json.loads(event_callback(member_joined_channel(USER, CHANNEL)))


def block_action(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": USER, "team_id": TEAM_ID},
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "passerelle:help:0", "block_id": "b", "type": "button"}],
    }
    return {**payload, **changes}


# --------------------------------------------------------------------------- Slack, pure
@pytest.mark.parametrize(
    ("body", "interactive"),
    [
        ({**ok_event(), "event": [1, 2]}, False),
        ({**ok_event(), "event": "member_joined_channel"}, False),
        ({**ok_event(), "event": 7}, False),
        ({**ok_event(), "event": None}, False),
        ({**ok_event(), "event": {"user": USER}}, False),  # an event without its type
        ({**ok_event(), "event": {"type": "app_home_opened", "tab": "home"}}, False),  # no user
        ({**ok_event(), "event": {"type": "member_joined_channel", "user": USER}}, False),
        ({**ok_event(), "authorizations": 3}, False),
        ({**ok_event(), "authorizations": ["x"]}, False),
        ({**ok_event(), "team_id": "T" + "0" * 20_000}, False),
        ({**ok_event(), "team_id": "T0" + SURROGATE}, False),
        ({**ok_event(), "event": {**ok_event()["event"], "user": "u" + SURROGATE}}, False),
        ({"trigger_id": "1.2", "user": {"id": USER}}, True),  # an interaction without a type
        (block_action(actions=["passerelle:help:0"]), True),
        (block_action(actions=[{"block_id": "b"}]), True),
        (block_action(actions=[]), True),
        (block_action(team=5), True),
        (block_action(team={"id": ["T0"]}), True),
        (block_action(channel="C0PARTNER"), True),
        (block_action(user={"id": "U" * 5000}), True),
        (block_action(trigger_id=None), True),
        ({"type": "view_submission", "view": None, "user": {"id": USER}}, True),
        ({"type": "view_closed", "view": 5, "user": {"id": USER}}, True),
        ({"type": "view_submission", "view": {"callback_id": "x"}, "user": {"id": USER}}, True),
        ({"type": "view_submission", "view": {"type": "modal", "state": []}}, True),
        ({"type": "block_actions", "text": "a" + SURROGATE}, True),
        ({"command": "/passerelle", "user_id": USER}, False),  # no team
        ([1, 2], True),
        (None, False),
    ],
)
def test_shapes_bolt_would_raise_on_are_refused(body: Any, interactive: bool) -> None:
    assert envelope.problem(body, interactive=interactive) is not None


def test_what_slack_sends_passes() -> None:
    assert envelope.problem(ok_event(), interactive=False) is None
    assert envelope.problem(block_action(), interactive=True) is None
    command = dict(
        pair.split("=", 1)
        for pair in slash_command("aide", USER, CHANNEL).decode().split("&")  # no escapes
        if "%" not in pair
    )
    assert envelope.problem(command, interactive=False) is None


def test_event_identity_takes_what_a_request_carries() -> None:
    assert events.event_identity({"event_id": "Ev" + SURROGATE}) == "event:Ev\\ud800"
    assert events.event_identity({"event_id": ["Ev1"]}) is None
    assert events.event_identity({"type": "view_submission", "view": 5}) is None
    assert events.event_identity({"type": "view_submission", "view": None}) is None
    view = {"id": "V" + SURROGATE, "hash": "h", "state": {"values": {"b": SURROGATE}}}
    identity = events.event_identity({"type": "view_submission", "view": view})
    assert identity is not None and identity.startswith("view:V\\ud800:h:")
    identity.encode("utf-8")  # always text that encodes


# --------------------------------------------------------------------------- Slack, HTTP
@pytest.fixture
async def slack_url(engine: Engine) -> AsyncIterator[tuple[str, FakeSlack]]:
    async with FakeSlack() as fake:
        fake.add_user(USER, "anne")
        fake.add_channel(CHANNEL, "partenariat", members=[USER])
        env: dict[str, Any] = {"PASSERELLE_SCHEDULER": False, **fake.env()}
        app = build_app(Settings(**env), engine.database, engine)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("/slack/events")), fake
        finally:
            await server.close()


async def test_slack_refuses_bad_shapes_with_400_and_no_error(
    slack_url: tuple[str, FakeSlack], caplog: pytest.LogCaptureFixture
) -> None:
    url, fake = slack_url
    bodies = [
        json.dumps({**ok_event(), "event": [1]}).encode(),
        json.dumps({**ok_event(), "event": None}).encode(),
        interaction({"trigger_id": "1.2", "user": {"id": USER}}),
        interaction(block_action(actions=[7])),
        interaction(block_action(authorizations={"team_id": TEAM_ID})),
        interaction({"type": "view_submission", "view": None, "user": {"id": USER}}),
        interaction({"type": "view_closed", "view": 3, "user": {"id": USER}}),
        slash_command("aide", "U" + "0" * 10_000, CHANNEL),
        json.dumps({**ok_event(), "team_id": "T0" + SURROGATE}).encode(),
        b"payload=null",
        b"payload=%5B1%2C2%5D",
    ]
    with caplog.at_level(logging.WARNING):
        for body in bodies:
            reply = await post_signed(url, body, fake.signing_secret)
            assert reply.status == 400, (body[:80], reply.text)
            assert "malformed" in reply.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not [c for c in fake.calls if c.method == "users.info"]


async def test_a_slash_command_that_says_payload_is_answered(
    slack_url: tuple[str, FakeSlack],
) -> None:
    url, fake = slack_url
    reply = await post_signed(url, slash_command("payload", USER, CHANNEL), fake.signing_secret)
    assert reply.status == 200, reply.text


# --------------------------------------------------------------------------- Teams
def message(**changes: Any) -> dict[str, Any]:
    activity = personal("http://127.0.0.1:1/", "a:conv", person("29:anne", "Anne"), "aide")
    return {**activity, **changes}


@pytest.mark.parametrize(
    "activity",
    [
        message(id="x" * 201),
        message(replyToId="y" * 5000),
        message(conversation={"id": "c" * 201}),
        message(conversation={"id": "a:conv", "tenantId": "t" * 65}),
        message(conversation={}),
        message(**{"from": {"id": "29:" + SURROGATE}}),
        message(text="bonjour " + SURROGATE),
        message(serviceUrl="http://127.0.0.1:1/" + "x" * 500),
        message(serviceUrl="http://127.0.0.1:1/café"),
        message(channelData={"tenant": {"id": TENANT}, "team": {"id": "19:" + "t" * 300}}),
        message(membersAdded=[{"id": "m" * 300}]),
    ],
)
def test_teams_ids_that_do_not_fit_are_refused(activity: dict[str, Any]) -> None:
    assert malformed(activity) is not None


def test_a_real_teams_message_passes() -> None:
    assert malformed(message()) is None


@pytest.fixture
async def teams_url(engine: Engine) -> AsyncIterator[tuple[str, FakeConnector]]:
    async with FakeConnector() as connector:
        connector.add_user("29:anne", "Anne")
        settings = Settings(PASSERELLE_SCHEDULER=False)
        server = TestServer(build_app(settings, engine.database, engine), host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("/api/messages")), connector
        finally:
            await server.close()


async def test_teams_invokes_are_answered_200(
    teams_url: tuple[str, FakeConnector], caplog: pytest.LogCaptureFixture
) -> None:
    url, connector = teams_url
    conversation = connector.personal_conversation_id("29:anne", TENANT)
    for name in ("adaptiveCard/action", "task/fetch", "composeExtension/query", None):
        activity = personal(connector.service_url, conversation, person("29:anne", "Anne"))
        activity.update(type="invoke", name=name, value={"action": {"type": "Action.Execute"}})
        with caplog.at_level(logging.WARNING):
            assert await post_activity(url, activity) == 200
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_teams_refusals_are_400_and_connector_refusals_one_warning(
    teams_url: tuple[str, FakeConnector], caplog: pytest.LogCaptureFixture
) -> None:
    url, connector = teams_url
    anne = person("29:anne", "Anne")
    too_long = personal(connector.service_url, "c" * 300, anne, "aide")
    assert await post_activity(url, too_long) == 400
    surrogate = personal(connector.service_url, "a:conv", anne, "aide " + SURROGATE)
    body = json.dumps(surrogate).encode()  # json.dumps escapes it: "\ud800"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": "application/json"}) as answer,
    ):
        assert answer.status == 400
    # A conversation the connector does not know: the answer is refused (404).
    unknown = personal(connector.service_url, "a:nobody-knows-it", anne, "aide")
    with caplog.at_level(logging.WARNING):
        assert await post_activity(url, unknown) in (200, 201)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == []
    assert any("refused by the connector" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- sandbox
@pytest.fixture
async def sandbox(engine: Engine) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    assert await seed(engine)
    settings = Settings(PASSERELLE_SCHEDULER=False)
    app = build_app(settings, engine.database, engine)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.mark.parametrize("path", ["/sandbox/command", "/sandbox/submit", "/sandbox/run"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"as=emilie&text=%FF%FE\xff"),
        ("application/x-www-form-urlencoded", "as=émilie".encode("latin-1")),
        ("multipart/form-data; boundary=" + "b" * 80, b"--" + b"b" * 80 + b"\r\n"),
        ("multipart/form-data", b"--x\r\n\r\nvalue\r\n--x--\r\n"),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--x--\r\n",
        ),
        ("multipart/form-data; boundary=x", b"no starting boundary\r\n"),
    ],
)
async def test_sandbox_forms_it_cannot_read_are_a_400_page(
    sandbox: TestClient[web.Request, web.Application], path: str, content_type: str, body: bytes
) -> None:
    answer = await sandbox.post(path, data=body, headers={"Content-Type": content_type})
    assert answer.status == 400
    assert t("fr", "sandbox.error_unreadable_form").split(" (")[0] in await answer.text()


# --------------------------------------------------------------------------- aiohttp
async def test_a_url_over_8_kb_is_one_warning_line(
    sandbox: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    server = logging.getLogger(logs.AIOHTTP_SERVER)
    added = logs.ClientHttpErrors()
    server.addFilter(added)
    try:
        with caplog.at_level(logging.WARNING):
            answer = await sandbox.get("/sandbox?" + urlencode({"as": "x" * 9000}))
            assert answer.status == 400
    finally:
        server.removeFilter(added)
    records = [r for r in caplog.records if r.name == logs.AIOHTTP_SERVER]
    assert records and all(r.levelno == logging.WARNING and not r.exc_info for r in records)
    assert "LineTooLong" in records[0].getMessage()
