"""Slack end to end: the real Bolt app in our aiohttp server, the real AsyncWebClient, a fake
Slack Web API (tests/fake_slack.py) and requests signed exactly as Slack signs them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from adapters.intake import IntakeUnavailable
from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.app import SlackBridge
from adapters.slack.block_values import decode_form_reference
from adapters.slack.forms import DRAFT, FormCards
from adapters.slack.platform import SLACK
from bot.outbox_worker import OutboxWorker
from bot.server import WORKER, build_app
from bot.settings import Settings
from dialogs.cards import Paragraph
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.events import Actor, FormSubmitted
from dialogs.i18n import Tr
from storage import intake, outbox, teams
from storage.coordination import Mark
from storage.models import Intake, SuspendedWorkspace
from tests.fake_slack import FakeSlack
from tests.faults import commit_fails, database_away
from tests.slack_signing import (
    TEAM_ID,
    Reply,
    action,
    app_home_opened,
    block_actions,
    event_callback,
    interaction,
    member_joined_channel,
    new_event_id,
    post_signed,
    slash_command,
    view_closed,
    view_submission,
)
from tests.test_summary_readers import trust_declared_positions

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
        if "initial_value" in element:
            found[element["action_id"]] = element["initial_value"]
        elif "initial_option" in element:
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


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
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


@pytest.fixture
async def rig(engine: Engine, slack: FakeSlack) -> AsyncIterator[Rig]:
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


# ------------------------------------------------------------------ the journey
async def test_setup_links_the_channel_and_onboards_its_members(rig: Rig) -> None:
    await set_up(rig)
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        members = await teams.active_members(session, channel.team_id)
    by_ref = {m.user_ref: m for m in members}
    assert set(by_ref) == {COORDINATOR, *PEOPLE}  # no bot
    assert by_ref[COORDINATOR].is_coordinator
    assert by_ref["U0CLEO"].timezone == "Europe/Paris"
    assert by_ref["U0BEN"].language == "en" and by_ref["U0CLEO"].language == "fr"
    await rig.deliver()
    for user in PEOPLE:
        assert rig.slack.messages_to(user), user  # the welcome, with the profile form


async def test_a_channel_linked_by_code_onboards_its_members(rig: Rig) -> None:
    """`/passerelle setup CODE` in a second channel: its members join the team and are
    welcomed, as after a setup (a linked channel's people are not left out)."""
    await set_up(rig)
    rig.slack.add_user("U0FAY", "fay", tz="America/Toronto", locale="fr-CA")
    rig.slack.add_channel("C0SECOND", "deuxieme", members=[COORDINATOR, "U0FAY", "U0OTHERBOT"])
    slug = await team_slug(rig)
    coordinator = Actor("slack", TEAM_ID, COORDINATOR)
    (card,) = await rig.engine.handle(FormSubmitted(coordinator, "setup.link_code", {"team": slug}))
    [code] = [b.text for b in card.blocks if isinstance(b, Paragraph) and b.text.count("-") == 2]
    reply = await rig.command(COORDINATOR, f"setup {code}", channel="C0SECOND")
    assert reply.status == 200
    async with rig.engine.database.session() as session:
        linked = await teams.channel_at(session, "slack", TEAM_ID, "C0SECOND")
        assert linked is not None
        members = {m.user_ref for m in await teams.active_members(session, linked.team_id)}
    assert "U0FAY" in members and "U0OTHERBOT" not in members
    await rig.deliver()
    assert rig.slack.messages_to("U0FAY")  # the welcome, with the profile form


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
    opened = rig.slack.calls_to("views.open")
    assert len(opened) == before + 1 and opened[-1].ok, opened[-1].response
    return rig.slack.last_view


async def onboarded(rig: Rig) -> None:
    await set_up(rig)
    await rig.deliver()
    for user, (sector, position) in PROFILES.items():
        if user != COORDINATOR:
            view = await open_form(rig, user)
        else:  # the coordinator sets their profile with the command
            await rig.command(user, "profile", channel=rig.slack.dm_id(user))
            view = rig.slack.last_view
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


async def test_checkin_answered_in_the_modal_then_summary_with_chart(rig: Rig) -> None:
    await onboarded(rig)
    slug = await team_slug(rig)
    result = await rig.engine.jobs.run("checkin", slug)
    assert result.count == len(PROFILES)
    await rig.deliver()
    for n, user in enumerate(PROFILES):
        view = await open_form(rig, user)
        answers = {name: str((n + i) % 5 + 1) for i, name in enumerate(scales(view))}
        reply = await rig.submit(view, user, **answers)
        acked_at_once(reply)
        thanks = shown(rig.slack, view)  # the thanks, in the modal (not kept in the DMs)
        assert "submit" not in thanks and thanks["callback_id"] != RECORDING_CALLBACK_ID
        assert thanks["title"]["text"] in ("Merci!", "Thank you!"), thanks["title"]
    # The same modal submitted twice (a double click): recorded once.
    twice = await rig.submit(view, user, **answers)
    assert twice.status == 200
    await trust_declared_positions(rig.engine.database)  # managers declared themselves
    await rig.engine.jobs.run("close", slug)
    await rig.deliver()
    managers = ["U0BEN", "U0CLEO"]
    for user in managers:
        *_, summary, chart = rig.slack.messages_to(user)
        assert "6" in texts(summary), texts(summary)
        assert chart.files and not chart.blocks
    uploads = rig.slack.calls_to("files.completeUploadExternal")
    assert uploads and all(c.ok for c in uploads)
    charts = list(rig.slack.files.values())
    assert charts and all(f.completed and f.alt_txt and f.content for f in charts)
    assert all(f.content.startswith(b"\x89PNG") for f in charts if f.content)
    async with rig.engine.database.session() as session:
        (round_,) = await rounds.rounds_of(session, 1)
        assert (round_.asked_count, round_.answered_count) == (6, 6)


SMUGGLED = "Les décisions <!channel> arrivent sans nous <@U0BEN> *fort* <https://x.io|ici>"


async def test_tension_preview_confirm_then_published_in_the_batch(rig: Rig) -> None:
    await onboarded(rig)
    slug = await team_slug(rig)
    await rig.command("U0ANNE", "tension")
    form = rig.slack.last_view
    reply = await rig.submit(form, "U0ANNE", text=SMUGGLED, theme="decisions")
    acked_at_once(reply)
    preview = shown(rig.slack, form)  # the preview replaces the form
    assert "passerelle:tension.confirm:" in json.dumps(preview)
    confirm = block_actions(
        [action(preview["blocks"], next_confirm(preview))],
        user_id="U0ANNE",
        view=preview,
    )
    reply = await rig.post(interaction(confirm))
    assert reply.status == 200
    *_, preview_shown, confirmed = rig.slack.calls_to("views.update")
    assert preview_shown.params["view_id"] == confirmed.params["view_id"] == form["id"]
    assert preview_shown.ok and confirmed.ok, confirmed.response
    assert "passerelle:tension.confirm:" not in json.dumps(shown(rig.slack, form))
    await rig.deliver()
    assert not rig.slack.messages_in(CHANNEL)  # never at the moment of writing
    await rig.engine.jobs.run("batch", slug)
    await rig.deliver()
    (posted,) = rig.slack.messages_in(CHANNEL)
    body = texts(posted)
    assert "arrivent sans nous" in body
    for markup in ("<!channel>", "<@U0BEN>", "<https://", "*fort*"):
        assert markup not in body, markup


async def test_a_button_that_submits_is_committed_before_its_ack(rig: Rig) -> None:
    """Confirming a tension is a submission: in the intake before the ack, then recorded."""
    await onboarded(rig)
    await rig.command("U0ANNE", "tension")
    form = rig.slack.last_view
    acked_at_once(await rig.submit(form, "U0ANNE", text="Trop de réunions.", theme="decisions"))
    preview = shown(rig.slack, form)
    started, release = held(rig.engine)
    confirm = block_actions(
        [action(preview["blocks"], next_confirm(preview))], user_id="U0ANNE", view=preview
    )
    reply = await asyncio.wait_for(post_signed(rig.url, interaction(confirm)), timeout=60)
    assert reply.status == 200
    await asyncio.wait_for(started.wait(), timeout=60)
    assert await in_intake(rig.engine) == 1  # committed before the ack
    assert "passerelle:tension.confirm:" in json.dumps(shown(rig.slack, form))
    release.set()
    await rig.bridge.settle()
    assert await in_intake(rig.engine) == 0
    assert "passerelle:tension.confirm:" not in json.dumps(shown(rig.slack, form))


def next_confirm(view: dict[str, Any]) -> str:
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id", "").startswith("passerelle:tension.confirm:"):
                return str(element["action_id"])
    raise AssertionError("no confirm button")


async def test_success_and_reflexive_prompt_posted_in_the_channel(rig: Rig) -> None:
    await onboarded(rig)
    slug = await team_slug(rig)
    await rig.command("U0DAVE", "success")
    reply = await rig.submit(
        rig.slack.last_view, "U0DAVE", text="Access unblocked @here", consent="named"
    )
    acked_at_once(reply)
    await rig.deliver()
    await rig.engine.jobs.run("batch", slug)
    await rig.deliver()
    channel = " ".join(texts(m) for m in rig.slack.messages_in(CHANNEL))
    assert "Access unblocked" in channel and "@here" not in channel
    await rig.command(COORDINATOR, "reflexive")
    view = rig.slack.last_view
    reply = await rig.submit(
        view, COORDINATOR, prompt="X1", date="2026-12-03", time="13:30", lead="24"
    )
    acked_at_once(reply)
    await rig.engine.jobs.run("reflexive-invite", slug)
    await rig.deliver()
    invite = await open_form(rig, "U0EVA")
    reply = await rig.submit(invite, "U0EVA", text="We never talk about funding.")
    assert reply.status == 200
    await rig.engine.jobs.run("reflexive", slug)
    await rig.deliver()
    channel = " ".join(texts(m) for m in rig.slack.messages_in(CHANNEL))
    assert "We never talk about funding." in channel


# ------------------------------------------------------------------ reliability
def counting(engine: Engine, delay: float = 0.0) -> list[Any]:
    """Record (and optionally slow down) every event the engine handles."""
    seen: list[Any] = []
    handle = engine.handle

    async def counted(event: Any, **options: Any) -> Any:
        seen.append(event)
        if delay:
            await asyncio.sleep(delay)
        return await handle(event, **options)

    engine.handle = counted  # type: ignore[method-assign]
    return seen


def held(engine: Engine) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold every event at the engine's door: (started, release)."""
    started, release = asyncio.Event(), asyncio.Event()
    handle = engine.handle

    async def waiting(event: Any, **options: Any) -> Any:
        started.set()
        await release.wait()
        return await handle(event, **options)

    engine.handle = waiting  # type: ignore[method-assign]
    return started, release


async def test_ack_comes_before_the_engine_works(rig: Rig) -> None:
    started, release = held(rig.engine)
    reply = await asyncio.wait_for(
        post_signed(rig.url, slash_command("help", "U0ANNE", CHANNEL)), timeout=60
    )
    assert reply.status == 200  # acked while the engine is held
    await asyncio.wait_for(started.wait(), timeout=60)
    assert not rig.slack.ephemerals_for("U0ANNE")
    release.set()
    await rig.bridge.settle()
    assert rig.slack.ephemerals_for("U0ANNE")  # help, to the person only


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


async def test_a_submission_is_acked_at_once_then_recorded(rig: Rig) -> None:
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    reply, release = await submit_held(rig, view, COORDINATOR, name="Partenariat Est")
    recording = acked_at_once(reply)  # the ack did not wait for the engine...
    assert not await linked(rig)  # ...which has recorded nothing yet...
    assert await in_intake(rig.engine) == 1  # ...but the submission was committed first
    async with rig.engine.database.session() as session:
        (blob,) = (await session.scalars(select(Intake.blob))).all()
    for secret in (COORDINATOR, "Partenariat Est", TEAM_ID):  # sealed whole
        assert secret.encode() not in blob
    assert shown(rig.slack, view)["callback_id"] == RECORDING_CALLBACK_ID
    assert recording["title"]["text"] == "Merci"  # the coordinator's locale is fr-CA
    release.set()
    await rig.bridge.settle()
    assert await linked(rig)
    assert await in_intake(rig.engine) == 0  # consumed with the recording
    done = shown(rig.slack, view)
    assert "Partenariat Est" in json.dumps(done, ensure_ascii=False)
    assert done["close"]["text"] == "Fermer"


async def test_web_api_calls_share_one_kept_alive_session(engine: Engine, slack: FakeSlack) -> None:
    rig = await rig_for(engine, slack)
    session = rig.bridge.app.client.session
    try:
        assert session is not None and not session.closed  # opened at start-up
        await rig.command("U0ANNE", "help")  # each request has its own client (Bolt's)...
        await rig.command("U0BEN", "help")
        calls = rig.slack.calls_to("users.info") + rig.slack.calls_to("chat.postEphemeral")
        assert len(calls) >= 4
        assert len({call.peer for call in calls}) == 1  # ...and one connection serves them all
        sender_client = await rig.bridge.sender._client(TEAM_ID)
        assert sender_client.session is session
    finally:
        await rig.server.close()
    assert session.closed  # closed at shutdown
    assert rig.bridge.app.client.session is None


async def test_a_submission_acked_before_shutdown_is_recorded_at_the_next_start(
    engine: Engine, slack: FakeSlack
) -> None:
    """Shutdown does not wait for recordings: what was acked is in the intake already."""
    rig = await rig_for(engine, slack)
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    _, release = await submit_held(rig, view, COORDINATOR, name="Est")
    await rig.server.close()  # the worker stops with the engine still held
    release.set()
    assert not await linked(rig)
    assert await in_intake(engine) == 1  # kept, sealed, for the next start
    restarted = await rig_for(engine, slack)
    try:
        await restarted.bridge.settle()
        assert restarted.bridge.worker.done == 0  # its lease (10 s) still holds it...
        restarted.bridge.worker.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        restarted.bridge.worker.wake()
        await restarted.bridge.settle()
        assert await linked(restarted)  # ...then the restarted server records it
        assert await in_intake(engine) == 0
        assert "Est" in json.dumps(shown(slack, view), ensure_ascii=False)  # and thanks
    finally:
        await restarted.server.close()


async def test_a_submission_not_committed_is_not_acknowledged(rig: Rig) -> None:
    """The intake's commit failed: the ack is an error under the first input, in the
    person's language, the modal stays with its values, nothing is recorded; sent again,
    the same values go through."""
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    put = rig.bridge.intake.put

    async def failing(platform: str, payload: Any, **_: Any) -> str:
        raise IntakeUnavailable()

    rig.bridge.intake.put = failing  # type: ignore[method-assign]
    reply = await rig.submit(view, COORDINATOR, name="Partenariat Est")
    answer = reply.json()
    assert answer["response_action"] == "errors", answer
    ((block, message),) = answer["errors"].items()
    first_input = next(b for b in view["blocks"] if b.get("type") == "input")
    assert block == first_input["block_id"]
    assert message.startswith("Non enregistré :")  # the coordinator's locale is fr-CA
    assert shown(rig.slack, view)["callback_id"] == "passerelle_form"  # the form stays
    assert not await linked(rig) and await in_intake(rig.engine) == 0
    rig.bridge.intake.put = put  # type: ignore[method-assign]
    reply = await rig.submit(view, COORDINATOR, name="Partenariat Est")  # the same values
    acked_at_once(reply)
    assert await linked(rig)


async def test_a_resend_after_a_failed_intake_commit_is_recorded(rig: Rig) -> None:
    """The intake's COMMIT fails (the connection lost at that moment) and the database stays
    away until the ack is sent, so nothing could be undone: the submission's de-duplication
    mark was in the same transaction, so nothing stays behind it, and the person's resend of
    the very same submission (same view, hash and values) is recorded, not taken for a
    repeat (with the mark committed on its own before, it was, and the modal closed)."""
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    database = rig.engine.database
    async with database.session() as session:
        marks_before = await session.scalar(select(func.count()).select_from(Mark))
    with commit_fails(database, "INSERT INTO intake", then_away=True) as fault:
        reply = await rig.submit(view, COORDINATOR, name="Partenariat Est")
    assert fault.struck == 1
    assert reply.json()["response_action"] == "errors", reply.text  # "not saved, send again"
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Mark)) == marks_before
    assert not await linked(rig) and await in_intake(rig.engine) == 0
    acked_at_once(await rig.submit(view, COORDINATOR, name="Partenariat Est"))  # the resend
    assert await linked(rig)
    # The submission is marked now: the same one once more is a repeat, not recorded twice.
    again = (await rig.submit(view, COORDINATOR, name="Partenariat Est")).json()
    assert again["response_action"] == "errors", again
    assert "Déjà reçu" in next(iter(again["errors"].values()))
    assert rig.bridge.intake.duplicates == 1


