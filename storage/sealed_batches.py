"""Sealing a submission once, and taking a whole batch out of the sealed inbox atomically.

Used by tensions, anonymous and summary-only successes and pre-reflections (see
`storage.sealed` for the inbox itself).

- `seal_once` names the sealed row by a keyed hash of what makes a submission the same (the
  same words, the same day...), shaped as a random UUID: a double submit hits the primary key
  and is stored once, even from two processes at once, while without the server's secret the
  id is as meaningless as a random one. Nothing else about the submission is in the clear.
- `take` deletes a batch's rows and returns their opened payloads in ONE statement
  (`DELETE ... RETURNING`): a row sealed while the batch runs is not in the statement's
  snapshot, so it waits for the next batch instead of being deleted unread, and two processes
  running the same batch cannot both publish it (the second deletes, and so gets, nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Sealed
from storage.sealed import OpenedBatch, open_rows, purpose
from storage.sealing import Sealer
from storage.upsert import insert_ignore


def once_id(sealer: Sealer, kind: str, team_id: int, *same: object) -> str:
    """The id of the sealed row for this submission: keyed, so it cannot be recomputed (or a
    guess of the text tested) without the secret; version-4 shaped like every other id."""
    digest = bytes.fromhex(sealer.tag("sealed-once", kind, team_id, *same))[:16]
    return uuid.UUID(bytes=digest, version=4).hex


async def sealed_exists(session: AsyncSession, row_id: str) -> bool:
    return await session.scalar(select(Sealed.id).where(Sealed.id == row_id)) is not None


async def seal_once(
    session: AsyncSession,
    sealer: Sealer,
    *,
    row_id: str,
    team_id: int,
    kind: str,
    batch: str,
    payload: Any,
) -> bool:
    """Seal `payload` under `row_id` (see `once_id`); False when that row already exists."""
    return await insert_ignore(
        session,
        Sealed.__table__,  # type: ignore[arg-type]
        {
            "id": row_id,
            "team_id": team_id,
            "kind": kind,
            "batch": batch,
            "blob": sealer.seal(purpose(team_id, kind, batch), payload),
        },
        ["id"],
    )


async def take(
    session: AsyncSession,
    sealer: Sealer,
    *,
    team_id: int,
    kind: str,
    batches: Sequence[str],
) -> OpenedBatch:
    """Delete every sealed row of `kind` waiting for one of `batches`; their payloads opened,
    shuffled, and how many could not be opened (deleted too: the caller says so)."""
    if not batches:
        return OpenedBatch([], 0)
    rows = (
        await session.execute(
            delete(Sealed)
            .where(Sealed.team_id == team_id, Sealed.kind == kind, Sealed.batch.in_(list(batches)))
            .returning(Sealed.batch, Sealed.blob)
            .execution_options(synchronize_session=False)
        )
    ).all()
    return open_rows(sealer, team_id, kind, rows)
