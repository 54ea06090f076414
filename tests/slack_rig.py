"""Our server with its Slack bridge, before a fake Slack with a coordinator, five people and a
channel: the ``rig`` and ``slack`` fixtures of the Slack end-to-end tests and the steps they
share (setup, onboarding, opening a form, holding the engine).

A module that wants the fixtures imports ``rig_fixture`` and ``slack_fixture`` (pytest finds
them by their ``name``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.app import SlackBridge
from adapters.slack.platform import SLACK
from bot.outbox_worker import OutboxWorker
from bot.server import WORKER, build_app
from bot.settings import Settings
from dialogs.engine import Engine
from storage import intake, teams
from tests.engine_doors import held
from tests.fake_slack import FakeSlack
from tests.slack_signing import (
    TEAM_ID,
    Reply,
    action,
    block_actions,
    event_callback,
    interaction,
    post_signed,
    slash_command,
    view_submission,
)

CHANNEL = "C0PARTNER"

COORDINATOR = "U0COORD"

PEOPLE = {
    "U0ANNE": ("America/Toronto", "fr-CA"),
    "U0BEN": ("America/Winnipeg", "en-US"),
    "U0CLEO": ("Europe/Paris", "fr-FR"),
    "U0DAVE": ("America/Halifax", "en-GB"),
    "U0EVA": ("America/Toronto", "en-US"),
}


@dataclass
class Rig:
    slack: FakeSlack
    server: TestServer
    engine: Engine
    bridge: SlackBridge
    worker: OutboxWorker

    @property
    def url(self) -> str:
        return str(self.server.make_url("/slack/events"))

    async def post(self, body: bytes, **options: Any) -> Reply:
        reply = await post_signed(self.url, body, self.slack.signing_secret, **options)
        await self.bridge.settle()
        return reply

    async def command(self, user: str, text: str, channel: str = CHANNEL) -> Reply:
        return await self.post(slash_command(text, user, channel))

    async def event(self, event: dict[str, Any], **options: Any) -> Reply:
        return await self.post(event_callback(event), **options)

    async def submit(
        self, view: dict[str, Any], user: str, *, strict: bool = True, **answers: Any
    ) -> Reply:
        """Submit the modal as Slack does: the ack's answer is applied to the modal (as
        Slack applies it) before the work after the ack is awaited."""
        filled = {**defaults(view), **answers}
        payload = view_submission(view, filled, user_id=user, strict=strict)
        reply = await post_signed(self.url, interaction(payload), self.slack.signing_secret)
        self.slack.answer_submission(payload["view"], reply.json() if reply.text else None)
        await self.bridge.settle()
        return reply

    async def click(self, user: str, message: Any, action_id: str) -> Reply:
        payload = block_actions(
            [action(message.blocks, action_id)],
            user_id=user,
            channel_id=message.channel,
            message=message.to_dict(),
        )
        return await self.post(interaction(payload))

    async def deliver(self) -> int:
        return await self.worker.drain()


def defaults(view: dict[str, Any]) -> dict[str, Any]:
    """What a person submitting the modal untouched sends: each input's initial value."""
    found: dict[str, Any] = {}
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if block.get("type") != "input":
            continue
        for key in ("initial_value", "initial_date", "initial_time"):  # text, number, pickers
            if key in element:
                found[element["action_id"]] = element[key]
        if "initial_option" in element:
            found[element["action_id"]] = element["initial_option"]["value"]
    return found


def acked_at_once(reply: Reply) -> dict[str, Any]:
    """A submission's ack: the neutral "recording" view in the modal, nothing else."""
    assert reply.status == 200, reply.text
    answer = reply.json()
    assert answer["response_action"] == "update", answer
    assert answer["view"]["callback_id"] == RECORDING_CALLBACK_ID
    assert answer["view"]["notify_on_close"] is True
    assert "submit" not in answer["view"]
    return dict(answer["view"])


def shown(slack: FakeSlack, view: dict[str, Any]) -> dict[str, Any]:
    """What the modal `view` (as opened) shows now."""
    return slack.views[view["id"]]


def settings(slack: FakeSlack, *, oauth: bool = False) -> Settings:
    env: dict[str, Any] = {"PASSERELLE_SCHEDULER": False, **slack.env(oauth=oauth)}
    return Settings(**env)


def add_people(fake: FakeSlack) -> None:
    """The coordinator and PEOPLE as Slack users, with their zones and locales."""
    fake.add_user(COORDINATOR, "coord", tz="America/Toronto", locale="fr-CA")
    for user, (tz, locale) in PEOPLE.items():
        fake.add_user(user, tz=tz, locale=locale)