async def test_a_slash_command_during_an_outage_says_so_in_one_log_line(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The database is away: the command's answer is the outage message (not the generic
    "oops"), and the engine logs one warning line, no traceback."""
    await set_up(rig)
    before = len(rig.slack.ephemerals_for(COORDINATOR))
    caplog.clear()
    with caplog.at_level(logging.WARNING), database_away(rig.engine.database) as fault:
        reply = await rig.command(COORDINATOR, "profile")
    assert reply.status == 200 and fault.struck
    (message,) = rig.slack.ephemerals_for(COORDINATOR)[before:]
    assert Tr("fr")("outage.retry") in texts(message)
    ours = [r for r in caplog.records if r.name in ("dialogs.engine", "adapters.slack.lifecycle")]
    assert [r.levelno for r in ours] == [logging.WARNING], [r.getMessage() for r in ours]
    assert "unavailable" in ours[0].getMessage() and ours[0].exc_info is None
    # Back: the same command is answered as usual.
    await rig.command(COORDINATOR, "profile")
    assert rig.slack.last_view["title"]["text"] != Tr("fr")("outage.title")


async def test_a_burst_is_committed_in_a_few_transactions(rig: Rig) -> None:
    """Group commit: submissions waiting at the same moment share one transaction."""
    await onboarded(rig)
    await rig.engine.jobs.run("checkin", await team_slug(rig))
    await rig.deliver()
    views = [await open_form(rig, user) for user in PROFILES]
    commits = rig.bridge.intake.commits
    payloads = [
        view_submission(v, {**defaults(v), **dict.fromkeys(scales(v), "3")}, user_id=user)
        for v, user in zip(views, PROFILES, strict=True)
    ]
    replies = await asyncio.gather(
        *(post_signed(rig.url, interaction(p), rig.slack.signing_secret) for p in payloads)
    )
    for reply in replies:
        acked_at_once(reply)
    assert rig.bridge.intake.commits - commits < len(PROFILES)  # fewer commits than acks
    await rig.bridge.settle()
    async with rig.engine.database.session() as session:
        (round_,) = await rounds.rounds_of(session, 1)
        answered = await rounds.members_with_status(session, round_.id, rounds.ANSWERED)
    assert len(answered) == len(PROFILES)
    assert await in_intake(rig.engine) == 0


@pytest.mark.parametrize("notified", [True, False], ids=["view_closed", "update_refused"])
async def test_the_reply_goes_by_dm_when_the_modal_was_closed(rig: Rig, notified: bool) -> None:
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    reply, release = await submit_held(rig, view, COORDINATOR, name="Partenariat Est", k="2")
    acked_at_once(reply)
    rig.slack.close_view(view["id"])
    updates = len(rig.slack.calls_to("views.update"))
    if notified:  # the "recording" view asks Slack to say when it is closed
        closed = view_closed(shown(rig.slack, view), user_id=COORDINATOR)
        assert (await post_signed(rig.url, interaction(closed))).status == 200
    release.set()
    await rig.bridge.settle()
    tried = rig.slack.calls_to("views.update")[updates:]
    assert len(tried) == (0 if notified else 1)
    assert all(call.error == "not_found" for call in tried)
    # The form came back by DM with its warning and what was typed: nothing is lost.
    (message,) = rig.slack.messages_to(COORDINATOR)
    assert "⚠" in texts(message)
    again = await open_form(rig, COORDINATOR)
    assert defaults(again)["name"] == "Partenariat Est" and defaults(again)["k"] == "2"
    assert not await linked(rig)


async def test_input_errors_are_answered_at_once_without_the_engine(rig: Rig) -> None:
    await onboarded(rig)
    await rig.command("U0BEN", "tension")
    form = rig.slack.last_view
    seen = counting(rig.engine)
    limit = next(b["element"]["max_length"] for b in form["blocks"] if b.get("block_id") == "text")
    for text, expected in (("   \n ", "cannot be empty"), ("x" * (limit + 1), f"{limit}")):
        reply = await rig.submit(form, "U0BEN", strict=False, text=text, theme="decisions")
        answer = reply.json()
        assert answer["response_action"] == "errors", answer
        assert set(answer["errors"]) == {"text"}
        assert expected in answer["errors"]["text"], answer
    assert seen == []  # the engine was not asked
    assert shown(rig.slack, form)["callback_id"] == "passerelle_form"  # the form stays
    # Corrected, the same modal (same id and hash after `errors`) goes through.
    reply = await rig.submit(form, "U0BEN", text="Les décisions arrivent tard.", theme="decisions")
    acked_at_once(reply)
    assert len(seen) == 1
    assert "passerelle:tension.confirm:" in json.dumps(shown(rig.slack, form))


async def test_a_form_filled_in_by_someone_opens_only_with_the_key_in_their_message(
    rig: Rig,
) -> None:
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    _, release = await submit_held(rig, view, COORDINATOR, name="Secret Est", k="2")
    rig.slack.close_view(view["id"])
    release.set()
    await rig.bridge.settle()
    # The form came back by DM; its button carries the draft's id and key.
    message = last_with_button(rig.slack, COORDINATOR)
    [button] = [
        element
        for block in message.blocks
        for element in block.get("elements", [])
        if element.get("action_id") == "open_form"
    ]
    mine = await rig.bridge.forms.card(button["value"])
    assert mine is not None and "Secret Est" in mine.model_dump_json()
    # Without the key (the modal's own reference) or with another key, nothing opens.
    assert await rig.bridge.forms.card(json.loads(view["private_metadata"])["f"]) is None
    action, context = decode_form_reference(button["value"])
    draft_id, _, _ = context[DRAFT].partition(".")
    forged = {**context, DRAFT: f"{draft_id}.{'A' * 43}="}
    assert await rig.bridge.forms.card(json.dumps({"a": action, "c": forged})) is None


async def test_a_direct_message_is_one_call_and_its_channel_is_remembered(rig: Rig) -> None:
    await set_up(rig)
    await rig.deliver()
    assert rig.slack.calls_to("conversations.open") == []
    posts = [c for c in rig.slack.calls_to("chat.postMessage") if c.ok]
    assert {str(c.params["channel"]) for c in posts} == {COORDINATOR, *PEOPLE}  # user ids
    for user in PEOPLE:
        assert rig.bridge.sender.dm_channel(TEAM_ID, user) == rig.slack.dm_id(user)


async def test_a_retried_event_is_processed_once(rig: Rig) -> None:
    await set_up(rig)
    rig.slack.add_user("U0NEW", tz="Europe/Paris", locale="fr-FR")
    rig.slack.channels[CHANNEL].members.append("U0NEW")
    seen = counting(rig.engine)
    body = event_callback(member_joined_channel("U0NEW", CHANNEL), event_id=new_event_id())
    first = await rig.post(body)
    again = await rig.post(body, retry_num=1)
    assert first.status == again.status == 200
    assert len(seen) == 1
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        refs = {m.user_ref for m in await teams.active_members(session, channel.team_id)}
    assert "U0NEW" in refs


async def test_home_tab_is_published(rig: Rig) -> None:
    await set_up(rig)
    reply = await rig.event(app_home_opened(COORDINATOR, rig.slack.dm_id(COORDINATOR)))
    assert reply.status == 200
    (published,) = rig.slack.calls_to("views.publish")
    assert published.ok, published.response
    assert rig.slack.home_views


async def test_forged_stale_and_unsigned_requests_get_401(rig: Rig) -> None:
    seen = counting(rig.engine)
    rig.slack.calls.clear()  # the start-up auth.test
    body = slash_command("setup", COORDINATOR, CHANNEL)
    forged = await post_signed(rig.url, body, "not-the-secret")
    stale = await post_signed(rig.url, body, timestamp=int(time.time()) - 600)
    async with aiohttp.ClientSession() as http, http.post(rig.url, data=body) as unsigned:
        unsigned_status = unsigned.status
    assert (forged.status, stale.status, unsigned_status) == (401, 401, 401)
    await rig.bridge.settle()
    assert seen == [] and rig.slack.calls == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"payload=%7Bnot-json", b"payload=", b"\xff\xfe\x00", b"[1, 2]", b"{}"],
)
async def test_malformed_signed_bodies_get_400_or_are_ignored_never_500(
    rig: Rig, body: bytes
) -> None:
    reply = await rig.post(body)
    assert reply.status < 500, (reply.status, reply.text)
    assert reply.status in (400, 404), reply.status


async def test_a_429_reschedules_the_message_then_it_is_sent(rig: Rig, clock: Any) -> None:
    await set_up(rig)
    rig.slack.fail_next("chat.postMessage", 429, retry_after=30)
    await rig.deliver()
    # One 429, and then the workspace is left alone: the other welcomes wait, unsent, instead
    # of each earning a 429 of its own.
    assert len(rig.slack.rejected_calls_to("chat.postMessage")) == 1
    async with rig.engine.database.session() as session:
        by_status = await outbox.counts(session)
    assert by_status.get("pending") == 6, by_status  # all wait for the Retry-After
    clock.advance(seconds=20)
    assert await rig.deliver() == 0
    clock.advance(seconds=11)
    assert await rig.deliver() == 6
    assert len(rig.slack.rejected_calls_to("chat.postMessage")) == 1
    async with rig.engine.database.session() as session:
        by_status = await outbox.counts(session)
    assert set(by_status) == {"sent"}, by_status
    for user in PEOPLE:
        assert rig.slack.messages_to(user), user


async def install(rig: Rig, code: str, token: str) -> None:
    """The OAuth install, as an admin's browser goes through it."""
    rig.slack.register_oauth_code(
        code, team_id=TEAM_ID, bot_token=token, bot_user_id=rig.slack.bot_user_id
    )
    base = str(rig.server.make_url(""))
    rig.slack.oauth_redirect_uri = f"{base}/slack/oauth_redirect"
    async with aiohttp.ClientSession() as browser:
        start = await browser.get(f"{base}/slack/install", allow_redirects=False)
        assert start.status == 302, await start.text()
        cookie = start.headers["Set-Cookie"].split(";")[0]
        consent = await browser.get(start.headers["Location"], allow_redirects=False)
        assert consent.status == 302
        done = await browser.get(consent.headers["Location"], headers={"Cookie": cookie})
        assert done.status == 200, await done.text()


