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
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

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


async def vacuum_private_tables(database: Database) -> None:
    """Drop dead row versions of the private tables (PostgreSQL) / empty the WAL (SQLite)."""
    dialect = database.engine.dialect.name
    if dialect == "postgresql":
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
            try:
                for table in PRIVATE_TABLES:
                    full = "FULL " if table in REWRITTEN else ""
                    try:
                        await autocommit.execute(text(f'VACUUM {full}"{table}"'))
                    except DBAPIError as problem:  # a lock not granted in time: next run
                        log.warning("VACUUM %s%s skipped: %s", full, table, problem.orig)
            finally:
                await autocommit.execute(text("RESET lock_timeout"))
        return
    if dialect == "sqlite":
        async with database.engine.connect() as connection:
            row = (await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
            await connection.commit()
        # (busy, frames in the log, frames checkpointed); busy = 1 when a reader held on to old
        # pages past the busy timeout: the next call finishes the job.
        if row[0]:
            log.warning("WAL checkpoint incomplete: a reader held old pages")
