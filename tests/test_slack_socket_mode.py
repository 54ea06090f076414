"""`passerelle serve` in Socket Mode (SLACK_APP_TOKEN): the real `bot.cli.main` wiring, Bolt's
`AsyncSocketModeHandler` and slack_sdk's aiohttp `SocketModeClient`, against the FakeSlack,
which answers `apps.connections.open` with a ws:// URL on 127.0.0.1 and pushes envelopes over
that WebSocket the way Slack does (envelope_id, type, payload, accepts_response_payload)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.app import SlackBridge
from adapters.slack.platform import SLACK
from bot import cli
from storage import teams
from storage.database import Database
from tests.fake_slack import FakeSlack
from tests.slack_signing import TEAM_ID, slash_command, view_submission

CHANNEL = "C0SOCKET"
COORDINATOR = "U0COORD"
MEMBER = "U0ANNE"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(COORDINATOR, "coord", tz="America/Toronto", locale="en-US")
        fake.add_user(MEMBER, tz="America/Toronto", locale="fr-CA")
        fake.add_channel(CHANNEL, "partenariat", members=[COORDINATOR, MEMBER])
        yield fake


@pytest.fixture
async def served(
    slack: FakeSlack, database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> AsyncIterator[web.Application]:
    """`passerelle serve` as `bot.cli.main` builds it, started on 127.0.0.1."""
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    env = {
        **slack.env(),
        "SLACK_APP_TOKEN": slack.app_token,
        "PASSERELLE_DATABASE_URL": database.url,
        # With Slack configured, serve refuses to start without a sealing key (bot/keys.py).
        "PASSERELLE_SECRET_KEY": "socket-mode-test-sealing-secret-0123456789",
        "PASSERELLE_SCHEDULER": "false",
        "PASSERELLE_SANDBOX": "false",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    built: list[web.Application] = []
    monkeypatch.setattr(web, "run_app", lambda app, **_: built.append(app))  # cli.main serves
    assert cli.main(["serve"]) == 0
    (app,) = built
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()  # start-up: the Socket Mode connection is opened
    try:
        yield app
    finally:
        await server.close()


def command_payload(text: str, user: str, channel: str) -> dict[str, str]:
    """A slash command as Socket Mode carries it: the HTTP form's fields, as JSON."""
    return dict(parse_qsl(slash_command(text, user, channel).decode()))


def initial_values(view: dict[str, Any]) -> dict[str, str]:
    """What submitting the modal untouched sends: each input's initial value."""
    found = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if "initial_value" in element:
            found[element["action_id"]] = element["initial_value"]
        elif "initial_option" in element:
            found[element["action_id"]] = element["initial_option"]["value"]
    return found


async def test_serve_opens_a_socket_and_acts_on_what_slack_pushes(
    served: web.Application, slack: FakeSlack, database: Database
) -> None:
    bridge: SlackBridge = served[SLACK]
    await slack.socket_connected()
    (opened,) = slack.calls_to("apps.connections.open")
    assert opened.ok and opened.token == slack.app_token  # the xapp- token, not the bot's
    assert opened.response["url"].startswith("ws://127.0.0.1:")

    # A slash command: acked on the socket, then the engine answers with the setup modal.
    envelope = await slack.push("slash_commands", command_payload("setup", COORDINATOR, CHANNEL))
    ack = await slack.socket_ack(envelope)
    assert ack == {"envelope_id": envelope}  # an empty ack: nothing to show yet
    await bridge.settle()
    (views_open,) = slack.calls_to("views.open")
    assert views_open.ok, views_open.response
    form = slack.last_view
    assert form["callback_id"] == "passerelle_form"

    # The modal submitted: acked at once with the "recording" view, then recorded.
    answers = {**initial_values(form), "name": "Partenariat Socket"}
    payload = view_submission(form, answers, user_id=COORDINATOR)
    envelope = await slack.push("interactive", payload)
    ack = await slack.socket_ack(envelope)
    assert ack["payload"]["response_action"] == "update"
    assert ack["payload"]["view"]["callback_id"] == RECORDING_CALLBACK_ID
    slack.answer_submission(payload["view"], ack["payload"])
    await bridge.settle()
    async with database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None  # the engine linked the channel to a new team
        members = await teams.active_members(session, channel.team_id)
    assert {m.user_ref for m in members} == {COORDINATOR, MEMBER}  # onboarded
    done = slack.views[form["id"]]
    assert "Partenariat Socket" in json.dumps(done, ensure_ascii=False)

    # An Events API envelope: a member leaving the channel leaves the team.
    event = {
        "token": "x",
        "team_id": TEAM_ID,
        "api_app_id": slack.app_id,
        "type": "event_callback",
        "event_id": "Ev0SOCKET1",
        "event_time": 1700000000,
        "event": {
            "type": "member_left_channel",
            "user": MEMBER,
            "channel": CHANNEL,
            "channel_type": "C",
            "team": TEAM_ID,
        },
    }
    envelope = await slack.push("events_api", event)
    assert await slack.socket_ack(envelope) == {"envelope_id": envelope}
    await bridge.settle()
    async with database.session() as session:
        members = await teams.active_members(session, channel.team_id)
    assert {m.user_ref for m in members} == {COORDINATOR}


async def test_only_the_app_level_token_gets_a_socket(slack: FakeSlack) -> None:
    client = slack.client()
    with pytest.raises(SlackApiError) as refused:
        await client.apps_connections_open(app_token=slack.bot_token)
    assert refused.value.response["error"] == "invalid_auth"
    answer = await client.apps_connections_open(app_token=slack.app_token)
    assert str(answer["url"]).startswith("ws://127.0.0.1:")