async def suspended(engine: Engine) -> set[str]:
    async with engine.database.session() as session:
        rows = (await session.scalars(select(SuspendedWorkspace))).all()
    return {r.workspace for r in rows}


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_revoked_then_reinstalled_workspace_loses_nothing(
    engine: Engine, slack: FakeSlack, clock: Any
) -> None:
    rig = await rig_for(engine, slack, oauth=True)
    try:
        await install(rig, "code-1", "xoxb-first")
        await set_up(rig)
        assert slack.calls_to("views.open")[-1].token == "xoxb-first"
        # The token is revoked: the sender suspends the workspace, the messages stay pending.
        slack.revoke("xoxb-first")
        assert await rig.deliver() >= 1
        assert await suspended(engine) == {TEAM_ID}
        async with engine.database.session() as session:
            pending = (await outbox.counts(session)).get("pending", 0)
        assert pending == len(PROFILES)  # the welcomes, the coordinator's included
        assert await rig.deliver() == 0  # nothing is claimed while suspended
        # Slack's own notice suspends too (idempotent).
        reply = await rig.event({"type": "tokens_revoked", "tokens": {"bot": ["U0PASSBOT"]}})
        assert reply.status == 200
        assert await suspended(engine) == {TEAM_ID}
        # A re-install resumes: everything pending is sent with the new token.
        await install(rig, "code-2", "xoxb-second")
        assert await suspended(engine) == set()
        clock.advance(seconds=2)
        assert await rig.deliver() == len(PROFILES)
        for user in PEOPLE:
            (_welcome,) = slack.messages_to(user)
        assert {c.token for c in slack.calls_to("chat.postMessage")[-len(PROFILES) :]} == {
            "xoxb-second"
        }
    finally:
        await rig.server.close()


