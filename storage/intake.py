"""The intake: a platform delivery committed before it is acknowledged, processed after.

A row is sealed whole (who sent it, what they wrote, where to answer): a copy of the database
reads nothing in it. Any process's worker claims due rows for a lease, opens them, and hands
each to the engine, which deletes the row (`consume`) in the transaction that records the
submission; so a row is recorded once even if two workers ended up holding it (a lease that
ran out): the second transaction finds nothing to delete and rolls back.

Claiming follows storage/outbox.py: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
workers take disjoint rows; on SQLite a conditional UPDATE under the single write lock. The
lease's own value marks the claim (no worker column): releasing a row checks it, so a worker
whose lease was taken over leaves the row alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Intake, new_uuid
from storage.sealing import Sealer

log = logging.getLogger(__name__)
# Past this many failed attempts a row is kept (never dropped), retried once an hour, and an
# error is logged each time so that an operator looks (a bug, or a key this server lacks).
MAX_ATTEMPTS = 5
LONGEST_BACKOFF = dt.timedelta(hours=1)


class AlreadyConsumed(Exception):
    """The row was recorded by another worker (or is gone): nothing to do, nothing to say."""


def purpose(platform: str) -> str:
    """The associated data a row's blob is sealed with: it opens only as an intake row of
    the same platform."""
    return f"intake|{platform}"


@dataclass(frozen=True)
class Claimed:
    id: str
    platform: str
    blob: bytes
    attempts: int
    lease_until: dt.datetime  # this claim's mark (see `release`)

    def open(self, sealer: Sealer) -> Any:
        return sealer.open(purpose(self.platform), self.blob)


def sealed_row(sealer: Sealer, platform: str, payload: Any) -> dict[str, Any]:
    """A row to `put`, its payload sealed (built before the transaction: sealing is CPU)."""
    return {
        "id": new_uuid(),
        "platform": platform,
        "blob": sealer.seal(purpose(platform), payload),
        "lease_until": None,
        "attempts": 0,
    }


async def put(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows from `sealed_row`, in one statement; call inside a transaction."""
    if rows:
        await session.execute(insert(Intake), list(rows))


def _due(now: dt.datetime) -> Any:
    return or_(Intake.lease_until.is_(None), Intake.lease_until < now)


async def claim(
    session: AsyncSession,
    *,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    platforms: Sequence[str] | None = None,
) -> list[Claimed]:
    """Lease up to `limit` due rows until `now + lease`; call inside a transaction, commit."""
    until = now + lease
    candidates = select(Intake.id).where(_due(now)).limit(limit)
    if platforms is not None:
        candidates = candidates.where(Intake.platform.in_(list(platforms)))
    statement = update(Intake)
    if session.bind.dialect.name == "postgresql":
        # MATERIALIZED: the rows are picked and locked once (see storage/outbox.py `claim`).
        picked = candidates.with_for_update(skip_locked=True).cte("picked")
        picked = picked.prefix_with("MATERIALIZED")
        statement = statement.where(Intake.id == picked.c.id)
    else:
        statement = statement.where(Intake.id.in_(candidates.scalar_subquery()))
    statement = (
        statement.where(_due(now))
        .values(lease_until=until)
        .returning(Intake.id, Intake.platform, Intake.blob, Intake.attempts, Intake.lease_until)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    return [Claimed(r.id, r.platform, bytes(r.blob), r.attempts, r.lease_until) for r in rows]


async def consume(session: AsyncSession, intake_id: str) -> None:
    """Delete the row, in the transaction that records what it held; `AlreadyConsumed` (and
    so a rollback of that transaction) when another one did it first."""
    result = await session.execute(delete(Intake).where(Intake.id == intake_id))
    if not getattr(result, "rowcount", 0):
        raise AlreadyConsumed(intake_id)


def backoff(attempts: int) -> dt.timedelta:
    """How long a row waits after its `attempts`-th failure: 2, 4, 8, 16 s, then an hour."""
    if attempts >= MAX_ATTEMPTS:
        return LONGEST_BACKOFF
    return min(dt.timedelta(seconds=2**attempts), LONGEST_BACKOFF)


async def release(
    session: AsyncSession, row: Claimed, *, now: dt.datetime, after: dt.timedelta | None = None
) -> bool:
    """A failed attempt: the row is kept, counted, and leased away for its backoff. With
    `after`, the failure was not the row's (the database was away): not counted, due again
    `after` from now. False (nothing changed) when the claim is no longer ours or the row is
    gone."""
    attempts = row.attempts + 1 if after is None else row.attempts
    until = now + (backoff(attempts) if after is None else after)
    result = await session.execute(
        update(Intake)
        .where(Intake.id == row.id, Intake.lease_until == row.lease_until)
        .values(attempts=attempts, lease_until=until)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed and after is None and attempts >= MAX_ATTEMPTS:
        # No content, no person, no id: only that a row is stuck, for an operator.
        log.error(
            "intake: a %s delivery failed %d times; it is kept and retried hourly",
            row.platform,
            attempts,
        )
    return changed


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Intake)) or 0)
