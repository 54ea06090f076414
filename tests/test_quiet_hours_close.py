"""Quiet hours and a round's close: an ask held back by quiet hours goes out when they end if
the round is still open; one they would hold past the close is not sent, and the coordinators
are told how many people the round cannot reach in time (a count, in their language).

The demo's people keep quiet from 20:00 to 8:00 on their own clock. The round opens on
Tuesday 24 November 2026 at 15:00 UTC: 10:00 in Toronto, 7:00 in Vancouver, where Daniel
is asked at 8:00 (16:00 UTC).
"""

from __future__ import annotations

from bot.outbox_worker import OutboxWorker
from dialogs.checkins import round_store
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage import teams
from tests.conftest import Clock, RecordingSender
from tests.helpers import say, seeded, text_of


async def set_up(engine: Engine, window_hours: int) -> None:
    """The demo team, its response window set, and Jonathan (who reads English) a
    coordinator beside Émilie (French)."""
    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        team.response_window_hours = window_hours
        jonathan = await teams.member_in(session, team.id, "sandbox", "", "jonathan")
        assert jonathan is not None
        jonathan.is_coordinator = True


def asked(sender: RecordingSender, who: str) -> bool:
    return any(
        d.card.form is not None and d.card.form.action == "checkin.submit" for d in sender.to(who)
    )


def unasked_notices(sender: RecordingSender, who: str, language: str) -> list[str]:
    title = Tr(language)("checkin.unasked_title", seq=1)
    return [text_of([d.card]) for d in sender.to(who) if d.card.title == title]


async def test_quiet_hours_past_the_close_are_told_to_the_coordinators(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    # One hour: the round closes at 16:00 UTC, the moment Daniel's quiet hours end.
    await set_up(engine, window_hours=1)
    assert (await engine.jobs.run("checkin", "demo")).message == "jobs.checkin"
    await worker.drain()
    assert asked(sender, "camille") and not asked(sender, "daniel")
    (french,) = unasked_notices(sender, "emilie", "fr")
    assert "nᵒ 1 ferme le mardi 24 novembre 2026 à 11\u00a0h\u00a000 (HNE)" in french
    assert "heures calmes durent jusque-là\u00a0: 1." in french
    (english,) = unasked_notices(sender, "jonathan", "en")
    assert "closes on Tuesday 24 November 2026 at 11:00 (EST)" in english
    assert "quiet hours last until then: 1." in english
    assert not unasked_notices(sender, "camille", "fr")  # coordinators only
    # Never sent later either: the close forgets nothing it would have sent in time.
    clock.advance(hours=1)
    assert (await engine.jobs.run("close", "demo", forced=False)).message == "jobs.closed"
    clock.advance(hours=1)
    await worker.drain()
    assert not asked(sender, "daniel")


async def test_an_unasked_person_can_still_answer_while_the_round_is_open(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await set_up(engine, window_hours=1)
    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    (card,) = await say(engine, "daniel", "checkin")  # he is in the ledger, as asked
    assert card.form is not None and card.form.action == "checkin.submit"


async def test_a_deferred_ask_goes_out_when_quiet_hours_end_inside_the_round(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    # Two hours: Daniel's quiet hours end at 16:00 UTC, an hour before the close.
    await set_up(engine, window_hours=2)
    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    assert not asked(sender, "daniel")
    assert not unasked_notices(sender, "emilie", "fr")
    assert not unasked_notices(sender, "jonathan", "en")
    clock.advance(hours=1)
    await worker.drain()
    assert asked(sender, "daniel")


async def test_a_deferred_ask_is_dropped_when_the_round_closed_first(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await set_up(engine, window_hours=2)
    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    clock.advance(minutes=30)
    assert (await engine.jobs.run("close", "demo")).message == "jobs.closed"  # closed early
    clock.advance(hours=1)  # Daniel's quiet hours are over
    await worker.drain()
    assert not asked(sender, "daniel")
    async with engine.database.session() as session:
        assert await round_store.open_round_of(session, 1) is None