async def test_app_uninstalled_suspends_the_workspace(rig: Rig) -> None:
    reply = await rig.event({"type": "app_uninstalled"})
    assert reply.status == 200
    assert await suspended(rig.engine) == {TEAM_ID}


async def test_leaving_the_channel_leaves_the_team(rig: Rig) -> None:
    await set_up(rig)
    left = {**member_joined_channel("U0DAVE", CHANNEL), "type": "member_left_channel"}
    assert (await rig.event(left)).status == 200
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        refs = {m.user_ref for m in await teams.active_members(session, channel.team_id)}
    assert "U0DAVE" not in refs and "U0ANNE" in refs


async def test_the_bot_added_to_a_channel_offers_setup_to_whoever_added_it(rig: Rig) -> None:
    rig.slack.add_channel("C0OTHER", "autre", members=[COORDINATOR])
    joined = member_joined_channel(rig.slack.bot_user_id, "C0OTHER", inviter=COORDINATOR)
    assert (await rig.event(joined)).status == 200
    (offer,) = rig.slack.ephemerals_for(COORDINATOR)
    assert offer.channel == "C0OTHER" and "open_form" in json.dumps(offer.blocks)


async def test_a_form_posted_before_a_restart_still_opens(rig: Rig) -> None:
    await onboarded(rig)
    await rig.engine.jobs.run("checkin", await team_slug(rig))
    await rig.deliver()
    engine = rig.engine  # a new process: nothing in its memory
    rig.bridge.forms = FormCards(engine.database, engine.clock)
    view = await open_form(rig, "U0ANNE")
    assert scales(view)
    reply = await rig.submit(view, "U0ANNE", **dict.fromkeys(scales(view), "4"))
    acked_at_once(reply)
    assert "submit" not in shown(rig.slack, view)  # thanks: recorded