@pytest.fixture(name="slack")
async def slack_fixture() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        add_people(fake)
        fake.add_user("U0OTHERBOT", "otherbot", is_bot=True, bot_id="B0OTHER")
        fake.add_channel(CHANNEL, "partenariat", members=[COORDINATOR, *PEOPLE, "U0OTHERBOT"])
        yield fake


async def rig_for(engine: Engine, slack: FakeSlack, *, oauth: bool = False) -> Rig:
    app = build_app(settings(slack, oauth=oauth), engine.database, engine)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Rig(slack, server, engine, app[SLACK], app[WORKER])


@pytest.fixture(name="rig")
async def rig_fixture(engine: Engine, slack: FakeSlack) -> AsyncIterator[Rig]:
    rig = await rig_for(engine, slack)
    try:
        yield rig
    finally:
        await rig.server.close()


def texts(message: Any) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


async def set_up(rig: Rig) -> dict[str, Any]:
    """`/passerelle setup` in the channel, the modal submitted: the team exists."""
    reply = await rig.command(COORDINATOR, "setup")
    assert reply.status == 200
    (opened,) = rig.slack.calls_to("views.open")
    assert opened.ok, opened.response
    view = rig.slack.last_view
    reply = await rig.submit(view, COORDINATOR, name="Partenariat Est")
    acked_at_once(reply)
    done = shown(rig.slack, view)  # the engine's reply replaced the "recording" view
    assert done["callback_id"] != RECORDING_CALLBACK_ID and "submit" not in done
    assert "Partenariat Est" in json.dumps(done, ensure_ascii=False)
    return view


PROFILES = {
    COORDINATOR: ("public", "coordinator"),
    "U0ANNE": ("community", "front_line"),
    "U0BEN": ("public", "manager"),
    "U0CLEO": ("community", "manager"),
    "U0DAVE": ("other", "front_line"),
    "U0EVA": ("public", "front_line"),
}


def last_with_button(slack: FakeSlack, user: str, action_id: str = "open_form") -> Any:
    for message in reversed(slack.messages_to(user)):
        if action_id in json.dumps(message.blocks):
            return message
    raise AssertionError(f"no message to {user} with {action_id}")


async def open_form(rig: Rig, user: str) -> dict[str, Any]:
    """Click "open the form" on the person's latest form message: its modal."""
    before = len(rig.slack.calls_to("views.open"))
    reply = await rig.click(user, last_with_button(rig.slack, user), "open_form")
    assert reply.status == 200
    return opened_view(rig.slack, before)


def opened_view(slack: FakeSlack, before: int) -> dict[str, Any]:
    """The modal the one views.open since `before` opened, as it is now. Not `last_view`:
    another process may meanwhile update someone else's modal (its recorded answer)."""
    opened = slack.calls_to("views.open")
    assert len(opened) == before + 1 and opened[-1].ok, opened[-1].response
    return slack.views[opened[-1].response["view"]["id"]]


async def onboarded(rig: Rig) -> None:
    await set_up(rig)
    await rig.deliver()
    for user, (sector, position) in PROFILES.items():
        if user != COORDINATOR:
            view = await open_form(rig, user)
        else:  # the coordinator sets their profile with the command
            before = len(rig.slack.calls_to("views.open"))
            await rig.command(user, "profile", channel=rig.slack.dm_id(user))
            view = opened_view(rig.slack, before)
        reply = await rig.submit(view, user, sector=sector, position=position)
        acked_at_once(reply)


async def team_slug(rig: Rig) -> str:
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        team = await teams.team_by_id(session, channel.team_id)
        assert team is not None
        return team.slug


def scales(view: dict[str, Any]) -> list[str]:
    return [
        b["element"]["action_id"]
        for b in view["blocks"]
        if b.get("type") == "input"
        and b["element"]["type"] == "radio_buttons"
        and any(o["value"] == "skip" for o in b["element"].get("options", []))
    ]


# ------------------------------------------------------------------ reliability
async def linked(rig: Rig) -> bool:
    async with rig.engine.database.session() as session:
        return await teams.channel_at(session, "slack", TEAM_ID, CHANNEL) is not None


async def in_intake(engine: Engine) -> int:
    async with engine.database.session() as session:
        return await intake.count(session)


async def submit_held(rig: Rig, view: dict[str, Any], user: str, **answers: Any) -> Any:
    """Submit while the engine is held; returns (the ack, release)."""
    started, release = held(rig.engine)
    payload = view_submission(view, {**defaults(view), **answers}, user_id=user)
    reply = await asyncio.wait_for(post_signed(rig.url, interaction(payload)), timeout=60)
    rig.slack.answer_submission(payload["view"], reply.json())
    await asyncio.wait_for(started.wait(), timeout=60)
    return reply, release
