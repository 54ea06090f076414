"""Anonymous tensions, their replies, and the rate-limit counters kept apart from them."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Tension, TensionReply, new_uuid
from storage.upsert import insert_ignore

PENDING_REVIEW, APPROVED, PUBLISHED, REJECTED = (
    "pending_review",
    "approved",
    "published",
    "rejected",
)


def digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def tension_key(team_id: int, text: str, theme: str, today: dt.date) -> str:
    """Same team, theme, words and day: the same tension (a double click, a retry)."""
    return digest("tension", team_id, theme, text.strip(), today.isoformat())


async def tension_exists(
    session: AsyncSession, team_id: int, text: str, theme: str, today: dt.date
) -> bool:
    key = tension_key(team_id, text, theme, today)
    return await session.scalar(select(Tension.id).where(Tension.dedupe_key == key)) is not None


async def add_tension(
    session: AsyncSession,
    *,
    team_id: int,
    text: str,
    theme: str,
    prompt_id: str | None,
    followup_code: str,
    needs_review: bool,
    today: dt.date,
) -> str | None:
    """Store a tension once (same team, theme, text and day = the same); its id when new."""
    tension_id = new_uuid()
    inserted = await insert_ignore(
        session,
        Tension.__table__,  # type: ignore[arg-type]
        {
            "id": tension_id,
            "team_id": team_id,
            "text": text,
            "theme": theme,
            "prompt_id": prompt_id,
            "status": PENDING_REVIEW if needs_review else APPROVED,
            "created_on": today,
            "published_on": None,
            "followup_hash": digest("followup", followup_code),
            # A double click or a retry repeats the same day; the same words raised again on
            # another day (or by someone else later) are a new tension, not a silent no-op.
            "dedupe_key": tension_key(team_id, text, theme, today),
        },
        ["dedupe_key"],
    )
    return tension_id if inserted else None


async def tension_by_id(session: AsyncSession, tension_id: str) -> Tension | None:
    return await session.get(Tension, tension_id)


async def tension_by_code(session: AsyncSession, code: str) -> Tension | None:
    return await session.scalar(
        select(Tension).where(Tension.followup_hash == digest("followup", code.strip().upper()))
    )


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
    for tension in tensions:
        tension.status = PUBLISHED
        tension.published_on = today
    await session.flush()


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
