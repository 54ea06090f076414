"""Shared successes. A named one is kept with its author's name (their choice) at once; an
anonymous one waits sealed for the weekly batch and is then written, shuffled, under a fresh
id; one shared for the summary only is sealed too and, at the batch, only counted."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.successes.models import Success, SuccessTally
from storage.dedupe import digest
from storage.models import new_uuid
from storage.upsert import insert_ignore

NAMED, ANONYMOUS, SUMMARY_ONLY = "named", "anonymous", "summary_only"
CONSENTS = (NAMED, ANONYMOUS, SUMMARY_ONLY)
KIND = "success"
WEEK_BATCH = "week"
PUBLISHED = "published"


async def add_named(
    session: AsyncSession,
    *,
    team_id: int,
    text: str,
    author_name: str,
    prompt_id: str | None,
    today: dt.date,
) -> Success | None:
    """Store a named success once; None when the same one was already stored (a double
    submit). Named by choice: posted at once, so nothing about it is hidden."""
    # Same day, same words, same name: a double submit. Another day: a new success.
    key = digest("success", team_id, NAMED, author_name, text.strip(), today.isoformat())
    inserted = await insert_ignore(
        session,
        Success.__table__,  # type: ignore[arg-type]
        {
            "id": new_uuid(),
            "team_id": team_id,
            "text": text,
            "consent": NAMED,
            "author_name": author_name,
            "prompt_id": prompt_id,
            "status": PUBLISHED,
            "created_on": today,
            "dedupe_key": key,
        },
        ["dedupe_key"],
    )
    if not inserted:
        return None
    return await session.scalar(select(Success).where(Success.dedupe_key == key))


async def write_opened(
    session: AsyncSession, team_id: int, opened: Sequence[dict[str, Any]], today: dt.date
) -> list[Success]:
    """Write anonymous successes just opened from the sealed inbox, published: fresh random
    ids, a random order, ONE statement (one row version each), the batch's day."""
    rows = [
        {
            "id": new_uuid(),
            "team_id": team_id,
            "text": payload["text"],
            "consent": ANONYMOUS,
            "author_name": None,
            "prompt_id": payload.get("prompt") or None,
            "status": PUBLISHED,
            "created_on": today,
            "dedupe_key": new_uuid(),  # repeats are refused while sealed
        }
        for payload in opened
    ]
    if not rows:
        return []
    random.SystemRandom().shuffle(rows)
    await session.execute(insert(Success).values(rows))
    return [Success(**row) for row in rows]


async def count_in_tally(session: AsyncSession, team_id: int, day: dt.date, count: int) -> None:
    """Add `count` summary-only successes to the team's tally of `day` (an upsert: two
    batches on one day add up)."""
    if count <= 0:
        return
    builder = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = builder(SuccessTally).values(team_id=team_id, day=day, count=count)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["team_id", "day"],
            set_={"count": SuccessTally.count + statement.excluded.count},
        )
    )


async def pending_successes(session: AsyncSession, team_id: int) -> Sequence[Success]:
    """Anonymous successes stored in the clear before sealing existed, still unpublished."""
    return (
        await session.scalars(
            select(Success).where(Success.team_id == team_id, Success.status == "pending")
        )
    ).all()
