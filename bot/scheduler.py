"""The calendar: APScheduler 3 fires each team's weekly jobs in the team's own time zone.

Every process may run its own scheduler: the jobs' occurrence keys and the outbox's unique
idempotency keys make a double firing harmless.
"""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from dialogs.calendar import weekly, zone
from dialogs.engine import Engine
from storage import teams
from storage.models import Team

log = logging.getLogger(__name__)


def team_triggers(team: Team) -> dict[str, CronTrigger]:
    """The weekly triggers of a team; cadences of N weeks are checked when the job runs."""
    tz = zone(team.timezone)
    triggers = {
        "checkin": weekly(team.checkin_weekday, team.checkin_hour, tz),
        "batch": weekly(team.batch_weekday, team.batch_hour, tz),
    }
    if team.success_every_weeks:
        triggers["success"] = weekly(team.success_weekday, team.success_hour, tz)
    if team.tension_prompt_every_weeks:
        # Two days after the check-in, so a week never brings both at once.
        triggers["tension-prompt"] = weekly((team.checkin_weekday + 2) % 7, team.checkin_hour, tz)
    return triggers


class Calendar:
    def __init__(self, engine: Engine, tick_seconds: float = 60.0) -> None:
        self.engine = engine
        self.tick_seconds = tick_seconds
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        engine.on_schedule_change.append(self.reload_soon)

    async def start(self) -> None:
        async with self.engine.database.session() as session:
            all_teams = list(await teams.all_teams(session))
        for team in all_teams:
            self._plan(team)
        self.scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.tick_seconds),
            id="tick",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def reload_soon(self, team_id: int) -> None:
        self.scheduler.add_job(
            self._reload, args=[team_id], id=f"reload:{team_id}", replace_existing=True
        )

    async def _reload(self, team_id: int) -> None:
        async with self.engine.database.session() as session:
            team = await teams.team_by_id(session, team_id)
        if team is not None:
            self._plan(team)

    def _plan(self, team: Team) -> None:
        for job in list(self.scheduler.get_jobs()):
            if job.id.startswith(f"team:{team.id}:"):
                job.remove()
        for name, trigger in team_triggers(team).items():
            self.scheduler.add_job(
                self._fire,
                trigger,
                args=[team.slug, name],
                id=f"team:{team.id}:{name}",
                coalesce=True,
                misfire_grace_time=3600,
                max_instances=1,
                replace_existing=True,
            )

    async def _fire(self, team_slug: str, name: str) -> None:
        try:
            result = await self.engine.jobs.run(name, team_slug, forced=False)
            log.info("job %s for %s: %s (%d)", name, team_slug, result.message, result.count)
        except Exception:
            log.exception("job %s for %s failed", name, team_slug)

    async def _tick(self) -> None:
        try:
            for result in await self.engine.jobs.tick():
                log.info(
                    "tick %s for %s: %s (%d)", result.job, result.team, result.message, result.count
                )
        except Exception:
            log.exception("tick failed")
