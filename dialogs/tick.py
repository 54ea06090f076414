"""When the minute tick runs, and what it cleans: the period that names a tick's claims, the
backoff of a failing team, and the installation's housekeeping (dialogs.jobs runs the tick)."""

from __future__ import annotations

import datetime as dt

from storage import job_claims, outbox
from storage.database import Database
from storage.maintenance import purge_expired

# Finished outbox rows are kept this long (to see what was sent when debugging), then deleted.
OUTBOX_RETENTION = dt.timedelta(days=14)
# The calendar's tick period (bot.scheduler passes its own): every process must use the same,
# since a tick's occurrence is the period it falls in.
TICK = dt.timedelta(minutes=1)


async def housekeeping(database: Database, now: dt.datetime, occurrence: str) -> None:
    """Delete finished outbox rows past their retention and expired shared state, once per
    tick period across processes (claimed for the installation)."""
    async with database.session() as session, session.begin():
        if await job_claims.claim(session, job_claims.INSTALLATION, "maintenance", occurrence, now):
            await outbox.purge_finished(session, now - OUTBOX_RETENTION)
            await purge_expired(session, now)


def tick_occurrence(now: dt.datetime, period: dt.timedelta = TICK) -> str:
    """The tick period `now` falls in, in UTC (a minute in production): "2026-12-08T15:01:00Z".
    Processes tick at their own offsets within a period; they all name it alike."""
    seconds = max(1, int(period.total_seconds()))
    stamp = int(now.timestamp()) // seconds * seconds
    return f"{dt.datetime.fromtimestamp(stamp, dt.UTC):%Y-%m-%dT%H:%M:%S}Z"


class TickBackoff:
    """When a failing team is tried again: the next tick, then after 2, 4, 8... minutes, at
    most an hour, while it keeps failing. Kept per process: it only paces retries (a failed
    tick leaves no claim, so each process may try the team once per period of its backoff),
    and every retry is idempotent (the jobs' occurrence keys, the outbox's idempotency
    keys)."""

    FIRST, LONGEST = dt.timedelta(minutes=1), dt.timedelta(hours=1)

    def __init__(self) -> None:
        self._failures: dict[int, int] = {}
        self._next: dict[int, dt.datetime] = {}

    def due(self, team_id: int, now: dt.datetime) -> bool:
        return now >= self._next.get(team_id, now)

    def failed(self, team_id: int, now: dt.datetime) -> dt.timedelta:
        failures = self._failures[team_id] = self._failures.get(team_id, 0) + 1
        delay = min(self.FIRST * 2 ** (failures - 1), self.LONGEST)
        self._next[team_id] = now + delay
        return delay

    def succeeded(self, team_id: int) -> None:
        self._failures.pop(team_id, None)
        self._next.pop(team_id, None)
