"""The calendar (bot.scheduler): each team's weekly jobs in its own zone, re-planned when the
schedule changes, and harmless when fired twice.

The scheduler runs on real time, so these tests inspect its jobs and triggers and call the
coroutines the jobs would run, with the conftest Clock set to the moment of the firing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from sqlalchemy import select

from bot.outbox_worker import OutboxWorker
from bot.scheduler import Calendar, scheduled_time, team_triggers
from dialogs.calendar import WallClockTrigger, in_cadence, next_weekly, weekly
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from storage import teams
from storage.database import Database
from storage.models import OutboxMessage, Team
from tests.conftest import Clock, RecordingSender
from tests.helpers import PEOPLE, say, seeded, submit_card, text_of

UTC = dt.UTC
WEEKLY = ("checkin", "batch", "success", "tension-prompt")
PLANNED = (*WEEKLY, "summary")  # the weekly jobs and the monthly summary


async def team_named(engine: Engine, slug: str) -> Team:
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, slug)
    assert team is not None
    return team


async def create_team(engine: Engine, slug: str, timezone: str, **settings: Any) -> Team:
    async with engine.database.session() as session, session.begin():
        return await teams.create_team(
            session, slug=slug, name=slug, now=engine.clock(), timezone=timezone, **settings
        )


def planned(calendar: Calendar, team: Team) -> dict[str, Any]:
    prefix = f"team:{team.id}:"
    return {
        job.id.removeprefix(prefix): job
        for job in calendar.scheduler.get_jobs()
        if job.id.startswith(prefix)
    }


def local_slot(job: Job, timezone: str) -> tuple[int, int, int]:
    at = job.next_run_time.astimezone(ZoneInfo(timezone))
    return at.weekday(), at.hour, at.minute


async def stop(calendar: Calendar) -> None:
    calendar.shutdown()
    await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
    assert not calendar.scheduler.running


async def wait_until(condition: Callable[[], bool]) -> None:
    """Let the running scheduler work, for at most 5 s."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def save_schedule(engine: Engine, who: str, **changes: str) -> None:
    card = (await say(engine, who, "schedule"))[0]
    values = {block.name: str(block.default) for block in card.inputs()}
    values.update(changes)
    replies = await submit_card(engine, who, card, values)
    assert replies[0].form is None and "⚠" not in text_of(replies), text_of(replies)


async def checkin_keys(engine: Engine) -> list[tuple[str, int | None]]:
    async with engine.database.session() as session:
        rows = await session.execute(
            select(OutboxMessage.idem_key, OutboxMessage.member_id).where(
                OutboxMessage.idem_key.startswith("checkin:")
            )
        )
        return [tuple(row) for row in rows.all()]


async def round_count(engine: Engine, team: Team) -> int:
    async with engine.database.session() as session:
        return len(await rounds.rounds_of(session, team.id))


# ----------------------------------------------------------------------- planning
async def test_each_team_is_planned_at_its_local_hours_in_its_zone(engine: Engine) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")  # Toronto, the model's defaults
    west = await create_team(
        engine,
        "ouest",
        "America/Vancouver",
        checkin_weekday=0,
        checkin_hour=9,
        batch_weekday=2,
        batch_hour=16,
        success_every_weeks=0,
        tension_prompt_every_weeks=0,
    )
    paris = await create_team(
        engine,
        "paris",
        "Europe/Paris",
        checkin_weekday=4,
        checkin_hour=8,
        batch_weekday=2,
        batch_hour=17,
        success_weekday=0,
        success_hour=16,
        tension_prompt_every_weeks=2,
    )
    calendar = Calendar(engine)
    await calendar.start()
    try:
        now = dt.datetime.now(UTC)
        expected = {
            demo: {
                "checkin": (1, 10),
                "batch": (3, 15),
                "success": (4, 11),
                "tension-prompt": (3, 10),
            },
            west: {"checkin": (0, 9), "batch": (2, 16)},
            paris: {
                "checkin": (4, 8),
                "batch": (2, 17),
                "success": (0, 16),
                "tension-prompt": (6, 8),
            },
        }
        for team, slots in expected.items():
            jobs = planned(calendar, team)
            assert set(jobs) == {*slots, "summary"}, team.slug
            monthly = jobs["summary"].next_run_time.astimezone(ZoneInfo(team.timezone))
            assert (monthly.day, monthly.hour, monthly.minute) == (1, 9, 0)
            for name, (weekday, hour) in slots.items():
                job = jobs[name]
                assert local_slot(job, team.timezone) == (weekday, hour, 0), (team.slug, name)
                assert job.trigger.timezone == ZoneInfo(team.timezone)
                assert isinstance(job.trigger, WallClockTrigger)
                assert now < job.next_run_time <= now + dt.timedelta(days=7)
                assert job.args[:2] == (team.slug, name)
        # The same local hour is a different UTC hour in each zone.
        assert planned(calendar, west)["checkin"].next_run_time.astimezone(UTC).hour in (16, 17)
        assert planned(calendar, paris)["checkin"].next_run_time.astimezone(UTC).hour in (6, 7)
        assert calendar.scheduler.get_job("tick") is not None
    finally:
        await stop(calendar)