async def test_a_refused_submission_comes_back_with_what_was_typed(rig: Rig) -> None:
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    reply = await rig.submit(view, COORDINATOR, name="Partenariat Est", k="2")
    acked_at_once(reply)
    again = shown(rig.slack, view)  # the same form, with a warning and what was typed
    assert "⚠" in json.dumps(again, ensure_ascii=False)
    assert again["submit"] and again["callback_id"] == "passerelle_form"
    assert defaults(again)["name"] == "Partenariat Est"
    assert defaults(again)["k"] == "2"
    async with rig.engine.database.session() as session:
        assert await teams.channel_at(session, "slack", TEAM_ID, CHANNEL) is None


async def test_the_sender_gives_up_on_an_unreachable_person(rig: Rig) -> None:
    from dialogs.cards import notice
    from dialogs.ports import Delivery, DeliveryFailed

    card = notice("Bonjour", "Un message")
    with pytest.raises(DeliveryFailed) as failed:
        await rig.bridge.sender.send(Delivery("slack", TEAM_ID, "direct", "U0NOBODY", card))
    assert failed.value.unreachable
    with pytest.raises(DeliveryFailed) as failed:
        await rig.bridge.sender.send(Delivery("slack", TEAM_ID, "channel", "C0GONE", card))
    assert failed.value.unreachable


