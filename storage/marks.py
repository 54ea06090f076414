"""Expiring facts every process shares (`marks`): "this delivery was handled", "this view was
closed". What used to be a per-process cache, so that a Slack retry or a Teams activity that
reaches another process behind the load balancer is still recognised.

Keys are keyed hashes made by the caller (`Sealer.tag`): a copy of the table names no Slack
event, Teams activity or person. An expired mark counts as absent and is taken over by the
next `first_time`; `purge_expired` deletes what expired (the calendar's minute tick may call
it; nothing depends on it but the table's size).

A mark is best written in the transaction that does the work it stands for (the intake's
group commit for a Slack submission, `Engine.handle(..., once=...)` for a Teams activity): a
failed transaction leaves no mark, so the platform's retry or the person's resend is handled,
even when the database went away before anything could be undone. On PostgreSQL a concurrent
duplicate waits on the uncommitted mark's key until the first commits (then finds it and does
nothing) or rolls back (then goes ahead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.coordination import Mark

# How long a delivery is remembered: Slack and the Bot Connector retry within minutes.
DELIVERY_TTL = dt.timedelta(minutes=15)


async def first_time(session: AsyncSession, key: str, ttl: dt.timedelta, now: dt.datetime) -> bool:
    """Mark `key` until now + ttl. True only for the one caller that set it: a live mark is
    left alone (False); an expired one is replaced as if absent. Committed by the caller's
    transaction."""
    return key in await first_times(session, [key], ttl, now)


async def first_times(
    session: AsyncSession, keys: Sequence[str], ttl: dt.timedelta, now: dt.datetime
) -> set[str]:
    """`first_time` for several keys in one statement (a group commit): the keys this call
    marked.

    INSERT ... ON CONFLICT DO UPDATE ... WHERE expired RETURNING. PostgreSQL locks the
    conflicting row, and a concurrent statement re-checks the WHERE against the row as the
    winner left it (no longer expired), so exactly one of them gets the key back; SQLite runs
    writers one at a time. The keys are inserted in sorted order, so that two transactions
    marking overlapping sets lock them in the same order (no deadlock)."""
    unique = sorted(set(keys))  # one statement may not touch a row twice
    if not unique:
        return set()
    expires = now + ttl
    builder = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    insert = builder(Mark).values([{"key": key, "expires_at": expires} for key in unique])
    statement = insert.on_conflict_do_update(
        index_elements=["key"],
        set_={"expires_at": insert.excluded.expires_at},
        where=Mark.expires_at <= now,
    ).returning(Mark.key)
    return set((await session.scalars(statement)).all())


async def present(session: AsyncSession, key: str, now: dt.datetime) -> bool:
    """Whether `key` is marked and not expired."""
    found = await session.scalar(select(Mark.key).where(Mark.key == key, Mark.expires_at > now))
    return found is not None


async def forget(session: AsyncSession, key: str) -> None:
    """Unmark `key` (a delivery that was not committed may come again)."""
    await session.execute(delete(Mark).where(Mark.key == key))


async def purge_expired(session: AsyncSession, now: dt.datetime) -> int:
    """Delete the marks that expired; how many."""
    result = await session.execute(delete(Mark).where(Mark.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
