"""Sending paces shared by every process: a slot reservation per scope, learned from 429s.

Each scope (a workspace and method, a conversation, a tenant) is one `send_paces` row holding a
generic cell rate algorithm's theoretical arrival time (`next_at`) and the seconds between
calls currently believed safe (`interval`). A caller reserves the next slot in one short
transaction: the row moves `next_at` on by one interval and the caller sleeps until its slot,
so N processes together keep one pace instead of N.

The interval is learned: a 429 makes it longer (`Rule.slower`, once per pause: the several
calls in flight when a limit is met count as one episode) and holds the scope until the
platform's Retry-After; `Rule.probe_after` calls answered without one make it a little shorter
(`Rule.faster`), so the pace settles just under whatever limit is in force and follows it when
it changes. Successes are counted by each process and added with its next reservation: no
extra round trip per call.

A workspace's own row (scope = the workspace id, interval 0) is its hold: the outbox claims
nothing for it until `paused_until` (storage.outbox.claim).

PostgreSQL reserves in one statement (a CTE locks the row, the UPDATE moves it, RETURNING gives
the slot); SQLite, whose writes are serialised anyway, reads and writes the row in Python under
its write lock, with the same arithmetic (`advance`, tested against both).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Float, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.coordination import SendPace
from storage.models import UtcDateTime
from storage.upsert import insert_ignore

SCOPE_LENGTH = 200  # storage.coordination.SendPace.scope
# A reservation ends with the new next_at a hair past `now` when the scope was idle: "busy"
# means calls were already queued beyond that.
BUSY_EPSILON = dt.timedelta(milliseconds=1)


@dataclass(frozen=True)
class Rule:
    """How one kind of scope is paced and learned."""

    interval: float  # seconds between calls, to begin with
    fastest: float  # the shortest interval ever tried
    slowest: float  # the longest one 429s can push it to
    burst: int = 1  # calls that may go at once after a lull
    probe_after: int = 30  # calls answered without a 429 before a faster pace is tried
    faster: float = 0.95  # the interval's factor when probing
    slower: float = 1.25  # its factor on a 429

    def clamp(self, interval: float) -> float:
        return min(self.slowest, max(self.fastest, interval))


@dataclass(frozen=True)
class State:
    next_at: dt.datetime
    interval: float
    paused_until: dt.datetime | None
    streak: int


@dataclass(frozen=True)
class Slot:
    at: dt.datetime  # when the call may go
    reserved: bool  # False: later than the caller would wait; nothing was taken
    busy: bool  # calls were already queued on this scope (blame it for a 429)


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def fresh(now: dt.datetime, rule: Rule) -> State:
    return State(next_at=now, interval=rule.clamp(rule.interval), paused_until=None, streak=0)


def advance(
    state: State, now: dt.datetime, rule: Rule, successes: int, latest: dt.datetime
) -> tuple[State, Slot]:
    """The slot a call gets, and the row after it (unchanged when the slot is past `latest`)."""
    streak = state.streak + successes
    interval = rule.clamp(state.interval)
    if streak >= rule.probe_after:
        interval, streak = rule.clamp(interval * rule.faster), 0
    paused = state.paused_until or now
    at = max(now, paused, state.next_at - _seconds(interval * (rule.burst - 1)))
    busy = state.next_at > now + BUSY_EPSILON
    if at > latest:
        return state, Slot(at, reserved=False, busy=busy)
    next_at = max(state.next_at, now, paused) + _seconds(interval)
    return State(next_at, interval, state.paused_until, streak), Slot(at, True, busy)


def penalized(state: State, now: dt.datetime, rule: Rule, retry_after: float) -> State:
    """The row after a 429: slower (once per pause), held until Retry-After, no burst after."""
    first = state.paused_until is None or state.paused_until <= now
    interval = rule.clamp(state.interval * rule.slower) if first else state.interval
    until = max(state.paused_until or now, now + _seconds(retry_after))
    next_at = max(state.next_at, until + _seconds(interval * (rule.burst - 1)))
    return State(next_at, interval, until, streak=0)


# ------------------------------------------------------------------------------ database
async def _locked(session: AsyncSession, platform: str, scope: str, initial: State) -> SendPace:
    """The row, created if missing, locked until the transaction ends (SQLite: the insert
    takes the write lock first, so the read below is the latest and nobody writes between)."""
    await insert_ignore(
        session,
        SendPace.__table__,  # type: ignore[arg-type]
        {
            "platform": platform,
            "scope": scope,
            "next_at": initial.next_at,
            "interval": initial.interval,
            "paused_until": initial.paused_until,
            "streak": initial.streak,
        },
        ["platform", "scope"],
    )
    row = await session.scalar(
        select(SendPace)
        .where(SendPace.platform == platform, SendPace.scope == scope)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def _state(row: SendPace) -> State:
    return State(row.next_at, row.interval, row.paused_until, row.streak)


def _store(row: SendPace, state: State) -> None:
    row.next_at, row.interval = state.next_at, state.interval
    row.paused_until, row.streak = state.paused_until, state.streak


_RESERVE = text(
    """
    WITH old AS (
        SELECT next_at, "interval", paused_until, streak FROM send_paces
        WHERE platform = :platform AND scope = :scope FOR UPDATE
    ), probed AS (
        SELECT old.*,
            CASE WHEN old.streak + :successes >= :probe_after
                THEN LEAST(:slowest, GREATEST(:fastest,
                    LEAST(:slowest, GREATEST(:fastest, old."interval")) * :faster))
                ELSE LEAST(:slowest, GREATEST(:fastest, old."interval")) END AS new_interval,
            CASE WHEN old.streak + :successes >= :probe_after
                THEN 0 ELSE old.streak + :successes END AS new_streak
        FROM old
    ), slot AS (
        SELECT probed.*,
            GREATEST(:now, COALESCE(probed.paused_until, :now),
                probed.next_at - make_interval(secs => probed.new_interval * (:burst - 1))) AS at
        FROM probed
    )
    UPDATE send_paces SET
        next_at = CASE WHEN slot.at <= :latest
            THEN GREATEST(slot.next_at, :now, COALESCE(slot.paused_until, :now))
                + make_interval(secs => slot.new_interval)
            ELSE send_paces.next_at END,
        "interval" = CASE WHEN slot.at <= :latest THEN slot.new_interval
            ELSE send_paces."interval" END,
        streak = CASE WHEN slot.at <= :latest THEN slot.new_streak ELSE send_paces.streak END
    FROM slot
    WHERE send_paces.platform = :platform AND send_paces.scope = :scope
    RETURNING slot.at, slot.at <= :latest AS reserved, slot.next_at > :busy_after AS busy
    """
).bindparams(
    bindparam("now", type_=UtcDateTime()),
    bindparam("latest", type_=UtcDateTime()),
    bindparam("busy_after", type_=UtcDateTime()),
    bindparam("slowest", type_=Float()),
    bindparam("fastest", type_=Float()),
    bindparam("faster", type_=Float()),
)


async def reserve(
    session: AsyncSession,
    platform: str,
    scope: str,
    now: dt.datetime,
    rule: Rule,
    *,
    successes: int = 0,
    latest: dt.datetime | None = None,
) -> Slot:
    """Reserve the next slot of `scope` (one per call), unless it is past `latest`; add
    `successes` (calls this process saw answered since its last reservation) to the streak.
    Call in a transaction of its own and commit at once: the row stays locked until then."""
    latest = latest or now + dt.timedelta(days=1)
    scope = scope[:SCOPE_LENGTH]
    if session.bind.dialect.name == "postgresql":
        params = {
            "platform": platform,
            "scope": scope,
            "now": now,
            "latest": latest,
            "busy_after": now + BUSY_EPSILON,
            "successes": successes,
            "probe_after": rule.probe_after,
            "slowest": rule.slowest,
            "fastest": rule.fastest,
            "faster": rule.faster,
            "burst": rule.burst,
        }
        found = (await session.execute(_RESERVE, params)).one_or_none()
        if found is None:  # the scope's first call: create its row, then reserve
            await insert_ignore(
                session,
                SendPace.__table__,  # type: ignore[arg-type]
                {"platform": platform, "scope": scope, "next_at": now, "interval": rule.interval}
                | {"paused_until": None, "streak": 0},
                ["platform", "scope"],
            )
            found = (await session.execute(_RESERVE, params)).one()
        at = found.at if found.at.tzinfo else found.at.replace(tzinfo=dt.UTC)
        return Slot(at.astimezone(dt.UTC), bool(found.reserved), bool(found.busy))
    row = await _locked(session, platform, scope, fresh(now, rule))
    state, slot = advance(_state(row), now, rule, successes, latest)
    _store(row, state)
    return slot


async def penalize(
    session: AsyncSession,
    platform: str,
    scope: str,
    now: dt.datetime,
    rule: Rule,
    retry_after: float,
) -> dt.datetime:
    """A 429 on `scope`: slow down, hold until Retry-After. Returns the end of the hold."""
    row = await _locked(session, platform, scope[:SCOPE_LENGTH], fresh(now, rule))
    state = penalized(_state(row), now, rule, retry_after)
    _store(row, state)
    assert state.paused_until is not None
    return state.paused_until


async def hold(
    session: AsyncSession, platform: str, scope: str, now: dt.datetime, until: dt.datetime
) -> None:
    """Hold `scope` (a workspace: the outbox claims nothing for it) until `until`."""
    row = await _locked(session, platform, scope[:SCOPE_LENGTH], State(now, 0.0, None, 0))
    if row.paused_until is None or row.paused_until < until:
        row.paused_until = until


async def paused_until(
    session: AsyncSession, platform: str, scope: str, now: dt.datetime
) -> dt.datetime | None:
    """The end of the scope's hold, if it is held at `now`."""
    until = await session.scalar(
        select(SendPace.paused_until).where(
            SendPace.platform == platform, SendPace.scope == scope[:SCOPE_LENGTH]
        )
    )
    return until if until is not None and until > now else None


async def find(session: AsyncSession, platform: str, scope: str) -> State | None:
    row = await session.get(SendPace, (platform, scope[:SCOPE_LENGTH]))
    return None if row is None else replace(_state(row))


async def purge(session: AsyncSession, before: dt.datetime, *, containing: str = "") -> int:
    """Forget scopes (whose key contains `containing`) idle since `before`: a conversation
    written to once needs no row, and the table stays the size of what is being sent to."""
    statement = delete(SendPace).where(
        SendPace.next_at < before,
        (SendPace.paused_until.is_(None)) | (SendPace.paused_until < before),
    )
    if containing:
        statement = statement.where(SendPace.scope.contains(containing, autoescape=True))
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
