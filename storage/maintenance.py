"""Housekeeping that finishes erasures the database would otherwise keep behind.

PostgreSQL never overwrites a row in place: an UPDATE or DELETE leaves the old version in the
heap (and its index entries) until VACUUM. Until then anyone reading pages below SQL (a
superuser with `pageinspect`, a copy of the data directory) sees every version of the ledger,
the erased per-member statuses and the ballots as they were before the close reshuffled them,
each stamped with its transaction id: exactly the links
the live tables no longer hold. A plain VACUUM is not enough: it unhooks dead versions from the
page's item list but leaves their bytes, headers included, in the page's free space, where
`get_raw_page` still reads them. `VACUUM FULL` writes the live rows into a new file and drops
the old one, so the private tables get that; the busy outbox (erased reminder rows) gets a
plain VACUUM, which holds no lock that would stop the sender.

SQLite runs with `secure_delete`, so deleted cells are zeroed in the pages; but in WAL mode the
pages as they were before the erasure stay in the `-wal` file until a checkpoint copies the new
pages back and truncates it. A `TRUNCATE` checkpoint does both.

Neither can run inside the transaction that erased: call this after it commits (after a round
closes), or on a timer.

VACUUM can drop a version only once no transaction that began before its erasure still runs:
one holding a transaction id in *any* database of the cluster (another application's, a
migration, a long report), or a snapshot in this one. The run waits for those, a bounded
time (`OLDER_TRANSACTIONS_WAIT`), and reports itself owed (False) if they are still there, so
the calendar runs it again at a later tick rather than leaving the old versions for a week.

One process at a time: on PostgreSQL the run holds a session advisory lock (`VACUUM_LOCK`) on
the connection that vacuums, taken with `pg_try_advisory_lock`, so a process that finds it
held skips its run (False) instead of queueing `VACUUM FULL`s behind another's; the lock goes
with the connection if the process dies. SQLite needs none: its checkpoint is one statement
under the file's own locks, and several processes on one SQLite file are not a deployment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage import form_drafts, job_claims, marks
from storage.database import Database

log = logging.getLogger(__name__)

# Tables whose old row versions could link a person to what they said or did.
REWRITTEN = (
    "sealed",
    "intake",
    "open_answers",
    "participation",
    "tensions",
    "successes",
)
# The outbox keeps the closed rounds' erased check-in and reminder rows (who had not answered).
VACUUMED = ("outbox",)
PRIVATE_TABLES = REWRITTEN + VACUUMED
# VACUUM FULL needs an exclusive lock: give up on a table rather than queue everyone behind it.
LOCK_TIMEOUT = "5s"
# The maintenance's advisory lock (PostgreSQL): any constant no other lock of this database uses.
VACUUM_LOCK = 0x70617373_76616375  # "pass" "vacu"
# How long a run after a close waits for transactions older than its erasures to end (then:
# owed, and looked at again at each tick without waiting, so a long one never stalls ticks).
OLDER_TRANSACTIONS_WAIT = 5.0
# PostgreSQL has no way to await another session's transaction: the run looks again this often.
OLDER_TRANSACTIONS_POLL = 0.05
# Per database: the transaction id before which transactions held an owed run back.
_owed_since: dict[str, int] = {}
# Calendar claims (storage/job_claims.py) are deleted once their occurrence cannot fire again.
TICK_JOBS = ("tick", "maintenance")  # one claim per team (or installation) and tick
TICK_CLAIM_RETENTION = dt.timedelta(hours=1)
CLAIM_RETENTION = dt.timedelta(days=1)


async def vacuum_private_tables(database: Database, fresh: bool = True) -> bool:
    """Drop dead row versions of the private tables (PostgreSQL) / empty the WAL (SQLite).
    False when the run is owed: another process holds the maintenance lock (its run may have
    begun before the caller's erasures), a transaction older than the erasures still ran
    after `OLDER_TRANSACTIONS_WAIT`, or a table's lock stayed busy; the caller tries again
    later with `fresh=False`: no new erasure since, so only the transactions that held the
    owed run back count, looked at once without waiting."""
    dialect = database.engine.dialect.name
    if dialect == "postgresql":
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            held = await autocommit.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": VACUUM_LOCK}
            )
            if not held:
                log.info("VACUUM skipped: another process is running the maintenance")
                return False
            try:
                owed = None if fresh else _owed_since.get(database.url)
                since = owed if owed is not None else await _current_xact_id(autocommit)
                _owed_since[database.url] = since  # until the run is done
                wait = OLDER_TRANSACTIONS_WAIT if owed is None else 0.0
                if not await _older_transactions_ended(autocommit, since, wait):
                    log.warning("VACUUM postponed: a transaction older than the erasures runs")
                    return False
                if not await _vacuum(autocommit):
                    return False  # a table's lock stayed busy: the next tick tries again
                del _owed_since[database.url]
            finally:
                await autocommit.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": VACUUM_LOCK}
                )
        return True
    if dialect == "sqlite":
        async with database.engine.connect() as connection:
            row = (await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
            await connection.commit()
        # (busy, frames in the log, frames checkpointed); busy = 1 when a reader held on to old
        # pages past the busy timeout: the next call finishes the job.
        if row[0]:
            log.warning("WAL checkpoint incomplete: a reader held old pages")
    return True


async def _current_xact_id(autocommit: AsyncConnection) -> int:
    return int(await autocommit.scalar(text("SELECT pg_current_xact_id()::text::bigint")))


async def _older_transactions_ended(autocommit: AsyncConnection, now: int, patience: float) -> bool:
    """Whether every transaction that began before transaction `now` has ended, waiting up to
    `patience` seconds: a running transaction id older than it anywhere in the cluster, or an
    older snapshot in this database, would keep VACUUM FULL from dropping what was erased."""
    older = text(
        f"SELECT pg_snapshot_xmin(pg_current_snapshot()) < '{now}'::xid8"
        " OR EXISTS (SELECT 1 FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        f" AND age(backend_xmin) > age('{now % 2**32}'::xid))"
    )
    deadline = asyncio.get_running_loop().time() + patience
    while await autocommit.scalar(older):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(OLDER_TRANSACTIONS_POLL)
    return True


async def _vacuum(autocommit: AsyncConnection) -> bool:
    """True when every private table was vacuumed."""
    done = True
    await autocommit.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
    try:
        for table in PRIVATE_TABLES:
            full = "FULL " if table in REWRITTEN else ""
            try:
                await autocommit.execute(text(f'VACUUM {full}"{table}"'))
            except DBAPIError as problem:  # a lock not granted in time: next run
                log.warning("VACUUM %s%s skipped: %s", full, table, problem.orig)
                done = False
    finally:
        await autocommit.execute(text("RESET lock_timeout"))
    return done


async def purge_expired(session: AsyncSession, now: dt.datetime) -> int:
    """Delete what expired from the shared tables: marks and form drafts past their expiry,
    and calendar claims whose occurrence can no longer fire (a tick's after an hour; a weekly
    job's fires within its hour of grace, kept a day). How many rows, in the caller's
    transaction."""
    deleted = await marks.purge_expired(session, now)
    deleted += await form_drafts.purge_expired(session, now)
    deleted += await job_claims.purge(session, now - TICK_CLAIM_RETENTION, TICK_JOBS)
    deleted += await job_claims.purge(session, now - CLAIM_RETENTION)
    return deleted
