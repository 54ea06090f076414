"""Time in each team's and member's own zone: cadence, batches, quiet hours, prompts.

Occurrences come from APScheduler's CronTrigger, the same that drives the scheduler, so a
preview ("published Thursday at 15:00") and the job that publishes agree, across DST too.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

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


def weekly(weekday: int, hour: int, tz: ZoneInfo) -> CronTrigger:
    return CronTrigger(day_of_week=WEEKDAYS[weekday], hour=hour, minute=0, timezone=tz)


def next_weekly(weekday: int, hour: int, tz: ZoneInfo, after: dt.datetime) -> dt.datetime:
    """The first weekly occurrence strictly after `after`, as an aware datetime in `tz`."""
    fire = weekly(weekday, hour, tz).get_next_fire_time(None, after + dt.timedelta(seconds=1))
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


def local_to_utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `tz` as UTC (a time skipped by DST moves forward, as clocks do)."""
    aware = local.replace(tzinfo=tz)
    roundtrip = aware.astimezone(dt.UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != local:  # inside a spring-forward gap
        aware = (local + dt.timedelta(hours=1)).replace(tzinfo=tz)
    return aware.astimezone(dt.UTC)


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
