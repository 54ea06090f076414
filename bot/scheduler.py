"""The calendar: APScheduler 3 fires each team's weekly jobs in the team's own time zone.

Every process that runs the calendar (`--role worker` or `all`) plans every team and fires the
same triggers; each occurrence is run by one of them. A weekly firing names its occurrence by
the trigger's scheduled local time (`occurrence_of`: "2026-12-08T10:00", the same string in
every process however late each fires), and the minute tick names its period
(dialogs.jobs.tick_occurrence); the job claims (team, job, occurrence) in the transaction that
does its work (storage/job_claims.py), so the others do nothing, and a runner that dies before
its commit leaves the occurrence to them. Under the claims, the jobs' occurrence keys and the
outbox's idempotency keys still make any second run harmless. A process learns of a schedule
changed by another process at its next tick, when it compares every team's triggers with its
plan.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from dialogs.engine import Engine
from dialogs.rituals import registry
from storage import teams
from storage.models import Team

log = logging.getLogger(__name__)
# A weekly job that could not fire on time (a busy loop, a restart) still fires within this.
MISFIRE_GRACE_SECONDS = 3600

Signature = tuple[tuple[str, str, str], ...]


def team_triggers(team: Team) -> dict[str, CronTrigger]:
    """The triggers of a team's jobs, as their rituals declare them; a cadence of N weeks is
    checked when the job runs."""
    triggers: dict[str, CronTrigger] = {}
    for name, parts in registry().jobs.items():
        for part in parts:
            trigger = part.trigger(team) if part.trigger is not None else None
            if trigger is not None:
                triggers[name] = trigger
    return triggers


def scheduled_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The occurrence a firing at `now` stands for: the trigger's latest at or before `now`,
    within the misfire grace; None if there is none."""
    since = now.astimezone(dt.UTC) - dt.timedelta(seconds=MISFIRE_GRACE_SECONDS)
    fire: dt.datetime | None = trigger.get_next_fire_time(None, since)
    return fire if fire is not None and fire <= now else None


def occurrence_of(trigger: CronTrigger, fire_time: dt.datetime) -> str:
    """The claim name of a firing: its scheduled time on the team's wall clock, to the minute.
    Local, so that an autumn hour that happens twice names one occurrence, not two."""
    return f"{fire_time.astimezone(trigger.timezone):%Y-%m-%dT%H:%M}"


def _signature(team: Team) -> Signature:
    return tuple(
        (f"{team.slug}:{name}", str(trigger), str(trigger.timezone))
        for name, trigger in team_triggers(team).items()
    )


# How long a stopping server waits for a calendar job under way (a close, its maintenance).
STOP_PATIENCE = 20.0


class Calendar:
    def __init__(
        self, engine: Engine, tick_seconds: float = 60.0, *, reload_delay: float = 1.0
    ) -> None:
        self.engine = engine
        self.tick_seconds = tick_seconds
        # The engine calls reload_soon inside the transaction that changes the team: reading
        # it back at once could see the old row. The minute tick corrects any miss.
        self.reload_delay = reload_delay
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._planned: dict[int, Signature] = {}
        # Jobs under way: a stop waits for them before the database is closed under them.
        self._running: set[asyncio.Task[Any]] = set()
        engine.on_schedule_change.append(self.reload_soon)

    async def start(self) -> None:
        async with self.engine.database.session() as session:
            all_teams = list(await teams.all_teams(session))
        for team in all_teams:
            self._plan(team)
        self.scheduler.add_job(
            self._tracked(self._tick),
            IntervalTrigger(seconds=self.tick_seconds),
            id="tick",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        self.scheduler.start()

    def shutdown(self) -> None:
        """No job starts after this, and APScheduler cancels those under way (`stop` first
        lets them finish)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, patience: float = STOP_PATIENCE) -> None:
        """Start no more jobs, let those under way finish (their transactions commit or roll
        back) for up to `patience` seconds, then shut down: APScheduler's shutdown cancels
        the coroutines still running."""
        if self.scheduler.running:
            self.scheduler.pause()
        running = list(self._running)
        if running:
            await asyncio.wait(running, timeout=patience)
        self.shutdown()
        await asyncio.gather(*running, return_exceptions=True)

    def _tracked(self, job: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        @functools.wraps(job)  # APScheduler names the job (and logs it) after the function
        async def run(*args: Any) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job(*args)
            except asyncio.CancelledError:
                log.info("a calendar job was stopped with the server")
            finally:
                if task is not None:
                    self._running.discard(task)

        return run

    def reload_soon(self, team_id: int) -> None:
        run_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.reload_delay)
        self.scheduler.add_job(
            self._tracked(self._reload),
            DateTrigger(run_at),
            args=[team_id],
            id=f"reload:{team_id}",
            replace_existing=True,
            misfire_grace_time=None,  # late is fine; dropped is not
        )

    async def _reload(self, team_id: int) -> None:
        async with self.engine.database.session() as session:
            team = await teams.team_by_id(session, team_id)
        if team is not None:
            self._plan(team)
        else:
            self._unplan(team_id)

    async def _sync(self) -> None:
        """Follow changes made elsewhere (another process, a missed reload): re-plan every team
        whose triggers differ from the plan, plan new teams, drop deleted ones."""
        async with self.engine.database.session() as session:
            current = list(await teams.all_teams(session))
        for team in current:
            if self._planned.get(team.id) != _signature(team):
                log.info("calendar of %s changed: re-planned", team.slug)
                self._plan(team)
        for team_id in set(self._planned) - {team.id for team in current}:
            self._unplan(team_id)

    def _unplan(self, team_id: int) -> None:
        for job in list(self.scheduler.get_jobs()):
            if job.id.startswith(f"team:{team_id}:"):
                job.remove()
        self._planned.pop(team_id, None)

    def _plan(self, team: Team) -> None:
        self._unplan(team.id)
        for name, trigger in team_triggers(team).items():
            self.scheduler.add_job(
                self._tracked(self._fire),
                trigger,
                args=[team.slug, name, trigger],
                id=f"team:{team.id}:{name}",
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
                max_instances=1,
                replace_existing=True,
            )
        self._planned[team.id] = _signature(team)

    async def _fire(self, team_slug: str, name: str, trigger: CronTrigger | None = None) -> None:
        """Run a weekly job for the occurrence it was scheduled for, even if it fires late,
        if this process claims that occurrence first (a second firing, by this process or
        another, does nothing)."""
        now = self.engine.clock()
        fire_time = None if trigger is None else scheduled_time(trigger, now)
        occurrence = None if trigger is None else occurrence_of(trigger, fire_time or now)
        try:
            result = await self.engine.jobs.run(
                name, team_slug, forced=False, fire_time=fire_time, occurrence=occurrence
            )
            log.info("job %s for %s: %s (%d)", name, team_slug, result.message, result.count)
        except Exception:
            log.exception("job %s for %s failed", name, team_slug)

    async def _tick(self) -> None:
        try:
            await self._sync()
        except Exception:
            log.exception("calendar sync failed")
        try:
            period = dt.timedelta(seconds=self.tick_seconds)
            for result in await self.engine.jobs.tick(period):
                log.info(
                    "tick %s for %s: %s (%d)", result.job, result.team, result.message, result.count
                )
        except Exception:
            log.exception("tick failed")
