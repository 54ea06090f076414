"""An earlier round's card, answered while a newer round is open: the person gets the open
round's card, with a line saying the earlier one closed, and nothing is recorded for either
until they answer it. `checkin now` in the minute a round closed opens the next one."""

from __future__ import annotations

from sqlalchemy import select

from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card
from dialogs.checkins import round_store
from dialogs.checkins.models import Round
from dialogs.engine import Engine, form_card
from dialogs.i18n import Tr
from storage import teams
from storage.models import OutboxMessage
from tests.conftest import RecordingSender
from tests.helpers import actor, lead, say, scale_names, seeded, submit, submit_card, text_of


async def cards_of_round(engine: Engine, round_id: int) -> dict[int, Card]:
    """Each member's check-in card for the round, by member id, as queued in the outbox."""
    async with engine.database.session() as session:
        rows = await session.execute(
            select(OutboxMessage.member_id, OutboxMessage.payload).where(
                OutboxMessage.idem_key.like(f"checkin:{round_id}:%")
            )
        )
        return {int(m): Card.model_validate(p) for m, p in rows.tuples() if m is not None}


async def round_of(engine: Engine, round_id: int) -> Round:
    async with engine.database.session() as session:
        found = await session.get(Round, round_id)
    assert found is not None
    return found


async def member_id(engine: Engine, user_ref: str) -> int:
    async with engine.database.session() as session:
        member = await teams.member_in(session, 1, "sandbox", "", user_ref)
    assert member is not None
    return member.id


async def two_rounds(engine: Engine) -> tuple[int, int, dict[str, Card]]:
    """Round 1 opened and closed, round 2 opened by `checkin now` in the same minute:
    (round 1's id, round 2's id, round 1's cards by user_ref)."""
    await seeded(engine)
    assert (await engine.jobs.run("checkin", "demo")).message == "jobs.checkin"
    async with engine.database.session() as session:
        first = await round_store.open_round_of(session, 1)
    assert first is not None
    by_id = await cards_of_round(engine, first.id)  # before the close forgets the unsent ones
    old = {ref: by_id[await member_id(engine, ref)] for ref in ("camille", "jonathan", "sophie")}
    assert (await engine.jobs.run("close", "demo")).message == "jobs.closed"
    # The same local minute as the close: the coordinator's `checkin now` opens round 2.
    opened = await say(engine, "emilie", "checkin now")
    assert Tr("fr")("jobs.checkin", count=9) in text_of(opened), text_of(opened)
    async with engine.database.session() as session:
        second = await round_store.open_round_of(session, 1)
    assert second is not None and second.id != first.id and second.seq == first.seq + 1
    return first.id, second.id, old


DEMO_NAME = "Équipe mixte Passerelle (démo)"


def stale_line(language: str, old: int, new: int) -> str:
    return Tr(language)("checkin.stale", old=old, seq=new)


async def test_checkin_now_in_the_minute_of_a_close_opens_the_next_round(engine: Engine) -> None:
    first, second, _ = await two_rounds(engine)
    # Pressed twice in the same minute while round 2 is open: still one round.
    again = await say(engine, "emilie", "checkin now")
    assert Tr("fr")("jobs.checkin_exists") in text_of(again)
    async with engine.database.session() as session:
        rounds = await round_store.rounds_of(session, 1)
    assert [r.id for r in rounds] == [first, second]


async def test_an_old_card_answered_shows_the_open_round(engine: Engine) -> None:
    first, second, old = await two_rounds(engine)
    card = old["camille"]
    values = {name: "4" for name in scale_names(card)}
    (reply,) = await submit_card(engine, "camille", card, values)
    # Not "closed, the next one will come": the open round's card, with why.
    assert reply.form is not None and reply.form.context["round"] == str(second)
    assert lead(reply) == stale_line("fr", 1, 2)
    assert reply.title == Tr("fr")("checkin.title", seq=2, team=DEMO_NAME)
    # Nothing recorded for either round yet; round 2's ledger still asks her.
    assert (await round_of(engine, first)).answered_count == 0
    async with engine.database.session() as session:
        status = await round_store.status_of(session, second, await member_id(engine, "camille"))
    assert status == round_store.ASKED
    answers = {name: "4" for name in scale_names(reply)}
    (thanks,) = await submit_card(engine, "camille", reply, answers)
    assert thanks.title == Tr("fr")("checkin.thanks_title")
    # Answered the open round: an old card now says it closed, and offers nothing more.
    (closed,) = await submit_card(engine, "camille", card, values)
    assert closed.form is None and closed.title == Tr("fr")("checkin.closed_title")


async def test_the_open_round_in_the_persons_language(engine: Engine) -> None:
    _, second, old = await two_rounds(engine)
    card = old["jonathan"]
    (reply,) = await submit_card(engine, "jonathan", card, {n: "2" for n in scale_names(card)})
    assert reply.form is not None and reply.form.context["round"] == str(second)
    assert lead(reply) == stale_line("en", 1, 2)


async def test_skipping_an_old_card_shows_the_open_round(engine: Engine) -> None:
    _, second, old = await two_rounds(engine)
    (button,) = old["sophie"].buttons
    (reply,) = await submit(engine, "sophie", button.action, button.context)
    assert reply.form is not None and reply.form.context["round"] == str(second)
    assert lead(reply) == stale_line("fr", 1, 2)
    async with engine.database.session() as session:
        status = await round_store.status_of(session, second, await member_id(engine, "sophie"))
    assert status == round_store.ASKED  # the old button skipped nothing of round 2


async def test_a_lost_card_of_a_closed_round_is_rebuilt_as_the_open_one(engine: Engine) -> None:
    first, second, _ = await two_rounds(engine)
    rebuilt = await form_card(
        engine, actor("camille"), None, "checkin.submit", {"team": "demo", "round": str(first)}
    )
    assert rebuilt is not None and rebuilt.form is not None
    assert rebuilt.form.context["round"] == str(second)
    assert lead(rebuilt) == stale_line("fr", 1, 2)


async def test_with_no_round_open_an_old_card_says_closed(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    card = sender.to("camille")[-1].card
    assert (await engine.jobs.run("close", "demo")).message == "jobs.closed"
    (reply,) = await submit_card(engine, "camille", card, {n: "3" for n in scale_names(card)})
    assert reply.form is None and reply.title == Tr("fr")("checkin.closed_title")
    (button,) = card.buttons
    (skipped,) = await submit(engine, "camille", button.action, button.context)
    assert skipped.form is None and Tr("fr")("checkin.closed") in text_of([skipped])
