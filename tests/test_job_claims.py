"""One runner per calendar occurrence (storage/job_claims.py), and the maintenance by one process
at a time (storage/maintenance.py), on SQLite and PostgreSQL.

- Two calendars firing the same weekly occurrence at once: the job's work runs once (a spy on
  the job counts its runs; the claim row says which occurrence), and a later firing within the
  grace does nothing.
- A runner that fails, or a real process killed with SIGKILL while it holds the claim in its
  open transaction, leaves the occurrence claimable: the process waiting on the claim (or the
  next firing) runs it.
- Two engines ticking in the same period do each team's work once; the next period is claimed
  anew; the housekeeping (expired marks and drafts, old claims, finished outbox rows) is done by
  one of them.
- PostgreSQL: a `VACUUM` run finds the maintenance's advisory lock held by another real process
  and skips (False), is owed and done at the next tick once the lock is free.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.scheduler import Calendar, occurrence_of, team_triggers
from dialogs.engine import Engine
from dialogs.jobs import tick_occurrence
from dialogs.registry import JobRun, Occasion
from storage import job_claims, maintenance
from storage.coordination import FormDraft, JobClaim, Mark
from storage.database import Database
from tests import own_cluster as isolated
from tests.conftest import Clock
from tests.helpers import seeded
from tests.test_scheduler import _in_cadence_checkin, round_count, team_named

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC

# Its PostgreSQL databases in a cluster of its own (tests/own_cluster.py says why).
own_cluster = isolated.own_cluster
database_url = isolated.database_url


async def claims(database: Database) -> list[tuple[int, str, str]]:
    async with database.session() as session:
        rows = await session.execute(
            select(JobClaim.team_id, JobClaim.job, JobClaim.occurrence).order_by(
                JobClaim.job, JobClaim.occurrence
            )
        )
        return [(team_id, job, occurrence) for team_id, job, occurrence in rows.tuples()]


def count_runs(engine: Engine, monkeypatch: pytest.MonkeyPatch, ran: list[str]) -> None:
    """A spy on a weekly job's work (after its claim): appends the job's name to `ran`."""
    real = engine.jobs._run

    async def spied(session: AsyncSession, team, name: str, now, forced, fire_time):  # type: ignore[no-untyped-def]
        ran.append(name)
        return await real(session, team, name, now, forced, fire_time)

    monkeypatch.setattr(engine.jobs, "_run", spied)


# ------------------------------------------------------------------------ the claim itself
async def test_a_claim_is_won_once_and_purged_when_old(database: Database, clock: Clock) -> None:
    now = clock()
    for expected in (True, False):
        async with database.session() as session, session.begin():
            assert (
                await job_claims.claim(session, 7, "checkin", "2026-12-08T10:00", now) is expected
            )
    async with database.session() as session, session.begin():
        # Another occurrence, job or team is another claim.
        assert await job_claims.claim(session, 7, "checkin", "2026-12-22T10:00", now)
        assert await job_claims.claim(session, 7, "batch", "2026-12-08T10:00", now)
        assert await job_claims.claim(session, 8, "checkin", "2026-12-08T10:00", now)
    async with database.session() as session, session.begin():  # rolled back: not claimed
        assert await job_claims.claim(session, 9, "tick", "2026-12-08T15:00:00Z", now)
        await session.rollback()
    async with database.session() as session, session.begin():
        assert await job_claims.claim(session, 9, "tick", "2026-12-08T15:00:00Z", now)
        assert await job_claims.purge(session, now, ["tick"]) == 0  # not before `now`
        later = now + dt.timedelta(seconds=1)
        assert await job_claims.purge(session, later, ["tick"]) == 1
        assert await job_claims.purge(session, later) == 4
    assert await claims(database) == []


def test_occurrences_name_the_scheduled_local_time_and_the_tick_period() -> None:
    from zoneinfo import ZoneInfo

    from dialogs.calendar import weekly

    trigger = weekly(1, 10, ZoneInfo("America/Toronto"))
    fire = dt.datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # Tuesday 10:00 EST
    assert occurrence_of(trigger, fire) == "2026-12-08T10:00"
    at = dt.datetime(2026, 12, 8, 15, 1, 59, 900000, tzinfo=UTC)
    assert tick_occurrence(at) == "2026-12-08T15:01:00Z"
    assert tick_occurrence(at, dt.timedelta(seconds=1)) == "2026-12-08T15:01:59Z"
    assert tick_occurrence(at, dt.timedelta(minutes=5)) == "2026-12-08T15:00:00Z"


# ------------------------------------------------------------------------ weekly jobs
async def test_two_calendars_firing_one_occurrence_run_it_once(
    engine: Engine, database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")
    fire = await _in_cadence_checkin(demo, clock(), wanted=True)
    clock.now = fire
    other = Engine(database, clock=clock)  # another process's engine
    ran: list[str] = []
    count_runs(engine, monkeypatch, ran)
    count_runs(other, monkeypatch, ran)
    trigger = team_triggers(demo)["checkin"]
    a, b = Calendar(engine), Calendar(other)
    await asyncio.gather(a._fire("demo", "checkin", trigger), b._fire("demo", "checkin", trigger))
    assert ran == ["checkin"]  # the job's work, once: the other firing lost the claim
    assert await round_count(engine, demo) == 1
    assert await claims(database) == [(demo.id, "checkin", "2026-12-08T10:00")]
    # Fired again within the grace, by either process: claimed, nothing runs.
    clock.now = fire + dt.timedelta(minutes=59)
    await b._fire("demo", "checkin", trigger)
    await a._fire("demo", "checkin", trigger)
    assert ran == ["checkin"]
    # A forced run ("checkin now", the CLI) claims nothing and is not stopped by a claim.
    result = await engine.jobs.run("checkin", "demo")
    assert ran == ["checkin", "checkin"] and result.message == "jobs.checkin_exists"
    assert len(await claims(database)) == 1


async def test_a_runner_that_fails_before_its_commit_leaves_the_occurrence_claimable(
    engine: Engine, database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")
    clock.now = await _in_cadence_checkin(demo, clock(), wanted=True)
    trigger = team_triggers(demo)["checkin"]
    real = engine.jobs.runners["checkin"]

    async def crashing(occasion: Occasion) -> tuple[str, int]:
        await real(occasion)  # its writes, the claim's included, then a failure
        raise RuntimeError("the process fails before its commit")

    monkeypatch.setitem(engine.jobs.runners, "checkin", crashing)
    await Calendar(engine)._fire("demo", "checkin", trigger)  # logged, rolled back
    assert await claims(database) == [] and await round_count(engine, demo) == 0
    monkeypatch.setitem(engine.jobs.runners, "checkin", real)
    clock.advance(minutes=1)  # the next firing, or another process's
    await Calendar(Engine(database, clock=clock))._fire("demo", "checkin", trigger)
    assert await round_count(engine, demo) == 1
    assert len(await claims(database)) == 1


HOLD_A_CLAIM = """
import asyncio, datetime as dt, sys
from storage import job_claims
from storage.database import Database

