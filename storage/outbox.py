"""The outbox: every send is a row with a unique idempotency key, claimed atomically.

Claiming is one statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL so concurrent workers take
disjoint rows; on SQLite the conditional `UPDATE ... RETURNING` runs under the database's single
write lock. A claim is a lease: if its worker dies, the row becomes claimable again. A
workspace held after a 429 (its own `send_paces` row, storage.send_paces.hold) is skipped
until its hold ends, by every worker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.coordination import SendPace
from storage.models import OutboxMessage, SuspendedWorkspace
from storage.upsert import insert_ignore

PENDING, SENDING, SENT, FAILED, UNREACHABLE = "pending", "sending", "sent", "failed", "unreachable"


@dataclass(frozen=True)
class Envelope:
    """Where a message goes, as the adapters address it."""

    platform: str
    workspace: str
    kind: str  # "direct" | "channel"
    address: str


async def enqueue(
    session: AsyncSession,
    *,
    idem_key: str,
    envelope: Envelope,
    payload: dict[str, Any],
    not_before: dt.datetime,
    team_id: int | None = None,
    member_id: int | None = None,
) -> bool:
    """Queue a message once; a second call with the same key does nothing. True when queued."""
    return await insert_ignore(
        session,
        OutboxMessage.__table__,  # type: ignore[arg-type]
        {
            "idem_key": idem_key,
            "team_id": team_id,
            "member_id": member_id,
            "platform": envelope.platform,
            "workspace": envelope.workspace,
            "kind": envelope.kind,
            "address": envelope.address,
            "payload": payload,
            "not_before": not_before,
            "status": PENDING,
            "attempts": 0,
        },
        ["idem_key"],
    )


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    platforms: Sequence[str] | None = None,
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for `worker`; call inside a transaction and commit."""
    due = or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.not_before <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_until < now),
    )
    suspended = select(SuspendedWorkspace.platform).where(
        SuspendedWorkspace.platform == OutboxMessage.platform,
        SuspendedWorkspace.workspace == OutboxMessage.workspace,
    )
    held = select(SendPace.platform).where(
        SendPace.platform == OutboxMessage.platform,
        SendPace.scope == OutboxMessage.workspace,
        SendPace.paused_until > now,
    )
    candidates = select(OutboxMessage.id).where(due, ~suspended.exists(), ~held.exists())
    if platforms is not None:
        candidates = candidates.where(OutboxMessage.platform.in_(platforms))
    candidates = candidates.order_by(OutboxMessage.not_before, OutboxMessage.id).limit(limit)
    statement = update(OutboxMessage)
    if session.bind.dialect.name == "postgresql":
        # A MATERIALIZED CTE locks its rows once. As `id IN (SELECT ... LIMIT n FOR UPDATE SKIP
        # LOCKED)` the planner may pick a nested loop that re-runs the subquery for every row;
        # each run skips the rows this statement just updated, so the LIMIT stops limiting and
        # one worker claims the whole outbox.
        picked = candidates.with_for_update(skip_locked=True).cte("picked")
        picked = picked.prefix_with("MATERIALIZED")
        statement = statement.where(OutboxMessage.id == picked.c.id)
    else:
        # SQLite runs an uncorrelated IN subquery once, under the single write lock.
        statement = statement.where(OutboxMessage.id.in_(candidates.scalar_subquery()))
    statement = (
        statement.where(due)
        .values(
            status=SENDING,
            claimed_by=worker,
            claimed_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.scalars(statement)).all()
    return sorted(rows, key=lambda m: (m.not_before, m.id))


def _ours(message_id: int, worker: str) -> ColumnElement[bool]:
    """The row is still claimed by `worker`: a lease that expired and was taken over is not."""
    return and_(
        OutboxMessage.id == message_id,
        OutboxMessage.claimed_by == worker,
        OutboxMessage.status == SENDING,
    )


async def renew(
    session: AsyncSession, message_ids: Sequence[int], worker: str, until: dt.datetime
) -> set[int]:
    """Extend `worker`'s lease on these messages; returns the ids it still holds."""
    if not message_ids:
        return set()
    rows = await session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(message_ids)),
            OutboxMessage.claimed_by == worker,
            OutboxMessage.status == SENDING,
        )
        .values(claimed_until=until)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(rows.all())


async def mark_sent(session: AsyncSession, message_id: int, worker: str, now: dt.datetime) -> bool:
    """Record a delivery; False (and no change) unless `worker` still holds the claim."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_ours(message_id, worker))
        .values(status=SENT, sent_at=now, claimed_until=None, last_error=None)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_retry(
    session: AsyncSession,
    message_id: int,
    worker: str,
    error: str,
    retry_at: dt.datetime,
    *,
    counted: bool = True,
) -> bool:
    """Back to pending until `retry_at`. `counted=False` gives back the attempt the claim took:
    waiting because the platform asked to (a rate limit) is not the message failing."""
    attempts = OutboxMessage.attempts if counted else OutboxMessage.attempts - 1
    result = await session.execute(
        update(OutboxMessage)
        .where(_ours(message_id, worker))
        .values(
            status=PENDING,
            not_before=retry_at,
            claimed_until=None,
            last_error=error[:2000],
            attempts=attempts,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_failed(
    session: AsyncSession, message_id: int, worker: str, error: str, *, status: str = FAILED
) -> bool:
    result = await session.execute(
        update(OutboxMessage)
        .where(_ours(message_id, worker))
        .values(status=status, claimed_until=None, last_error=error[:2000])
    )
    return bool(getattr(result, "rowcount", 0))


async def forget(session: AsyncSession, key_prefix: str) -> None:
    """Delete messages whose key starts with `key_prefix` (a closed round's reminders)."""
    await session.execute(
        delete(OutboxMessage).where(OutboxMessage.idem_key.startswith(key_prefix))
    )


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: n for status, n in rows.all()}


async def purge_finished(session: AsyncSession, before: dt.datetime) -> int:
    """Delete finished messages (sent, failed, unreachable) due before `before`.

    Sent cards have done their work; keeping them would keep who was asked what, and when.
    """
    result = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status.in_((SENT, FAILED, UNREACHABLE)),
            OutboxMessage.not_before < before,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def suspend(session: AsyncSession, platform: str, workspace: str, now: dt.datetime) -> None:
    """Stop sending to a workspace (its token was revoked, the app uninstalled); nothing is lost:
    its messages stay pending until `resume`."""
    await insert_ignore(
        session,
        SuspendedWorkspace.__table__,  # type: ignore[arg-type]
        {"platform": platform, "workspace": workspace, "since": now},
        ["platform", "workspace"],
    )


async def resume(session: AsyncSession, platform: str, workspace: str) -> bool:
    result = await session.execute(
        delete(SuspendedWorkspace).where(
            SuspendedWorkspace.platform == platform, SuspendedWorkspace.workspace == workspace
        )
    )
    return bool(getattr(result, "rowcount", 0))
