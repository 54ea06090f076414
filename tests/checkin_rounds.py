"""The check-in round a test opens and the cards it queued, read back from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from storage.models import OutboxMessage


async def checkin_cards(session: AsyncSession, round_id: int, most: int) -> list[Card]:
    """Up to `most` of the check-in cards queued in the outbox for the round."""
    payloads = await session.scalars(
        select(OutboxMessage.payload)
        .where(OutboxMessage.idem_key.like(f"%checkin:{round_id}:%"))
        .limit(most)
    )
    return [Card.model_validate(p) for p in payloads]


async def open_checkin(engine: Engine, slug: str, team_id: int) -> tuple[int, Card]:
    """Run the check-in job for the team: (the round it opened, one of the cards it queued)."""
    await engine.jobs.run("checkin", slug)
    async with engine.database.session() as session:
        round_ = await rounds.open_round_of(session, team_id)
        assert round_ is not None
        (card,) = await checkin_cards(session, round_.id, 1)
    return round_.id, card