async def main():
    database = Database(sys.argv[1])
    async with database.session() as session, session.begin():
        now = dt.datetime.now(dt.UTC)
        assert await job_claims.claim(session, int(sys.argv[2]), "checkin", sys.argv[3], now)
        print("claimed", flush=True)
        await asyncio.Event().wait()  # the job "runs" until the process is killed

asyncio.run(main())
"""


async def child(script: str, *args: str) -> asyncio.subprocess.Process:
    """A real process running `script`, once it printed its first line (what it holds)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, *args, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    if not line:
        assert process.stderr is not None
        raise AssertionError((await process.stderr.read()).decode())
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    assert await process.wait() == -signal.SIGKILL


async def until_waiting_on_a_lock(database: Database) -> None:
    """PostgreSQL: until a session waits for a lock (the second claimer, on the first's row)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    for _ in range(3000):
        async with database.engine.connect() as connection:
            if await connection.scalar(query):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("nobody waited on the claim")


async def test_a_claimer_killed_mid_run_leaves_the_occurrence_to_the_waiting_process(
    engine: Engine, database: Database, database_url: str, clock: Clock
) -> None:
    """A real process claims the occurrence in its open transaction and is killed with
    SIGKILL; this process's firing of the same occurrence, waiting on that claim, runs it."""
    await seeded(engine)
    demo = await team_named(engine, "demo")
    fire = await _in_cadence_checkin(demo, clock(), wanted=True)
    clock.now = fire
    occurrence = occurrence_of(team_triggers(demo)["checkin"], fire)
    holder = await child(HOLD_A_CLAIM, database_url, str(demo.id), occurrence)
    try:
        run = asyncio.ensure_future(
            engine.jobs.run("checkin", "demo", forced=False, fire_time=fire, occurrence=occurrence)
        )
        if database.engine.dialect.name == "postgresql":
            await until_waiting_on_a_lock(database)  # blocked on the uncommitted claim
            assert not run.done()
    finally:
        await kill(holder)
    result = await run
    assert (result.message, result.count) == ("jobs.checkin", 9)
    assert await round_count(engine, demo) == 1
    assert await claims(database) == [(demo.id, "checkin", occurrence)]


