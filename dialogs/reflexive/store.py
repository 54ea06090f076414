"""Reflexive-space schedules and their occurrences. Pre-reflections are not here: they wait
sealed for their meeting (`dialogs.reflexive.spaces`) and are never written in the clear."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.reflexive.models import ReflexiveOccurrence, ReflexiveSchedule
from storage.dedupe import digest
from storage.upsert import insert_ignore


async def add_schedule(
    session: AsyncSession,
    *,
    team_id: int,
    prompt_id: str | None,
    custom_text: str | None,
    first_local: dt.datetime,
    recurrence: str,
    lead_hours: int,
    channel_id: int | None,
) -> ReflexiveSchedule | None:
    """Store a schedule once; None when the same one exists (a double submit)."""
    key = schedule_key(team_id, prompt_id, custom_text, first_local, recurrence, channel_id)
    inserted = await insert_ignore(
        session,
        ReflexiveSchedule.__table__,  # type: ignore[arg-type]
        {
            "team_id": team_id,
            "prompt_id": prompt_id,
            "custom_text": custom_text,
            "first_local": first_local,
            "recurrence": recurrence,
            "lead_hours": lead_hours,
            "channel_id": channel_id,
            "active": True,
            "dedupe_key": key,
        },
        ["dedupe_key"],
    )
    if not inserted:
        return None
    return await session.scalar(
        select(ReflexiveSchedule).where(ReflexiveSchedule.dedupe_key == key)
    )


async def schedules_of(session: AsyncSession, team_id: int) -> Sequence[ReflexiveSchedule]:
    return (
        await session.scalars(
            select(ReflexiveSchedule)
            .where(ReflexiveSchedule.team_id == team_id, ReflexiveSchedule.active.is_(True))
            .order_by(ReflexiveSchedule.id)
        )
    ).all()


async def occurrence(
    session: AsyncSession, schedule_id: int, occurs_at: dt.datetime
) -> ReflexiveOccurrence:
    """The occurrence row for this schedule and time, created on first use."""
    await insert_ignore(
        session,
        ReflexiveOccurrence.__table__,  # type: ignore[arg-type]
        {"schedule_id": schedule_id, "occurs_at": occurs_at, "invited": False, "posted": False},
        ["schedule_id", "occurs_at"],
    )
    found = await session.scalar(
        select(ReflexiveOccurrence).where(
            ReflexiveOccurrence.schedule_id == schedule_id,
            ReflexiveOccurrence.occurs_at == occurs_at,
        )
    )
    assert found is not None
    return found


async def occurrence_by_id(session: AsyncSession, occurrence_id: int) -> ReflexiveOccurrence | None:
    return await session.get(ReflexiveOccurrence, occurrence_id)


def schedule_key(
    team_id: int,
    prompt_id: str | None,
    custom_text: str | None,
    first_local: dt.datetime,
    recurrence: str,
    channel_id: int | None,
) -> str:
    """What makes two schedules the same (a double submit, or an edit into another one)."""
    return digest(
        "reflexive",
        team_id,
        prompt_id or "",
        custom_text or "",
        first_local.isoformat(),
        recurrence,
        channel_id or "",
    )


async def schedule_of_team(
    session: AsyncSession, team_id: int, schedule_id: int
) -> ReflexiveSchedule | None:
    """An active schedule of this team (a card's id is client data: another team's is None)."""
    schedule = await session.get(ReflexiveSchedule, schedule_id)
    if schedule is None or schedule.team_id != team_id or not schedule.active:
        return None
    return schedule


async def key_taken(session: AsyncSession, key: str, other_than: int) -> bool:
    found = await session.scalar(
        select(ReflexiveSchedule.id).where(
            ReflexiveSchedule.dedupe_key == key, ReflexiveSchedule.id != other_than
        )
    )
    return found is not None


async def pending_occurrences(
    session: AsyncSession, schedule_id: int
) -> Sequence[ReflexiveOccurrence]:
    """The schedule's occurrences not posted yet: their pre-reflections still wait sealed."""
    return (
        await session.scalars(
            select(ReflexiveOccurrence).where(
                ReflexiveOccurrence.schedule_id == schedule_id,
                ReflexiveOccurrence.posted.is_(False),
            )
        )
    ).all()