async def test_one_workspace_resumes_when_its_token_works_again(
    engine: Engine, slack: FakeSlack
) -> None:
    rig = await rig_for(engine, slack)
    try:
        assert (await rig.event({"type": "tokens_revoked", "tokens": {}})).status == 200
        assert await suspended(engine) == {TEAM_ID}
    finally:
        await rig.server.close()
    restarted = await rig_for(engine, slack)  # a restart with a working SLACK_BOT_TOKEN
    try:
        assert await suspended(engine) == set()
    finally:
        await restarted.server.close()


async def test_setup_without_the_bot_in_the_channel_asks_to_invite_it(rig: Rig) -> None:
    rig.slack.fail_next("conversations.members", status=200, error="not_in_channel")
    await set_up(rig)
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None  # the team is created all the same
        members = await teams.active_members(session, channel.team_id)
    assert {m.user_ref for m in members} == {COORDINATOR}
    told = json.dumps([m.blocks for m in rig.slack.messages_to(COORDINATOR)], ensure_ascii=False)
    assert "tapez /invite dans le canal et choisissez Passerelle" in told
    # Once the bot is in the channel, its members join the team.
    joined = member_joined_channel(rig.slack.bot_user_id, CHANNEL, inviter=COORDINATOR)
    assert (await rig.event(joined)).status == 200
    async with rig.engine.database.session() as session:
        members = await teams.active_members(session, channel.team_id)
    assert {m.user_ref for m in members} == {COORDINATOR, *PEOPLE}


# ------------------------------------------------------------------ pace
# (the shared, learned pace itself: tests/test_adaptive_pacing.py)
async def test_a_429_is_left_to_the_outbox_and_costs_no_attempt(rig: Rig) -> None:
    from dialogs.cards import notice
    from dialogs.ports import Delivery, DeliveryFailed

    rig.slack.fail_next("chat.postMessage", 429, retry_after=7)
    card = notice("Bonjour", "Un message")
    with pytest.raises(DeliveryFailed) as failed:
        await rig.bridge.sender.send(Delivery("slack", TEAM_ID, "direct", "U0ANNE", card))
    assert failed.value.retry_after == 7 and not failed.value.unreachable