async def test_team_triggers_follow_the_cadence_settings(engine: Engine) -> None:
    team = await create_team(
        engine, "t", "America/Toronto", success_every_weeks=0, tension_prompt_every_weeks=3
    )
    assert set(team_triggers(team)) == {"checkin", "batch", "tension-prompt", "summary"}
    team.tension_prompt_every_weeks = 0
    team.success_every_weeks = 1
    assert set(team_triggers(team)) == {"checkin", "batch", "success", "summary"}
    team.review_tensions = True  # review requests go out daily, only when review is on
    assert set(team_triggers(team)) == {"checkin", "batch", "success", "summary", "review"}


# ----------------------------------------------------------------------- re-planning
async def test_a_schedule_change_replans_the_team(engine: Engine) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")
    other = await create_team(engine, "autre", "Europe/Paris", checkin_hour=9)
    calendar = Calendar(engine, reload_delay=0.05)
    assert calendar.reload_soon in engine.on_schedule_change
    await calendar.start()
    try:
        untouched = planned(calendar, other)["checkin"].next_run_time
        assert local_slot(planned(calendar, demo)["checkin"], demo.timezone) == (1, 10, 0)
        await save_schedule(
            engine, "emilie", checkin_weekday="3", checkin_hour="14", success_every_weeks="0"
        )

        def replanned() -> bool:
            job = planned(calendar, demo).get("checkin")
            return job is not None and local_slot(job, demo.timezone) == (3, 14, 0)

        await wait_until(replanned)
        jobs = planned(calendar, demo)
        assert set(jobs) == {"checkin", "batch", "tension-prompt", "summary"}  # no success
        assert local_slot(jobs["tension-prompt"], demo.timezone) == (5, 14, 0)
        assert local_slot(jobs["batch"], demo.timezone) == (3, 15, 0)
        assert planned(calendar, other)["checkin"].next_run_time == untouched
    finally:
        await stop(calendar)


async def test_another_process_change_is_followed_at_the_next_tick(
    engine: Engine, database: Database, clock: Clock
) -> None:
    """Process B's calendar never hears engine A's listeners: its tick compares and re-plans."""
    await seeded(engine)
    demo = await team_named(engine, "demo")
    engine_b = Engine(database, clock=clock)
    calendar_b = Calendar(engine_b)
    await calendar_b.start()
    try:
        await save_schedule(engine, "emilie", checkin_weekday="0", checkin_hour="7")
        newcomer = await create_team(engine, "nouvelle", "America/Vancouver")
        assert local_slot(planned(calendar_b, demo)["checkin"], demo.timezone) == (1, 10, 0)
        assert planned(calendar_b, newcomer) == {}
        await calendar_b._tick()
        assert local_slot(planned(calendar_b, demo)["checkin"], demo.timezone) == (0, 7, 0)
        assert set(planned(calendar_b, newcomer)) == set(PLANNED)
        async with database.session() as session, session.begin():
            await session.delete(await session.get(Team, newcomer.id))
        await calendar_b._tick()
        assert planned(calendar_b, newcomer) == {}
        assert set(planned(calendar_b, demo)) == set(PLANNED)
    finally:
        await stop(calendar_b)


# ----------------------------------------------------------------------- firing
async def _in_cadence_checkin(team: Team, after: dt.datetime, wanted: bool) -> dt.datetime:
    tz = ZoneInfo(team.timezone)
    fire = next_weekly(team.checkin_weekday, team.checkin_hour, tz, after)
    while in_cadence(team.anchor_on, fire.astimezone(tz).date(), team.checkin_every_weeks) != (
        wanted
    ):
        fire = next_weekly(team.checkin_weekday, team.checkin_hour, tz, fire)
    return fire


