"""Slack submissions through the intake: acked at once, then recorded; never acknowledged when
not committed; resent after a failed commit; kept across a shutdown and an outage; a burst in a
few transactions (end to end, the rig: tests/slack_rig.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.intake import IntakeUnavailable
from adapters.slack.acks import RECORDING_CALLBACK_ID
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage.coordination import Mark
from storage.models import Intake
from tests.engine_doors import held
from tests.fake_slack import FakeSlack
from tests.faults import commit_fails, database_away
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    PROFILES,
    Rig,
    acked_at_once,
    defaults,
    in_intake,
    linked,
    onboarded,
    open_form,
    rig_fixture,
    rig_for,
    scales,
    set_up,
    shown,
    slack_fixture,
    submit_held,
    team_slug,
    texts,
)
from tests.slack_signing import (
    TEAM_ID,
    interaction,
    post_signed,
    slash_command,
    view_submission,
)


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


async def test_a_submission_whose_recording_fails_says_so_then_is_recorded(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside the engine keeps the row and retries it; meanwhile the modal says the
    answer is kept (not "recording" for good), and the retry's answer replaces that."""
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    handle = rig.engine.handle
    failures: list[Any] = []

    async def failing_once(event: Any, **options: Any) -> Any:
        if options.get("intake_id") and not failures:
            failures.append(event)
            raise RuntimeError("a bug the next try does not meet")
        return await handle(event, **options)

    monkeypatch.setattr(rig.engine, "handle", failing_once)
    await rig.submit(view, COORDINATOR, name="Partenariat Est")
    assert len(failures) == 1 and not await linked(rig) and await in_intake(rig.engine) == 1
    # The row's backoff has passed: the worker takes it again.
    worker = rig.bridge.lifecycle.worker
    monkeypatch.setattr(worker, "clock", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    worker.wake()
    await rig.bridge.settle()
    assert await linked(rig) and await in_intake(rig.engine) == 0
    updates = [json.dumps(c.params, ensure_ascii=False) for c in rig.slack.calls_to("views.update")]
    said = [n for n, update in enumerate(updates) if Tr("fr")("slack.delayed") in update]
    answered = [n for n, update in enumerate(updates) if "Partenariat Est" in update]
    assert said and answered and said[-1] < answered[-1], updates
    assert "Partenariat Est" in json.dumps(shown(rig.slack, view), ensure_ascii=False)
