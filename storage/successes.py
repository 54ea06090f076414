"""Shared successes, kept with the author's name only when they chose to be named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Success, new_uuid
from storage.tensions import digest
from storage.upsert import insert_ignore

NAMED, ANONYMOUS, SUMMARY_ONLY = "named", "anonymous", "summary_only"
CONSENTS = (NAMED, ANONYMOUS, SUMMARY_ONLY)


async def add_success(
    session: AsyncSession,
    *,
    team_id: int,
    text: str,
    consent: str,
    author_name: str | None,
    prompt_id: str | None,
    today: dt.date,
) -> Success | None:
    """Store a success once; None when the same one was already stored (a double submit)."""
    if consent not in CONSENTS:
        raise ValueError(f"unknown consent {consent!r}")
    # Same day, same words, same consent: a double submit. Another day: a new success.
    key = digest("success", team_id, consent, author_name or "", text.strip(), today.isoformat())
    inserted = await insert_ignore(
        session,
        Success.__table__,  # type: ignore[arg-type]
        {
            "id": new_uuid(),
            "team_id": team_id,
            "text": text,
            "consent": consent,
            "author_name": author_name if consent == NAMED else None,
            "prompt_id": prompt_id,
            "status": "kept" if consent == SUMMARY_ONLY else "pending",
            "created_on": today,
            "dedupe_key": key,
        },
        ["dedupe_key"],
    )
    if not inserted:
        return None
    return await session.scalar(select(Success).where(Success.dedupe_key == key))


async def pending_successes(session: AsyncSession, team_id: int) -> Sequence[Success]:
    return (
        await session.scalars(
            select(Success).where(Success.team_id == team_id, Success.status == "pending")
        )
    ).all()