async def test_the_same_job_fired_twice_opens_one_round(
    engine: Engine, clock: Clock, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")
    fire = await _in_cadence_checkin(demo, clock(), wanted=True)
    assert fire.astimezone(UTC) == dt.datetime(2026, 12, 8, 15, tzinfo=UTC)  # Tue 10:00 EST
    clock.now = fire
    first = await engine.jobs.run("checkin", "demo", forced=False, fire_time=fire)
    clock.advance(seconds=30)  # the other process, a little later
    second = await engine.jobs.run("checkin", "demo", forced=False, fire_time=fire)
    assert (first.message, first.count) == ("jobs.checkin", 9)
    assert (second.message, second.count) == ("jobs.checkin_exists", 0)
    # The scheduler's own coroutine, on time and an hour late, changes nothing either.
    calendar = Calendar(engine)
    trigger = team_triggers(demo)["checkin"]
    await calendar._fire("demo", "checkin", trigger)
    clock.now = fire + dt.timedelta(minutes=59)
    await calendar._fire("demo", "checkin", trigger)
    async with engine.database.session() as session:
        opened = await rounds.rounds_of(session, demo.id)
    assert [r.occurrence for r in opened] == ["2026-12-08"]
    keys = await checkin_keys(engine)
    assert len(keys) == 9 and len({member for _, member in keys}) == 9
    clock.advance(hours=3)  # past Vancouver's quiet hours
    await worker.drain()
    asked = [
        d.address for d in sender.deliveries if d.card.form and "checkin" in d.card.form.action
    ]
    assert sorted(asked) == sorted(PEOPLE), asked


async def test_two_processes_firing_at_once_open_one_round(
    engine: Engine, database: Database, clock: Clock
) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")
    fire = await _in_cadence_checkin(demo, clock(), wanted=True)
    clock.now = fire
    trigger = team_triggers(demo)["checkin"]
    a, b = Calendar(engine), Calendar(Engine(database, clock=clock))
    await asyncio.gather(a._fire("demo", "checkin", trigger), b._fire("demo", "checkin", trigger))
    assert await round_count(engine, demo) == 1
    keys = await checkin_keys(engine)
    assert len(keys) == 9 and len({member for _, member in keys}) == 9


async def test_a_checkin_on_an_off_week_does_nothing(engine: Engine, clock: Clock) -> None:
    await seeded(engine)
    demo = await team_named(engine, "demo")
    assert demo.checkin_every_weeks == 2
    fire = await _in_cadence_checkin(demo, clock(), wanted=False)
    assert fire.astimezone(UTC) == dt.datetime(2026, 12, 1, 15, tzinfo=UTC)
    clock.now = fire
    result = await engine.jobs.run("checkin", "demo", forced=False, fire_time=fire)
    assert (result.message, result.count) == ("jobs.checkin_off_week", 0)
    await Calendar(engine)._fire("demo", "checkin", team_triggers(demo)["checkin"])
    assert await round_count(engine, demo) == 0
    assert await checkin_keys(engine) == []
    # The following week is on: the calendar's own firing opens the round.
    clock.now = fire + dt.timedelta(days=7)
    await Calendar(engine)._fire("demo", "checkin", team_triggers(demo)["checkin"])
    assert await round_count(engine, demo) == 1


async def test_a_late_firing_counts_for_its_scheduled_occurrence(
    engine: Engine, clock: Clock
) -> None:
    """A Sunday 23:00 check-in fired at the very end of its misfire grace (Monday 00:00) is
    still Sunday's on-week one; by the firing time, Monday would be in the next (off) week."""
    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        team.checkin_weekday, team.checkin_hour = 6, 23
    demo = await team_named(engine, "demo")
    tz = ZoneInfo(demo.timezone)
    fire = await _in_cadence_checkin(demo, clock(), wanted=True)
    trigger = team_triggers(demo)["checkin"]
    assert scheduled_time(trigger, fire + dt.timedelta(minutes=30)) == fire
    assert scheduled_time(trigger, fire + dt.timedelta(hours=1, seconds=1)) is None
    clock.now = fire + dt.timedelta(hours=1)  # APScheduler still runs it: lateness == grace
    assert clock().astimezone(tz).weekday() == 0
    assert not in_cadence(demo.anchor_on, clock().astimezone(tz).date(), 2)
    await Calendar(engine)._fire("demo", "checkin", trigger)
    async with engine.database.session() as session:
        opened = await rounds.rounds_of(session, demo.id)
    assert [r.occurrence for r in opened] == [fire.astimezone(tz).date().isoformat()]


def test_scheduled_time_across_the_spring_gap() -> None:
    tz = ZoneInfo("America/Toronto")
    trigger = weekly(6, 2, tz)  # Sunday 02:00, which 2027-03-14 skips
    fired = dt.datetime(2027, 3, 14, 7, 0, 5, tzinfo=UTC)  # 03:00:05 EDT
    assert scheduled_time(trigger, fired) == dt.datetime(2027, 3, 14, 7, tzinfo=UTC)
    assert scheduled_time(trigger, dt.datetime(2027, 3, 14, 6, 59, tzinfo=UTC)) is None


async def test_a_stopping_server_lets_a_tick_under_way_finish(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server stops (and then closes the database) while a tick runs: the tick finishes
    first; one still running after the patience is cancelled quietly."""
    started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow_tick(period: dt.timedelta) -> list[Any]:
        started.set()
        await release.wait()
        finished.set()
        return []

    monkeypatch.setattr(engine.jobs, "tick", slow_tick)
    calendar = Calendar(engine, tick_seconds=0.05)
    await calendar.start()
    await asyncio.wait_for(started.wait(), timeout=30)
    stopping = asyncio.create_task(calendar.stop())
    await asyncio.sleep(0)  # the stop is under way, waiting on the tick
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, timeout=30)
    assert finished.is_set() and not calendar.scheduler.running

    release.clear()
    started.clear()
    again = Calendar(engine, tick_seconds=0.05)
    await again.start()
    await asyncio.wait_for(started.wait(), timeout=30)
    await again.stop(patience=0.01)  # never released: cancelled, without an error
    assert not again._running
