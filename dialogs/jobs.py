"""Scheduled jobs, runnable "now" by a coordinator, the CLI or the sandbox.

Every job is idempotent: its writes carry occurrence keys, so a trigger fired twice (two
processes, a retry) changes nothing the second time. On top of that, each calendar occurrence
is run by one process (storage/job_claims.py): a weekly job fired by the calendar with an
`occurrence`, and each team's share of a tick, first claim (team, job, occurrence) in the
transaction that does the work. A process that loses the claim does nothing; a runner that
fails or dies before its commit leaves no claim, so the occurrence is still run (by a process
waiting on the claim, a later firing within the grace, the next tick). Forced runs claim nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.content import ContentBank
from dialogs.registry import JobRun, JobSpec, Occasion
from dialogs.rituals import registry
from dialogs.tick import OUTBOX_RETENTION, TICK, TickBackoff, housekeeping, tick_occurrence
from storage import job_claims, teams
from storage.database import Database
from storage.maintenance import vacuum_private_tables
from storage.models import Team
from storage.sealing import Sealer

log = logging.getLogger(__name__)
__all__ = ["JOB_NAMES", "OUTBOX_RETENTION", "TICK", "Jobs", "TickBackoff", "tick_occurrence"]


def job_names() -> tuple[str, ...]:
    """The jobs run by name (the rituals' declarations, in their order)."""
    return registry().job_names()


JOB_NAMES = job_names()


def combined(parts: list[JobSpec]) -> JobRun:
    """One job from the parts several rituals bring (the weekly batch: tensions, successes):
    run in order, counts added; the message of the first part that did something."""
    if len(parts) == 1:
        return parts[0].run

    async def run(occasion: Occasion) -> tuple[str, int]:
        results = [await part.run(occasion) for part in parts]
        done = [key for key, count in results if count]
        return (done[0] if done else results[0][0]), sum(count for _, count in results)

    return run


@dataclass(frozen=True)
class JobResult:
    job: str
    team: str
    message: str  # an i18n key under jobs.*
    count: int = 0


class UnknownJob(ValueError):
    pass


class UnknownTeam(ValueError):
    pass


class Jobs:
    def __init__(
        self,
        database: Database,
        bank: ContentBank,
        clock: Callable[[], dt.datetime],
        sealer: Sealer,
    ) -> None:
        self.database, self.bank, self.clock, self.sealer = database, bank, clock, sealer
        self.backoff = TickBackoff()
        # By name, from the rituals: a test may replace one (monkeypatch.setitem).
        self.runners: dict[str, JobRun] = {
            name: combined(parts) for name, parts in registry().jobs.items()
        }
        self.tick_steps = [spec.name for spec in registry().tick_steps()]
        # A maintenance run skipped because another process held its lock: that run may have
        # begun before this process's close committed, so this one tries again at its tick.
        self.vacuum_owed = False

    async def run(
        self,
        name: str,
        team_slug: str,
        *,
        forced: bool = True,
        fire_time: dt.datetime | None = None,
        occurrence: str | None = None,
    ) -> JobResult:
        """Run one job for one team in its own transaction. With an `occurrence` (the
        calendar's firings; never a forced run), only if this process claims it, in that
        transaction: `jobs.claimed` and nothing done when another process has."""
        if name not in JOB_NAMES:  # the runnable ones (a tick-only step is not)
            raise UnknownJob(name)
        now = self.clock()
        claim: tuple[int, str] | None = None
        if occurrence is not None and not forced:
            # The claim is the transaction's first statement: on SQLite a writer that read
            # first could not wait for the winner's lock (a stale snapshot fails at once).
            async with self.database.session() as session:
                found = await teams.team_by_slug(session, team_slug)
            if found is None:
                raise UnknownTeam(team_slug)
            claim = (found.id, occurrence)
        async with self.database.session() as session, session.begin():
            if claim is not None and not await job_claims.claim(
                session, claim[0], name, claim[1], now
            ):
                return JobResult(name, team_slug, "jobs.claimed", 0)
            team = await teams.team_by_slug(session, team_slug)
            if team is None:
                raise UnknownTeam(team_slug)
            key, count = await self._run(session, team, name, now, forced, fire_time or now)
        if key == "jobs.closed":
            await self._vacuum()  # after the commit: old versions go too
        return JobResult(name, team_slug, key, count)

    async def _vacuum(self, fresh: bool = True) -> None:
        # Owed (`is False`; spies return None): a retry looks once at what held it back.
        self.vacuum_owed = await vacuum_private_tables(self.database, fresh) is False

    async def _run(
        self,
        session: AsyncSession,
        team: Team,
        name: str,
        now: dt.datetime,
        forced: bool,
        fire_time: dt.datetime,
    ) -> tuple[str, int]:
        occasion = Occasion(session, team, now, self.bank, self.sealer, forced, fire_time)
        return await self.runners[name](occasion)

    # -------------------------------------------------------------- the minute tick
    async def tick(self, period: dt.timedelta = TICK) -> list[JobResult]:
        """What is due now for every team: reminders, closes, reflexive invitations and posts.

        Each team in its own transaction, claimed for this tick's period (`tick_occurrence`)
        so that, of all the processes ticking, one does a team's work per period; what a lost
        or failed period left is due at the next. A team whose work fails is rolled back
        (its claim with it) and logged (by id: its name could be sensitive), the others go
        on, and it is tried again at a later tick, backing off while it keeps failing
        (TickBackoff). Then the housekeeping, claimed the same way for the installation.
        """
        now = self.clock()
        occurrence = tick_occurrence(now, period)
        results: list[JobResult] = []
        async with self.database.session() as session:
            team_ids = [team.id for team in await teams.all_teams(session)]
        for team_id in team_ids:
            if not self.backoff.due(team_id, now):
                continue
            try:
                results += await self._tick_team(team_id, now, occurrence)
            except Exception:
                delay = self.backoff.failed(team_id, now)
                log.exception("tick: team %d failed; next try in %s", team_id, delay)
            else:
                self.backoff.succeeded(team_id)
        try:
            await housekeeping(self.database, now, occurrence)
        except Exception:  # only the tables' size depends on it: the next tick tries again
            log.exception("tick: housekeeping failed")
        fresh = any(r.message == "jobs.closed" for r in results)
        if fresh or self.vacuum_owed:
            await self._vacuum(fresh)
        return results

    async def _tick_team(self, team_id: int, now: dt.datetime, occurrence: str) -> list[JobResult]:
        results: list[JobResult] = []
        async with self.database.session() as session, session.begin():
            if not await job_claims.claim(session, team_id, "tick", occurrence, now):
                return []  # another process has this team's tick for this period
            team = await session.get(Team, team_id)
            if team is None:  # deleted since the list was read
                return []
            for name in self.tick_steps:
                key, count = await self._run(session, team, name, now, False, now)
                if count or key == "jobs.closed":
                    results.append(JobResult(name, team.slug, key, count))
        return results
