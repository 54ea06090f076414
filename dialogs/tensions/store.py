"""Anonymous tensions: sealed until their batch, then written all at once; their replies; and
the weekly slots of the rate limit, kept apart from them under keyed tags."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from dialogs.tensions.models import Tension, TensionReply, TensionToken
from storage.dedupe import digest
from storage.models import new_uuid
from storage.upsert import insert_ignore

PENDING_REVIEW, APPROVED, PUBLISHED, REJECTED = (
    "pending_review",
    "approved",
    "published",
    "rejected",
)
KIND = "tension"
# The batch a sealed tension waits for: the coordinators' daily review, or the weekly batch.
REVIEW_BATCH, WEEK_BATCH = "review", "week"


def followup_hash(code: str) -> str:
    return digest("followup", code.strip().upper())


async def write_opened(
    session: AsyncSession,
    team_id: int,
    opened: Sequence[dict[str, Any]],
    *,
    status: str,
    today: dt.date,
) -> list[Tension]:
    """Write tensions just opened from the sealed inbox: fresh random ids, in a random order,
    in ONE statement, so neither ids nor the physical order (SQLite page cells, PostgreSQL
    ctid) nor the row versions (one transaction: one xmin) follow the order of writing. Each
    carries the day of its batch, not the day it was written (a day on which only one person
    used the bot would name them)."""
    rows = [
        {
            "id": new_uuid(),
            "team_id": team_id,
            "text": payload["text"],
            "theme": payload["theme"],
            "prompt_id": payload.get("prompt") or None,
            "status": status,
            "created_on": today,
            "published_on": today if status == PUBLISHED else None,
            "followup_hash": payload["followup"],
            # Repeats are refused while sealed (`storage.sealed_batches.once_id`); the column
            # stays NOT NULL UNIQUE, so it gets a fresh random value that says nothing.
            "dedupe_key": new_uuid(),
        }
        for payload in opened
    ]
    if not rows:
        return []
    random.SystemRandom().shuffle(rows)
    await session.execute(insert(Tension).values(rows))
    return [Tension(**row) for row in rows]


async def tension_by_id(session: AsyncSession, tension_id: str) -> Tension | None:
    return await session.get(Tension, tension_id)


async def tension_by_code(session: AsyncSession, code: str) -> Tension | None:
    return await session.scalar(select(Tension).where(Tension.followup_hash == followup_hash(code)))


async def tensions_with_status(
    session: AsyncSession, team_id: int, status: str
) -> Sequence[Tension]:
    return (
        await session.scalars(
            select(Tension).where(Tension.team_id == team_id, Tension.status == status)
        )
    ).all()


async def tensions_of(session: AsyncSession, team_id: int) -> Sequence[Tension]:
    return (await session.scalars(select(Tension).where(Tension.team_id == team_id))).all()


async def set_status(session: AsyncSession, tension_id: str, old: str, new: str) -> bool:
    result = await session.execute(
        update(Tension).where(Tension.id == tension_id, Tension.status == old).values(status=new)
    )
    return bool(getattr(result, "rowcount", 0))


async def publish(session: AsyncSession, tensions: Sequence[Tension], today: dt.date) -> None:
    """Mark reviewed tensions published, in one statement (their new row versions are placed
    in the table's own order, not in an order this code chose)."""
    if not tensions:
        return
    await session.execute(
        update(Tension)
        .where(Tension.id.in_([t.id for t in tensions]))
        .values(status=PUBLISHED, published_on=today)
        .execution_options(synchronize_session=False)
    )
    for tension in tensions:  # as stored now, without a second (per-row) UPDATE at flush
        set_committed_value(tension, "status", PUBLISHED)
        set_committed_value(tension, "published_on", today)


async def add_reply(session: AsyncSession, tension_id: str, text: str, today: dt.date) -> bool:
    return await insert_ignore(
        session,
        TensionReply.__table__,  # type: ignore[arg-type]
        {
            "id": new_uuid(),
            "tension_id": tension_id,
            "text": text,
            "created_on": today,
            "dedupe_key": digest("reply", tension_id, text.strip()),
        },
        ["dedupe_key"],
    )


async def replies_to(session: AsyncSession, tension_id: str) -> Sequence[TensionReply]:
    return (
        await session.scalars(
            select(TensionReply)
            .where(TensionReply.tension_id == tension_id)
            .order_by(TensionReply.created_on)
        )
    ).all()


# ------------------------------------------------------------------ weekly slots
async def taken_tokens(session: AsyncSession, tokens: Iterable[str]) -> set[str]:
    wanted = list(tokens)
    if not wanted:
        return set()
    found = await session.scalars(select(TensionToken.token).where(TensionToken.token.in_(wanted)))
    return set(found.all())


async def take_token(session: AsyncSession, token: str, week: str) -> bool:
    """Insert a slot's token; False when it is already taken (a concurrent insert of the same
    slot waits for the other transaction, then finds it taken)."""
    return await insert_ignore(
        session,
        TensionToken.__table__,  # type: ignore[arg-type]
        {"token": token, "week": week},
        ["token"],
    )


async def drop_token(session: AsyncSession, token: str) -> None:
    await session.execute(delete(TensionToken).where(TensionToken.token == token))


async def forget_weeks_before(session: AsyncSession, week: str) -> int:
    """Delete the slots of weeks before `week` ("2026W48" keys sort as weeks do)."""
    result = await session.execute(delete(TensionToken).where(TensionToken.week < week))
    return int(getattr(result, "rowcount", 0) or 0)
