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

from dialogs import (
    checkins,
    open_review,
    outbound,
    reflexive,
    results,
    successes,
    summary,
    tension_batches,
    tensions,
)
from dialogs.calendar import in_cadence, zone
from dialogs.cards import Card
from dialogs.content import ContentBank
from dialogs.i18n import Tr
from dialogs.tick import OUTBOX_RETENTION, TICK, TickBackoff, housekeeping, tick_occurrence
from storage import job_claims, rounds, teams
from storage import reflexive as reflexive_store
from storage.database import Database
from storage.maintenance import vacuum_private_tables
from storage.models import Team
from storage.sealing import Sealer

log = logging.getLogger(__name__)
__all__ = ["OUTBOX_RETENTION", "TICK", "Jobs", "TickBackoff", "tick_occurrence"]

JOB_NAMES = (
    "checkin",
    "reminders",
    "close",
    "batch",
    "success",
    "tension-prompt",
    "reflexive-invite",
    "reflexive",
    "summary",
    "review",
)


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
        if name not in JOB_NAMES:
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
        if name == "checkin":
            return await self._checkin(session, team, now, forced, fire_time)
        if name == "reminders":
            return await self.reminders(session, team, now, forced)
        if name == "close":
            return await self.close(session, team, now, forced)
        if name == "review":
            queued = await tension_batches.ask_reviews(session, self.bank, team, now, self.sealer)
            return ("jobs.review" if queued else "jobs.review_empty"), queued
        if name == "batch":
            published = await tension_batches.publish_batch(
                session, self.bank, team, now, self.sealer
            )
            published += await successes.publish_batch(session, team, now, self.sealer)
            return ("jobs.batch" if published else "jobs.batch_empty"), published
        if name == "success":
            return await self._success_reminder(session, team, now, forced, fire_time)
        if name == "tension-prompt":
            return await self._tension_prompt(session, team, now, forced, fire_time)
        if name == "reflexive-invite":
            return await self.reflexive_invites(session, team, now, forced)
        if name == "reflexive":
            return await self.reflexive_posts(session, team, now, forced)
        local = fire_time.astimezone(zone(team.timezone))
        occasion = f"manual:{now:%Y%m%dT%H%M}" if forced else f"monthly:{local:%Y-%m}"
        sent = await summary.send_to_readers(session, self.bank, team, now, occasion=occasion)
        return "jobs.summary", sent

    # -------------------------------------------------------------- check-ins
    async def checkin(
        self, session: AsyncSession, team: Team, now: dt.datetime, *, forced: bool
    ) -> tuple[str, int]:
        return await self._checkin(session, team, now, forced, now)

    async def _checkin(
        self,
        session: AsyncSession,
        team: Team,
        now: dt.datetime,
        forced: bool,
        fire_time: dt.datetime,
    ) -> tuple[str, int]:
        local = fire_time.astimezone(zone(team.timezone))
        if not forced and not in_cadence(team.anchor_on, local.date(), team.checkin_every_weeks):
            return "jobs.checkin_off_week", 0
        occurrence = f"now:{local:%Y-%m-%dT%H:%M}" if forced else local.date().isoformat()
        round_ = await checkins.start_round(
            session, self.bank, team, occurrence=occurrence, now=now
        )
        if round_ is None:
            return "jobs.checkin_exists", 0
        return "jobs.checkin", len(
            await rounds.members_with_status(session, round_.id, rounds.ASKED)
        )

    async def reminders(
        self, session: AsyncSession, team: Team, now: dt.datetime, forced: bool
    ) -> tuple[str, int]:
        round_ = await rounds.open_round_of(session, team.id)
        if round_ is None or (not forced and round_.remind_at > now):
            return "jobs.no_open_round", 0
        if round_.reminded:
            return "jobs.reminded_already", 0
        return "jobs.reminders", await checkins.remind(session, self.bank, team, round_, now)

    async def ask_again(
        self, session: AsyncSession, team: Team, now: dt.datetime, forced: bool
    ) -> tuple[str, int]:
        """Ballots sealed under a key this server no longer holds: their authors are asked
        again (a lost or too early retired secret; see docs/operations.md)."""
        round_ = await rounds.open_round_of(session, team.id)
        if round_ is None:
            return "jobs.no_open_round", 0
        asked = await checkins.ask_again(session, self.sealer, self.bank, team, round_, now)
        return "jobs.asked_again", asked

    async def close(
        self, session: AsyncSession, team: Team, now: dt.datetime, forced: bool
    ) -> tuple[str, int]:
        round_ = await rounds.open_round_of(session, team.id)
        due = round_ is not None and (forced or round_.closes_at <= now)
        if round_ is None or not due or not await checkins.close(session, team, round_):  # once
            return "jobs.no_open_round", 0
        await results.freeze_new_units(session, self.sealer, team, now)
        if team.review_open_answers:
            await open_review.ask(session, team, round_, now)
        sent = await summary.send_to_readers(
            session, self.bank, team, now, occasion=f"round{round_.seq}"
        )
        return "jobs.closed", sent

    # -------------------------------------------------------------- prompts
    async def _success_reminder(
        self,
        session: AsyncSession,
        team: Team,
        now: dt.datetime,
        forced: bool,
        fire_time: dt.datetime,
    ) -> tuple[str, int]:
        def card(tr: Tr, week: int) -> Card:
            prompts = self.bank.success_prompts
            form = successes.form_card(
                tr, self.bank, team, prompt_id=prompts[week % len(prompts)].id
            )
            return form.model_copy(update={"title": tr("success.reminder_title")})

        return await self._prompt_everyone(
            session,
            team,
            now,
            forced,
            fire_time,
            team.success_every_weeks,
            "success-reminder",
            card,
        )

    async def _tension_prompt(
        self,
        session: AsyncSession,
        team: Team,
        now: dt.datetime,
        forced: bool,
        fire_time: dt.datetime,
    ) -> tuple[str, int]:
        def card(tr: Tr, week: int) -> Card:
            prompt = self.bank.tension_prompts[week % len(self.bank.tension_prompts)]
            paired = self.bank.success_prompts[week % len(self.bank.success_prompts)]
            return tensions.prompt_card(tr, self.bank, team, prompt.id, paired.id)

        return await self._prompt_everyone(
            session,
            team,
            now,
            forced,
            fire_time,
            team.tension_prompt_every_weeks,
            "tension-prompt",
            card,
        )

    async def _prompt_everyone(
        self,
        session: AsyncSession,
        team: Team,
        now: dt.datetime,
        forced: bool,
        fire_time: dt.datetime,
        every_weeks: int,
        kind: str,
        card: Callable[[Tr, int], Card],
    ) -> tuple[str, int]:
        """Send every member a prompt card, on the team's cadence; prompts rotate by week."""
        local = fire_time.astimezone(zone(team.timezone))
        if not forced and not in_cadence(team.anchor_on, local.date(), every_weeks):
            return "jobs.off_week", 0
        week = local.isocalendar()[1]
        occasion = f"{local:%Y-%m-%dT%H:%M}" if forced else local.date().isoformat()
        sent = 0
        for member in await teams.active_members(session, team.id):
            sent += await outbound.to_member(
                session,
                team,
                member,
                card(Tr(member.language or team.language), week),
                key=f"{kind}:{team.id}:{occasion}:{member.id}",
                now=now,
            )
        return "jobs.sent", sent

    # -------------------------------------------------------------- reflexive spaces
    async def reflexive_invites(
        self, session: AsyncSession, team: Team, now: dt.datetime, forced: bool
    ) -> tuple[str, int]:
        """Invite pre-reflections for occurrences whose lead time has begun (or the next one)."""
        sent = 0
        found = False
        for schedule in await reflexive_store.schedules_of(session, team.id):
            upcoming = reflexive.next_occurrence(schedule, team, now)
            if upcoming is None:
                continue
            if forced or upcoming - dt.timedelta(hours=schedule.lead_hours) <= now:
                found = True
                sent += await reflexive.invite(session, self.bank, team, schedule, upcoming, now)
        return ("jobs.sent" if found else "jobs.no_reflexive"), sent

    async def reflexive_posts(
        self, session: AsyncSession, team: Team, now: dt.datetime, forced: bool
    ) -> tuple[str, int]:
        """Post the prompts whose time has come (forced: each schedule's next one, now)."""
        posted = 0
        for schedule in await reflexive_store.schedules_of(session, team.id):
            if forced:
                due = reflexive.next_occurrence(schedule, team, now)
            else:
                # The latest occurrence in the last hour, if any: a late tick still posts.
                due = reflexive.next_occurrence(schedule, team, now - dt.timedelta(hours=1))
                due = due if due is not None and due <= now else None
            if due is not None:
                posted += await reflexive.post(
                    session, self.bank, team, schedule, due, now, self.sealer
                )
        return ("jobs.reflexive_posted" if posted else "jobs.no_reflexive"), posted

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
            for name, step in (
                ("ask-again", self.ask_again),
                ("reminders", self.reminders),
                ("close", self.close),
                ("reflexive-invite", self.reflexive_invites),
                ("reflexive", self.reflexive_posts),
            ):
                key, count = await step(session, team, now, False)
                if count or key == "jobs.closed":
                    results.append(JobResult(name, team.slug, key, count))
        return results
