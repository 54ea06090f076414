"""Time in each team's and member's own zone: cadence, batches, quiet hours, prompts.

Occurrences come from APScheduler's CronTrigger, the same that drives the scheduler, so a
preview ("published Thursday at 15:00") and the job that publishes agree, across DST too.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from storage.models import Member, Team

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def zone(name: str | None, fallback: str = "America/Toronto") -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class WallClockTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler 3 is untyped
    """A CronTrigger that fires once per local wall-clock occurrence, across DST changes.

    APScheduler 3.11 with zoneinfo fires a trigger whose time falls in the hour repeated when
    clocks go back twice (01:30 EDT, then 01:30 EST an hour later). This one keeps the first
    (fold=0), as `local_to_utc` does. A time skipped when clocks go forward (02:30 on the
    spring-forward night) fires once, an hour later by the wall clock (03:30), and is returned
    normalised (03:30-04:00 rather than APScheduler's non-existent 02:30-05:00).
    """

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        fire: dt.datetime | None = super().get_next_fire_time(previous_fire_time, now)
        for _ in range(4):  # a repeated hour is followed by a week with no repeat
            if fire is None or not _repeated(fire):
                break
            # In UTC: aware arithmetic in a zone is wall-clock arithmetic and would drop the fold.
            later = fire.astimezone(dt.UTC) + dt.timedelta(microseconds=1)
            fire = super().get_next_fire_time(None, later)
        return None if fire is None else fire.astimezone(dt.UTC).astimezone(self.timezone)


def _repeated(moment: dt.datetime) -> bool:
    """True for the second pass (fold=1) of a wall-clock time that a fall-back change repeats."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def weekly(weekday: int, hour: int, tz: ZoneInfo) -> CronTrigger:
    return WallClockTrigger(day_of_week=WEEKDAYS[weekday], hour=hour, minute=0, timezone=tz)


def next_weekly(weekday: int, hour: int, tz: ZoneInfo, after: dt.datetime) -> dt.datetime:
    """The first weekly occurrence strictly after `after`, as an aware datetime in `tz`."""
    # One microsecond, not one second: APScheduler rounds up to the next whole second, so
    # `after` = 14:59:59.5 must still find 15:00:00.
    fire = weekly(weekday, hour, tz).get_next_fire_time(
        None, after.astimezone(dt.UTC) + dt.timedelta(microseconds=1)
    )
    assert fire is not None
    return fire


def weeks_since(anchor: dt.date, day: dt.date) -> int:
    """Whole weeks between the Mondays of `anchor`'s and `day`'s weeks."""
    monday = anchor - dt.timedelta(days=anchor.weekday())
    return (day - monday).days // 7


def in_cadence(anchor: dt.date, day: dt.date, every_weeks: int) -> bool:
    return every_weeks > 0 and weeks_since(anchor, day) % every_weeks == 0


def week_key(moment: dt.datetime, tz: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}W{week:02d}"


def quiet_until(moment: dt.datetime, tz: ZoneInfo, start: int, end: int) -> dt.datetime:
    """`moment` if outside quiet hours [start, end) local, else the local `end` that ends them."""
    local = moment.astimezone(tz)
    if start == end:
        return moment
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return moment
    day = local.date() if hour < end else local.date() + dt.timedelta(days=1)
    wake = dt.datetime.combine(day, dt.time(end), tzinfo=tz)
    return wake.astimezone(dt.UTC)


def member_quiet_until(moment: dt.datetime, team: Team, member: Member) -> dt.datetime:
    """When a message due at `moment` may reach `member`: their quiet hours (else the team's),
    on their clock (else the team's)."""
    start = member.quiet_start if member.quiet_start is not None else team.quiet_start
    end = member.quiet_end if member.quiet_end is not None else team.quiet_end
    return quiet_until(moment, zone(member.timezone, team.timezone), start, end)


def local_to_utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `tz` as UTC.

    Always read with fold=0 (PEP 495): a time repeated when clocks go back is its first
    occurrence (01:30 on the fall-back night is 01:30 daylight time), and a time skipped when
    clocks go forward takes the offset in force before the change, so it moves forward by the
    length of the gap, as clocks do (02:30 on the spring-forward night is 03:30 daylight time).
    """
    return local.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)


def recurrences(
    first_local: dt.datetime, recurrence: str, tz: ZoneInfo, after: dt.datetime, count: int = 1
) -> list[dt.datetime]:
    """The next `count` occurrences (UTC) of a local wall-clock schedule strictly after `after`."""
    step = {"weekly": 7, "biweekly": 14}.get(recurrence)
    found: list[dt.datetime] = []
    n = 0
    while len(found) < count and n < 1000:
        if recurrence == "monthly":
            local = _add_months(first_local, n)
        elif step:
            local = first_local + dt.timedelta(days=step * n)
        elif n == 0:
            local = first_local
        else:
            break
        moment = local_to_utc(local, tz)
        if moment > after:
            found.append(moment)
        n += 1
    return found


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def next_batch(team: Team, now: dt.datetime) -> dt.datetime:
    """When the team's next weekly batch (tensions and anonymous successes) is posted."""
    return next_weekly(team.batch_weekday, team.batch_hour, zone(team.timezone), now)
