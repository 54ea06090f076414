"""The sealed inbox: submissions kept encrypted until their batch opens them.

A row carries in the clear only its team, its kind and the batch it waits for. `open_batch`
reads and opens every row of one batch (in a random order: the caller writes what it must in
that order); the caller then deletes them with `delete_batch` in the same transaction, so a
batch's content moves from sealed rows to its published form at once.

Blobs sealed under a key this server no longer holds (a lost or retired secret) are returned
apart, as a count: the caller says so and asks again where it can, never drops them silently.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Sealed, new_uuid
from storage.sealing import SealBroken, Sealer


def purpose(team_id: int, kind: str, batch: str) -> str:
    """The associated data a blob is bound to: it opens only in its own team, kind and batch."""
    return f"{kind}|{team_id}|{batch}"


async def seal(
    session: AsyncSession, sealer: Sealer, *, team_id: int, kind: str, batch: str, payload: Any
) -> str:
    """Store one sealed submission; its id (random: it orders nothing)."""
    row_id = new_uuid()
    await session.execute(
        insert(Sealed).values(
            id=row_id,
            team_id=team_id,
            kind=kind,
            batch=batch,
            blob=sealer.seal(purpose(team_id, kind, batch), payload),
        )
    )
    return row_id


@dataclass(frozen=True)
class OpenedBatch:
    payloads: list[Any]  # in a random order
    unopenable: int  # rows whose key this server does not hold, or that were tampered with


async def open_batch(
    session: AsyncSession,
    sealer: Sealer,
    *,
    team_id: int,
    kind: str,
    batches: Sequence[str],
) -> OpenedBatch:
    """Open every sealed row of `kind` waiting for one of `batches`, shuffled."""
    if not batches:
        return OpenedBatch([], 0)
    rows = (
        await session.execute(
            select(Sealed.batch, Sealed.blob).where(
                Sealed.team_id == team_id, Sealed.kind == kind, Sealed.batch.in_(list(batches))
            )
        )
    ).all()
    return open_rows(sealer, team_id, kind, rows)


def open_rows(sealer: Sealer, team_id: int, kind: str, rows: Sequence[Any]) -> OpenedBatch:
    """Open (batch, blob) rows of one team and kind: the payloads shuffled, and how many
    did not open."""
    payloads: list[Any] = []
    unopenable = 0
    for batch, blob in rows:
        try:
            payloads.append(sealer.open(purpose(team_id, kind, batch), bytes(blob)))
        except SealBroken:
            unopenable += 1
    random.SystemRandom().shuffle(payloads)
    return OpenedBatch(payloads, unopenable)


async def delete_batch(
    session: AsyncSession, *, team_id: int, kind: str, batches: Sequence[str]
) -> int:
    if not batches:
        return 0
    result = await session.execute(
        delete(Sealed)
        .where(Sealed.team_id == team_id, Sealed.kind == kind, Sealed.batch.in_(list(batches)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
