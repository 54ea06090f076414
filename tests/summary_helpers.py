"""A round answered, the rounds and respondents stored: what the summary tests set up and read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox_worker import OutboxWorker
from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import round_store as rounds
from dialogs.checkins.models import Round
from dialogs.engine import Engine
from storage import teams
from storage.models import (
    Member,
    Sealed,
    UnitCell,
)
from tests.conftest import Clock, RecordingSender
from tests.helpers import field_names, submit_card, text_of


async def answer_round(
    engine: Engine,
    worker: OutboxWorker,
    sender: RecordingSender,
    clock: Clock,
    people: Iterable[str],
    value: str = "4",
) -> None:
    await engine.jobs.run("checkin", "demo")
    clock.advance(hours=2)  # past Vancouver's quiet hours
    await worker.drain()
    for who in people:
        card = [
            d.card for d in sender.to(who) if d.card.form and d.card.form.action == "checkin.submit"
        ][-1]
        values = {n: value for n in field_names(card) if n.startswith("item:")}
        values["open"] = f"Note de {who}"
        replies = await submit_card(engine, who, card, values)
        assert replies[0].title in ("Merci\u00a0!", "Thank you!"), text_of(replies)


async def sealed_ballot_rounds(session: AsyncSession) -> set[int]:
    """Rounds whose check-in ballots still wait sealed (any team)."""
    batches = await session.scalars(select(Sealed.batch).where(Sealed.kind == ballots.BALLOT))
    return {int(b.removeprefix("round:")) for b in batches.all()}


async def stored_respondents(session: AsyncSession) -> list[int]:
    """The respondents of every frozen cell at rest (any team)."""
    return list((await session.scalars(select(UnitCell.respondents))).all())


async def set_team(engine: Engine, **changes: Any) -> None:
    async with engine.database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        for name, value in changes.items():
            setattr(team, name, value)


async def add_members(session: AsyncSession, team_id: int, count: int) -> list[Member]:
    """`count` active sandbox members of the team, p0, p1…, flushed (their ids known)."""
    people = []
    for p in range(count):
        member = Member(
            team_id=team_id, platform="sandbox", workspace="", user_ref=f"p{p}", active=True
        )
        session.add(member)
        people.append(member)
    await session.flush()
    return people


async def open_round_now(
    session: AsyncSession,
    team_id: int,
    seq: int,
    now: dt.datetime,
    member_ids: Iterable[int],
    *,
    items: list[str],
    kind: str = "checkin",
    open_question_id: str | None = None,
) -> Round:
    """Round `seq` of the team, opened, reminded and due at `now` (the test closes it)."""
    round_ = await rounds.open_round(
        session,
        team_id=team_id,
        occurrence=str(seq),
        kind=kind,
        items=items,
        open_question_id=open_question_id,
        opened_at=now,
        opened_on=now.date(),
        remind_at=now,
        closes_at=now,
        member_ids=member_ids,
    )
    assert round_ is not None
    return round_