# ------------------------------------------------------------------------ the tick
async def test_each_team_is_ticked_once_per_period_across_processes(
    engine: Engine, database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")
    await engine.jobs.run("checkin", "demo")
    other = Engine(database, clock=clock)
    looked: list[str] = []
    for jobs in (engine.jobs, other.jobs):
        real = jobs.runners["reminders"]

        async def reminders(occasion: Occasion, real: JobRun = real) -> tuple[str, int]:
            looked.append(occasion.team.slug)
            return await real(occasion)

        monkeypatch.setitem(jobs.runners, "reminders", reminders)
    clock.advance(hours=80)  # past the close
    first, second = await asyncio.gather(engine.jobs.tick(), other.jobs.tick())
    closes = [(r.team, r.message) for r in (*first, *second) if r.job == "close"]
    assert closes == [("demo", "jobs.closed")]
    assert looked == ["demo"]  # the team's tick work, once
    period = tick_occurrence(clock())
    assert (demo.id, "tick", period) in await claims(database)
    assert (job_claims.INSTALLATION, "maintenance", period) in await claims(database)
    clock.advance(seconds=30)  # the same period, later in it: claimed already
    assert await other.jobs.tick() == [] and looked == ["demo"]
    clock.advance(seconds=30)  # the next period: claimed again, by whichever ticks first
    await other.jobs.tick()
    await engine.jobs.tick()
    assert looked == ["demo", "demo"]


async def test_the_housekeeping_purges_what_expired_and_old_claims(
    engine: Engine, database: Database, clock: Clock
) -> None:
    now = clock()
    day, tick = maintenance.CLAIM_RETENTION, maintenance.TICK_CLAIM_RETENTION
    async with database.session() as session, session.begin():
        session.add_all(
            [
                Mark(key="expired", expires_at=now - dt.timedelta(seconds=1)),
                Mark(key="live", expires_at=now + day),
                FormDraft(key="expired", blob=b"x", expires_at=now),
                FormDraft(key="live", blob=b"y", expires_at=now + day),
                JobClaim(team_id=1, job="tick", occurrence="old", claimed_at=now - 2 * tick),
                JobClaim(team_id=1, job="tick", occurrence="recent", claimed_at=now - tick / 2),
                JobClaim(team_id=1, job="checkin", occurrence="recent", claimed_at=now - day / 2),
                JobClaim(team_id=1, job="checkin", occurrence="old", claimed_at=now - 2 * day),
            ]
        )  # fmt: skip
    await engine.jobs.tick()
    async with database.session() as session:
        assert set((await session.scalars(select(Mark.key))).all()) == {"live"}
        assert set((await session.scalars(select(FormDraft.key))).all()) == {"live"}
    left = {(job, occurrence) for team, job, occurrence in await claims(database) if team == 1}
    assert left == {("tick", "recent"), ("checkin", "recent")}


# ------------------------------------------------------------------------ the maintenance
HOLD_THE_MAINTENANCE_LOCK = """
import asyncio, sys
import asyncpg

async def main():
    connection = await asyncpg.connect(sys.argv[1].replace("postgresql+asyncpg", "postgresql"))
    await connection.execute("SELECT pg_advisory_lock($1)", int(sys.argv[2]))
    print("held", flush=True)
    await asyncio.Event().wait()  # VACUUMing, as far as anyone can tell, until killed

asyncio.run(main())
"""


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_maintenance_runs_in_one_process_at_a_time(
    engine: Engine,
    database: Database,
    database_url: str,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vacuumed: list[int] = []
    real = maintenance._vacuum

    async def spied(connection):  # type: ignore[no-untyped-def]
        vacuumed.append(1)
        return await real(connection)

    monkeypatch.setattr(maintenance, "_vacuum", spied)
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    holder = await child(HOLD_THE_MAINTENANCE_LOCK, database_url, str(maintenance.VACUUM_LOCK))
    try:
        assert await maintenance.vacuum_private_tables(database) is False  # skipped
        clock.advance(hours=80)
        results = await engine.jobs.tick()  # closes, and finds the maintenance under way
        assert "jobs.closed" in {r.message for r in results}
        assert vacuumed == [] and engine.jobs.vacuum_owed
    finally:
        await kill(holder)  # its session ends: the lock goes with it
    clock.advance(minutes=1)
    assert await engine.jobs.tick() == []  # nothing due, but the maintenance was owed
    assert vacuumed == [1] and not engine.jobs.vacuum_owed
    clock.advance(minutes=1)
    await engine.jobs.tick()
    assert vacuumed == [1]  # nothing owed, nothing closed: no VACUUM


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_the_maintenance_needs_no_lock(database: Database) -> None:
    """One writer at a time: the checkpoint never waits on another's maintenance."""
    assert await maintenance.vacuum_private_tables(database) is True
