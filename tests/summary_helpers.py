"""A round answered, the rounds and respondents stored: what the summary tests read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox_worker import OutboxWorker
from dialogs.checkins import ballot_store as ballots
from dialogs.engine import Engine
from storage import teams
from storage.models import (
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
        assert replies[0].title in ("Merci!", "Thank you!"), text_of(replies)


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
