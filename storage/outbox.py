"""The outbox: every send is a row with a unique idempotency key, claimed atomically.

Claiming is one statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL so concurrent workers take
disjoint rows; on SQLite the conditional `UPDATE ... RETURNING` runs under the database's single
write lock. A claim is a lease: if its worker dies, the row becomes claimable again. A
workspace held after a 429 (its own `send_paces` row, storage.send_paces.hold) is skipped
until its hold ends, by every worker. Claims take turns between flows (a workspace's direct
messages, each channel), so a fan-out and a busy channel do not wait for each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    case,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.coordination import SendPace
from storage.models import OutboxMessage, SuspendedWorkspace
from storage.upsert import insert_ignore

PENDING, SENDING, SENT, FAILED, UNREACHABLE = "pending", "sending", "sent", "failed", "unreachable"
# PostgreSQL: a claim of n locks among the n * CANDIDATES best-ranked rows (storage.outbox.claim).
CANDIDATES = 4


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
    """Claim up to `limit` due messages for `worker`; call inside a transaction and commit.

    Fair between flows: a workspace's direct messages are one flow (a fan-out), each channel
    conversation another. Candidates are taken in round robin, by their rank within their flow
    (the flow's messages already in flight, any worker's, counted first), so posts queued after
    a 2,000-member fan-out go in the first batch, and a worker that still holds ten posts of a
    slow channel gets the fan-out's messages before more of that channel. One conversation's
    messages keep their order (not_before, id); a conversation another worker is sending is
    left to it (best effort: two claims at the same instant may still split one).
    """
    row = aliased(OutboxMessage, name="flow_row")
    ranking = _ranked(row, worker, now, platforms)
    statement = update(OutboxMessage)
    if session.bind.dialect.name == "postgresql":
        # Window functions cannot sit in a FOR UPDATE query: the ranking is computed first,
        # once (a MATERIALIZED CTE), and its best `limit * CANDIDATES` ids, as one array, are
        # what the claim locks among (rows other workers lock meanwhile are skipped without
        # leaving the batch short). Looked up by primary key: a join to the ranking let the
        # planner, its statistics stale after a fan-out was queued, compare every due row with
        # every ranked one (1.5 s at 2,000).
        ranked = ranking.subquery("ranked")
        top = (
            select(ranked.c.id, ranked.c.rank, ranked.c.not_before)
            .where(ranked.c.eligible == 1)
            .order_by(ranked.c.rank, ranked.c.not_before, ranked.c.id)
            .limit(limit * CANDIDATES)
            .cte("top")
            .prefix_with("MATERIALIZED")
        )
        best = select(
            func.array_agg(aggregate_order_by(top.c.id, top.c.rank, top.c.not_before, top.c.id))
        ).scalar_subquery()
        # Only the outbox row is locked; its due-ness is checked again on the locked version.
        # A MATERIALIZED CTE locks its rows once. As `id IN (SELECT ... LIMIT n FOR UPDATE
        # SKIP LOCKED)` the planner may pick a nested loop that re-runs the subquery for every
        # row; each run skips the rows this statement just updated, so the LIMIT stops
        # limiting and one worker claims the whole outbox.
        picked = (
            select(OutboxMessage.id)
            .where(OutboxMessage.id == any_(cast(best, ARRAY(Integer))), _due(OutboxMessage, now))
            .order_by(func.array_position(best, OutboxMessage.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
        # By primary key too, the CTE's rows in one array (run once, as an InitPlan).
        chosen = select(func.array_agg(picked.c.id)).scalar_subquery()
        statement = statement.where(OutboxMessage.id == any_(cast(chosen, ARRAY(Integer))))
    else:
        # SQLite runs an uncorrelated IN subquery once, under the single write lock.
        ranked = ranking.subquery("ranked")
        order = (ranked.c.rank, ranked.c.not_before, ranked.c.id)
        candidates = select(ranked.c.id).where(ranked.c.eligible == 1).order_by(*order)
        statement = statement.where(OutboxMessage.id.in_(candidates.limit(limit).scalar_subquery()))
    statement = (
        statement.where(_due(OutboxMessage, now))
        .values(
            status=SENDING,
            claimed_by=worker,
            claimed_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    return fair_order((await session.scalars(statement)).all())


def flow(message: OutboxMessage) -> tuple[str, str, str]:
    """The flow a message belongs to: its workspace's direct messages, or its channel."""
    address = "" if message.kind == "direct" else message.address
    return (message.platform, message.workspace, address)


def fair_order(messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """Round robin between flows, each flow in (not_before, id) order: the order a worker
    starts a batch in (RETURNING keeps none)."""
    flows: dict[tuple[str, str, str], list[OutboxMessage]] = {}
    for message in sorted(messages, key=lambda m: (m.not_before, m.id)):
        flows.setdefault(flow(message), []).append(message)
    turns = [(n, m.not_before, m.id, m) for f in flows.values() for n, m in enumerate(f)]
    return [m for *_, m in sorted(turns, key=lambda t: t[:3])]


def _due(row: Any, now: dt.datetime) -> ColumnElement[bool]:
    """Pending and due, or claimed by a worker whose lease ran out."""
    return or_(
        and_(row.status == PENDING, row.not_before <= now),
        and_(row.status == SENDING, row.claimed_until < now),
    )


def _ranked(
    row: Any, worker: str, now: dt.datetime, platforms: Sequence[str] | None
) -> Select[Any]:
    """Due and in-flight messages of workspaces neither suspended nor held, with their rank in
    their flow and whether they may be claimed now (due, conversation not another worker's)."""
    in_flight = and_(row.status == SENDING, row.claimed_until >= now)
    flying = case((in_flight, 0), else_=1)
    others = case((and_(in_flight, row.claimed_by != worker), 1), else_=0)
    flow_address = case((row.kind == "direct", ""), else_=row.address)
    rank = func.row_number().over(
        partition_by=(row.platform, row.workspace, flow_address),
        order_by=(flying, row.not_before, row.id),
    )
    taken = func.max(others).over(partition_by=(row.platform, row.workspace, row.address))
    suspended = select(SuspendedWorkspace.platform).where(
        SuspendedWorkspace.platform == row.platform,
        SuspendedWorkspace.workspace == row.workspace,
    )
    held = select(SendPace.platform).where(
        SendPace.platform == row.platform,
        SendPace.scope == row.workspace,
        SendPace.paused_until > now,
    )
    eligible = case((and_(flying == 1, taken == 0), 1), else_=0)
    ranked = select(row.id, row.not_before, rank.label("rank"), eligible.label("eligible")).where(
        or_(_due(row, now), in_flight), ~suspended.exists(), ~held.exists()
    )
    if platforms is not None:
        ranked = ranked.where(row.platform.in_(platforms))
    return ranked


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
