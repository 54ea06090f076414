"""Open answers held for review reach the summary's readers once coordinators released them
(dialogs/checkins/open_review.review -> on_answers_released -> dialogs/summaries/handlers):
once per reader, never to anyone else, nothing when all were hidden, on SQLite and PostgreSQL;
and exactly once when two coordinators (two sessions, as two processes) release at once, on
PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox_worker import OutboxWorker
from dialogs.checkins import open_review
from dialogs.checkins.models import OpenAnswer
from dialogs.engine import Engine
from dialogs.events import FormSubmitted
from dialogs.i18n import Tr
from dialogs.turn import Turn
from storage import teams
from storage.models import OutboxMessage
from tests.conftest import Clock, RecordingSender
from tests.helpers import actor, say, seeded, text_of
from tests.summary_helpers import answer_round, set_team

READERS = {"nadia", "luc", "emilie"}  # the demo's confirmed managers and its coordinator
RELEASED = "summary:{team}:released1:"
PENDING = "pending_review"


async def closed_with_review(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> list[str]:
    """Round 1 answered by three people with an open answer each, closed with review on:
    the ids of the three answers waiting."""
    await seeded(engine)
    await set_team(engine, review_open_answers=True)
    await answer_round(engine, worker, sender, clock, ["camille", "jonathan", "sophie"])
    await engine.jobs.run("close", "demo")
    await worker.drain()
    async with engine.database.session() as session:
        waiting = (
            await session.scalars(select(OpenAnswer.id).where(OpenAnswer.status == PENDING))
        ).all()
    assert len(waiting) == 3
    return sorted(waiting)


async def turn_of(engine: Engine, session: AsyncSession, clock: Clock, who: str) -> Turn:
    team = await teams.team_by_slug(session, "demo")
    assert team is not None
    member = await teams.member_in(session, team.id, "sandbox", "", who)
    return Turn(
        session,
        clock(),
        engine.bank,
        actor(who),
        None,
        team=team,
        member=member,
        sealer=engine.sealer,
    )


async def decide(engine: Engine, clock: Clock, answer: str, status: str) -> bool:
    async with engine.database.session() as session, session.begin():
        return await open_review.review(
            await turn_of(engine, session, clock, "emilie"), answer, status
        )


async def pressed(engine: Engine, answer: str, status: str) -> str:
    """The coordinator's button on the review card, as an adapter sends it: its notice."""
    action = "open.approve" if status == "visible" else "open.hide"
    cards = await engine.handle(FormSubmitted(actor("emilie"), action, {"answer": answer}, {}))
    return text_of(cards)


async def released(engine: Engine) -> list[OutboxMessage]:
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        prefix = RELEASED.format(team=team.id)
        return list(
            (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.idem_key.startswith(prefix))
                )
            ).all()
        )


async def test_the_last_decision_sends_the_released_answers_to_each_reader(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    answers = await closed_with_review(engine, worker, sender, clock)
    closing = {who: len(sender.to(who)) for who in READERS}
    assert await decide(engine, clock, answers[0], "visible")
    assert await decide(engine, clock, answers[1], "hidden")
    assert not await released(engine)  # one answer still waits: nothing released yet
    assert await decide(engine, clock, answers[2], "visible")
    queued = await released(engine)
    assert {m.address for m in queued} == READERS and len(queued) == 3
    assert not await decide(engine, clock, answers[2], "hidden")  # already reviewed
    assert len(await released(engine)) == 3
    await worker.drain()
    for who in READERS:
        (card,) = [d.card for d in sender.to(who)[closing[who] :]]
        assert card.title == "Bilan nᵒ\u00a01\u00a0: réponses ouvertes"
        body = text_of([card])
        assert body.count("Note de ") == 2  # the two released, not the hidden one
        assert "La coordination a relu" in body
    assert not [d for d in sender.to("camille") if "réponses ouvertes" in d.card.title]
    # The summary on demand now shows them too, as before.
    assert text_of(await say(engine, "nadia", "sommaire")).count("Note de ") == 2


async def test_nothing_is_sent_when_every_answer_was_hidden(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    answers = await closed_with_review(engine, worker, sender, clock)
    for answer in answers:
        assert await decide(engine, clock, answer, "hidden")
    assert not await released(engine)


async def test_an_english_reader_reads_it_in_english(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    answers = await closed_with_review(engine, worker, sender, clock)
    async with engine.database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        luc = await teams.member_in(session, team.id, "sandbox", "", "luc")
        assert luc is not None
        luc.language = "en"
    before = len(sender.to("luc"))
    for answer in answers:
        assert await decide(engine, clock, answer, "visible")
    await worker.drain()
    (card,) = [d.card for d in sender.to("luc")[before:]]
    assert card.title == "Check-in no. 1: open answers"
    assert text_of([card]).count("Note de ") == 3


async def _waiting_for_a_lock(engine: Engine) -> bool:
    async with engine.database.session() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("same_answer", [False, True], ids=["last-two", "same-last"])
async def test_two_coordinators_releasing_at_once_send_it_once(
    engine: Engine,
    worker: OutboxWorker,
    sender: RecordingSender,
    clock: Clock,
    same_answer: bool,
) -> None:
    """Two sessions decide the round's last answers at the same time: without the round's
    lock each would still see the other's answer waiting, and nobody would release. The
    second waits for the first's commit, then sees nothing waiting: it releases, once."""
    answers = await closed_with_review(engine, worker, sender, clock)
    assert await decide(engine, clock, answers[0], "visible")
    if same_answer:  # both press a button on the one answer still waiting
        assert await decide(engine, clock, answers[1], "visible")
        first_answer = second_answer = answers[2]
    else:  # each decides one of the last two
        first_answer, second_answer = answers[1:]
    async with engine.database.session() as first, engine.database.session() as second:
        await first.begin()
        await second.begin()
        one = await turn_of(engine, first, clock, "emilie")
        other = await turn_of(engine, second, clock, "emilie")
        assert await open_review.review(one, first_answer, "visible")
        racing = asyncio.create_task(open_review.review(other, second_answer, "visible"))
        for _ in range(500):  # until the second decision waits on the first's lock
            if racing.done() or await _waiting_for_a_lock(engine):
                break
            await asyncio.sleep(0.01)
        assert not racing.done()  # it waits for the round's lock
        assert not await released(engine)  # nothing visible before the first commits
        await first.commit()
        assert await racing is not same_answer  # the same answer: already reviewed
        await second.commit()
    queued = await released(engine)
    assert sorted(m.address for m in queued) == sorted(READERS)
    await worker.drain()
    for who in READERS:
        assert len([d for d in sender.to(who) if "réponses ouvertes" in d.card.title]) == 1


async def test_the_review_buttons_release_the_answers(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    answers = await closed_with_review(engine, worker, sender, clock)
    for answer, status in zip(answers, ("visible", "hidden", "visible"), strict=True):
        assert "⚠" not in await pressed(engine, answer, status)
    assert {m.address for m in await released(engine)} == READERS
    assert Tr("fr")("open_review.already") in await pressed(engine, answers[0], "hidden")
    assert len(await released(engine)) == 3
