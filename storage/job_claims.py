"""One runner per calendar occurrence, across processes (`job_claims`).

Every process plans every team and fires the same triggers; the first to insert the row
(team, job, occurrence) runs that occurrence and the others do nothing. It is procrastinate's
periodic-task rule (a unique `(task, periodic_id, timestamp)` row), with one difference: the
claim is taken inside the job's own transaction, so it commits with the job's writes. A
runner that crashes or fails before its commit leaves no claim behind, and the occurrence can
still be run (by a process waiting on the row, by the next firing, by the next tick).

While the first runner's transaction is open, PostgreSQL makes a second insert of the same
key wait for it (a unique index check on an uncommitted row): it returns False once the first
commits, or inserts (and runs) if the first rolled back or died. SQLite lets one writer at a
time in: the second insert waits for the file's lock, then finds the row.

Occurrences are chosen by the caller (bot.scheduler, dialogs.jobs); team 0 is the whole
installation (maintenance).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.coordination import JobClaim
from storage.upsert import insert_ignore

INSTALLATION = 0  # the team id of installation-wide jobs (maintenance)


async def claim(
    session: AsyncSession, team_id: int, job: str, occurrence: str, now: dt.datetime
) -> bool:
    """Claim (team, job, occurrence) in the caller's transaction: True for the one caller
    whose insert wins; the claim holds once that transaction commits."""
    values = {"team_id": team_id, "job": job, "occurrence": occurrence, "claimed_at": now}
    table = JobClaim.__table__
    key = ["team_id", "job", "occurrence"]
    return await insert_ignore(session, table, values, key)  # type: ignore[arg-type]


async def purge(
    session: AsyncSession, before: dt.datetime, jobs: Collection[str] | None = None
) -> int:
    """Delete claims taken before `before` (of `jobs` only, if given); how many. A claim
    matters only while its occurrence may still fire: past that it is only a row."""
    statement = delete(JobClaim).where(JobClaim.claimed_at < before)
    if jobs is not None:
        statement = statement.where(JobClaim.job.in_(list(jobs)))
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
