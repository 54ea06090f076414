"""Time in each zone, across DST (dialogs.calendar).

America/Toronto: clocks go back 2026-11-01 and 2027-11-07 at 02:00 (to 01:00), and forward
2027-03-14 at 02:00 (to 03:00). Europe/Paris: back 2026-10-25 03:00, forward 2027-03-28 02:00.
Comparisons are made in UTC: two aware datetimes sharing a tzinfo compare by wall time, so
01:30 EDT and 01:30 EST would compare equal.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from dialogs.calendar import (
    WallClockTrigger,
    in_cadence,
    local_to_utc,
    next_weekly,
    quiet_until,
    recurrences,
    week_key,
    weekly,
    weeks_since,
)

TORONTO = ZoneInfo("America/Toronto")
VANCOUVER = ZoneInfo("America/Vancouver")
PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
TUESDAY, SUNDAY = 1, 6


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(trigger: BaseTrigger, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Fire times in [start, end), computed as the scheduler does (from the previous one)."""
    found: list[dt.datetime] = []
    previous, now = None, start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire >= end:
            return [f.astimezone(UTC) for f in found]
        assert not found or fire.astimezone(UTC) > found[-1].astimezone(UTC), "went back"
        found.append(fire)
        previous = now = fire


# ----------------------------------------------------------------------- weekly triggers
def test_weekly_ten_oclock_stays_at_ten_local_across_every_change() -> None:
    got = fires(weekly(TUESDAY, 10, TORONTO), utc(2026, 10, 1), utc(2027, 12, 1))
    assert len(got) == 61
    assert all(f.astimezone(TORONTO).hour == 10 for f in got)
    assert all(f.astimezone(TORONTO).weekday() == TUESDAY for f in got)
    week, hour = dt.timedelta(days=7), dt.timedelta(hours=1)
    assert {b - a for a, b in itertools.pairwise(got)} == {week, week + hour, week - hour}
    by_day = {f.date(): f.hour for f in got}
    # Summer 14:00 UTC, winter 15:00 UTC, on both sides of each change.
    assert by_day[dt.date(2026, 10, 27)] == 14
    assert by_day[dt.date(2026, 11, 3)] == 15
    assert by_day[dt.date(2027, 3, 9)] == 15
    assert by_day[dt.date(2027, 3, 16)] == 14
    assert by_day[dt.date(2027, 11, 2)] == 14
    assert by_day[dt.date(2027, 11, 9)] == 15
    assert [h for h in by_day.values() if h not in (14, 15)] == []


def test_next_weekly_on_the_change_days_themselves() -> None:
    # Sundays at 10:00: the fall-back Sunday is already winter, the spring one already summer.
    assert next_weekly(SUNDAY, 10, TORONTO, utc(2026, 10, 30)) == utc(2026, 11, 1, 15)
    assert next_weekly(SUNDAY, 10, TORONTO, utc(2027, 3, 10)) == utc(2027, 3, 14, 14)
    assert next_weekly(SUNDAY, 10, TORONTO, utc(2027, 11, 3)) == utc(2027, 11, 7, 15)
    chained, after = [], utc(2026, 10, 20)
    for _ in range(3):
        after = next_weekly(SUNDAY, 10, TORONTO, after)
        chained.append(after)
    assert chained == [utc(2026, 10, 25, 14), utc(2026, 11, 1, 15), utc(2026, 11, 8, 15)]
    assert chained[-1].tzinfo is TORONTO  # returned in the team's zone


def test_next_weekly_is_strictly_after_and_does_not_skip_within_a_second() -> None:
    occurrence = utc(2026, 11, 24, 15)  # Tuesday 10:00 EST
    assert next_weekly(TUESDAY, 10, TORONTO, occurrence - dt.timedelta(milliseconds=500)) == (
        occurrence
    )
    assert next_weekly(TUESDAY, 10, TORONTO, occurrence - dt.timedelta(seconds=1)) == occurrence
    assert next_weekly(TUESDAY, 10, TORONTO, occurrence) == occurrence + dt.timedelta(days=7)


@pytest.mark.parametrize("trigger_class", [CronTrigger, WallClockTrigger])
def test_spring_forward_skipped_time_fires_once_an_hour_later(
    trigger_class: type[BaseTrigger],
) -> None:
    """02:30 does not exist on 2027-03-14 in Toronto: APScheduler (and so the calendar) fires
    once, at 03:30 EDT (07:30 UTC), neither twice nor never; the weeks around are untouched."""
    trigger = trigger_class(day_of_week="sun", hour=2, minute=30, timezone=TORONTO)
    got = fires(trigger, utc(2027, 3, 1), utc(2027, 3, 29))
    assert got == [
        utc(2027, 3, 7, 7, 30),  # 02:30 EST
        utc(2027, 3, 14, 7, 30),  # 03:30 EDT: the skipped 02:30, an hour later
        utc(2027, 3, 21, 6, 30),  # 02:30 EDT
        utc(2027, 3, 28, 6, 30),
    ]
    # The same through weekly() at 02:00: 03:00 EDT on the day, once.
    hourly = fires(weekly(SUNDAY, 2, TORONTO), utc(2027, 3, 13), utc(2027, 3, 15))
    assert hourly == [utc(2027, 3, 14, 7)]
    local = next_weekly(SUNDAY, 2, TORONTO, utc(2027, 3, 13))
    assert (local.hour, local.minute, local.utcoffset()) == (3, 0, dt.timedelta(hours=-4))


def test_apscheduler_alone_fires_twice_in_the_repeated_hour() -> None:
    """Why WallClockTrigger exists: APScheduler 3.11's CronTrigger with zoneinfo fires a time in
    the repeated hour twice (01:30 EDT, then 01:30 EST). If this starts failing, APScheduler
    fixed it and WallClockTrigger's override can go."""
    plain = CronTrigger(day_of_week="sun", hour=1, minute=30, timezone=TORONTO)
    got = fires(plain, utc(2026, 10, 31), utc(2026, 11, 2))
    assert got == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)]


@pytest.mark.parametrize(
    "trigger",
    [
        WallClockTrigger(day_of_week="sun", hour=1, minute=30, timezone=TORONTO),
        WallClockTrigger(hour=1, minute=30, timezone=TORONTO),  # daily
    ],
    ids=["weekly", "daily"],
)
def test_fall_back_repeated_time_fires_exactly_once_at_its_first_occurrence(
    trigger: BaseTrigger,
) -> None:
    got = fires(trigger, utc(2026, 10, 31), utc(2026, 11, 2, 12))
    on_the_day = [f for f in got if f.astimezone(TORONTO).date() == dt.date(2026, 11, 1)]
    assert on_the_day == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT, the first one (fold=0)
    # A process that starts inside the repeated hour has missed it; it does not fire again.
    nxt = trigger.get_next_fire_time(None, utc(2026, 11, 1, 6, 10))
    assert nxt.astimezone(TORONTO).date() > dt.date(2026, 11, 1)
    assert nxt.astimezone(TORONTO).time() == dt.time(1, 30)


def test_weekly_at_one_oclock_across_both_fall_back_days() -> None:
    got = fires(weekly(SUNDAY, 1, TORONTO), utc(2026, 10, 20), utc(2027, 11, 15))
    per_day: dict[dt.date, int] = {}
    for f in got:
        day = f.astimezone(TORONTO).date()
        per_day[day] = per_day.get(day, 0) + 1
    assert set(per_day.values()) == {1}
    assert len(got) == 56
    assert utc(2026, 11, 1, 5) in got and utc(2026, 11, 1, 6) not in got
    assert utc(2027, 11, 7, 5) in got and utc(2027, 11, 7, 6) not in got
    assert utc(2027, 3, 14, 6) in got  # 01:00 EST, just before the spring change


# ----------------------------------------------------------------------- local_to_utc
def test_local_to_utc_spring_gap_moves_forward_by_the_gap() -> None:
    assert local_to_utc(dt.datetime(2027, 3, 14, 2, 30), TORONTO) == utc(2027, 3, 14, 7, 30)
    assert local_to_utc(dt.datetime(2027, 3, 14, 2, 0), TORONTO) == utc(2027, 3, 14, 7)
    assert local_to_utc(dt.datetime(2027, 3, 14, 1, 59), TORONTO) == utc(2027, 3, 14, 6, 59)
    assert local_to_utc(dt.datetime(2027, 3, 14, 3, 0), TORONTO) == utc(2027, 3, 14, 7)
    assert local_to_utc(dt.datetime(2027, 3, 28, 2, 30), PARIS) == utc(2027, 3, 28, 1, 30)
    # A 30-minute gap moves forward by 30 minutes, not by a fixed hour.
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    moved = local_to_utc(dt.datetime(2026, 10, 4, 2, 15), lord_howe)
    assert moved.astimezone(lord_howe).time() == dt.time(2, 45)


def test_local_to_utc_fall_back_overlap_is_the_first_occurrence() -> None:
    first = utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert local_to_utc(dt.datetime(2026, 11, 1, 1, 30), TORONTO) == first
    # Explicit: whatever fold the caller passes, the answer is fold=0.
    assert local_to_utc(dt.datetime(2026, 11, 1, 1, 30, fold=1), TORONTO) == first
    assert local_to_utc(dt.datetime(2026, 11, 1, 0, 30), TORONTO) == utc(2026, 11, 1, 4, 30)
    assert local_to_utc(dt.datetime(2026, 11, 1, 2, 0), TORONTO) == utc(2026, 11, 1, 7)
    assert local_to_utc(dt.datetime(2026, 10, 25, 2, 30), PARIS) == utc(2026, 10, 25, 0, 30)


# ----------------------------------------------------------------------- recurrences
def _local(moments: list[dt.datetime], tz: ZoneInfo = TORONTO) -> list[dt.datetime]:
    return [m.astimezone(tz).replace(tzinfo=None) for m in moments]


def test_weekly_recurrence_keeps_the_wall_time_across_both_changes() -> None:
    got = recurrences(dt.datetime(2026, 10, 20, 10), "weekly", TORONTO, utc(2026, 10, 1), 60)
    assert len(got) == 60
    assert _local(got) == [dt.datetime(2026, 10, 20, 10) + dt.timedelta(weeks=n) for n in range(60)]
    hours = {m.date(): m.hour for m in got}
    assert hours[dt.date(2026, 10, 27)] == 14 and hours[dt.date(2026, 11, 3)] == 15
    assert hours[dt.date(2027, 3, 9)] == 15 and hours[dt.date(2027, 3, 16)] == 14
    assert hours[dt.date(2027, 11, 2)] == 14 and hours[dt.date(2027, 11, 9)] == 15


def test_biweekly_recurrence_across_both_changes_and_after_filter() -> None:
    got = recurrences(dt.datetime(2026, 10, 20, 10), "biweekly", TORONTO, utc(2026, 10, 28), 30)
    assert got[0] == utc(2026, 11, 3, 15)  # the first one after `after`, in winter time
    assert _local(got) == [
        dt.datetime(2026, 11, 3, 10) + dt.timedelta(weeks=2 * n) for n in range(30)
    ]
    assert utc(2027, 3, 9, 15) in got and utc(2027, 3, 23, 14) in got
    # Strictly after: an occurrence equal to `after` is not returned.
    again = recurrences(dt.datetime(2026, 10, 20, 10), "biweekly", TORONTO, utc(2026, 11, 3, 15))
    assert again == [utc(2026, 11, 17, 15)]


def test_monthly_recurrence_keeps_wall_time_and_clamps_the_31st() -> None:
    got = recurrences(dt.datetime(2027, 1, 31, 9), "monthly", TORONTO, utc(2027, 1, 1), 14)
    assert _local(got) == [
        dt.datetime(2027, 1, 31, 9),
        dt.datetime(2027, 2, 28, 9),
        dt.datetime(2027, 3, 31, 9),  # back to the 31st: counted from the first, not chained
        dt.datetime(2027, 4, 30, 9),
        dt.datetime(2027, 5, 31, 9),
        dt.datetime(2027, 6, 30, 9),
        dt.datetime(2027, 7, 31, 9),
        dt.datetime(2027, 8, 31, 9),
        dt.datetime(2027, 9, 30, 9),
        dt.datetime(2027, 10, 31, 9),
        dt.datetime(2027, 11, 30, 9),
        dt.datetime(2027, 12, 31, 9),
        dt.datetime(2028, 1, 31, 9),
        dt.datetime(2028, 2, 29, 9),  # a leap year
    ]
    assert got[1] == utc(2027, 2, 28, 14) and got[2] == utc(2027, 3, 31, 13)
    assert got[10] == utc(2027, 11, 30, 14)
    autumn = recurrences(dt.datetime(2026, 10, 15, 10), "monthly", TORONTO, utc(2026, 10, 16), 2)
    assert autumn == [utc(2026, 11, 15, 15), utc(2026, 12, 15, 15)]


def test_recurrence_in_the_gap_and_once() -> None:
    got = recurrences(dt.datetime(2027, 3, 7, 2, 30), "weekly", TORONTO, utc(2027, 3, 1), 3)
    assert got == [utc(2027, 3, 7, 7, 30), utc(2027, 3, 14, 7, 30), utc(2027, 3, 21, 6, 30)]
    assert len(set(got)) == 3
    once = dt.datetime(2026, 11, 1, 1, 30)
    assert recurrences(once, "once", TORONTO, utc(2026, 10, 1), 5) == [utc(2026, 11, 1, 5, 30)]
    assert recurrences(once, "once", TORONTO, utc(2026, 11, 1, 5, 30), 5) == []


# ----------------------------------------------------------------------- quiet hours
def test_quiet_hours_in_vancouver() -> None:
    evening = utc(2026, 11, 24, 4)  # 20:00 PST: quiet begins
    assert quiet_until(evening, VANCOUVER, 20, 8) == utc(2026, 11, 24, 16)  # 08:00 PST
    assert quiet_until(utc(2026, 11, 24, 3, 59), VANCOUVER, 20, 8) == utc(2026, 11, 24, 3, 59)
    assert quiet_until(utc(2026, 11, 24, 15, 59), VANCOUVER, 20, 8) == utc(2026, 11, 24, 16)
    assert quiet_until(utc(2026, 11, 24, 16), VANCOUVER, 20, 8) == utc(2026, 11, 24, 16)
    assert quiet_until(utc(2026, 11, 24, 9), VANCOUVER, 20, 8) == utc(2026, 11, 24, 16)  # 01:00


def test_quiet_hours_across_a_dst_night_wake_at_local_eight() -> None:
    # Vancouver, 21:00 PDT the night clocks go back: 08:00 PST is 16:00 UTC, not 15:00.
    assert quiet_until(utc(2026, 11, 1, 4), VANCOUVER, 20, 8) == utc(2026, 11, 1, 16)
    # The night clocks go forward: 08:00 PDT is 15:00 UTC.
    assert quiet_until(utc(2027, 3, 14, 6), VANCOUVER, 20, 8) == utc(2027, 3, 14, 15)
    # Paris, 23:00 CET before the spring change: 08:00 CEST is 06:00 UTC.
    assert quiet_until(utc(2027, 3, 27, 22), PARIS, 20, 8) == utc(2027, 3, 28, 6)
    # Paris, 21:00 CEST before the autumn change, and 01:00 CEST after midnight: 07:00 UTC.
    assert quiet_until(utc(2026, 10, 24, 19), PARIS, 20, 8) == utc(2026, 10, 25, 7)
    assert quiet_until(utc(2026, 10, 24, 23), PARIS, 20, 8) == utc(2026, 10, 25, 7)


def test_same_instant_quiet_in_paris_not_in_vancouver() -> None:
    moment = utc(2026, 11, 24, 21)  # 22:00 in Paris, 13:00 in Vancouver
    assert quiet_until(moment, PARIS, 20, 8) == utc(2026, 11, 25, 7)
    assert quiet_until(moment, VANCOUVER, 20, 8) == moment


def test_no_quiet_hours_and_a_daytime_window() -> None:
    start = utc(2026, 11, 24)
    for hour in range(0, 48):
        moment = start + dt.timedelta(hours=hour)
        assert quiet_until(moment, PARIS, 0, 0) == moment
        assert quiet_until(moment, VANCOUVER, 20, 20) == moment
    # start < end: quiet only inside [12, 14) local, the same day.
    assert quiet_until(utc(2026, 11, 24, 11, 30), PARIS, 12, 14) == utc(2026, 11, 24, 13)
    assert quiet_until(utc(2026, 11, 24, 10, 59), PARIS, 12, 14) == utc(2026, 11, 24, 10, 59)
    assert quiet_until(utc(2026, 11, 24, 13), PARIS, 12, 14) == utc(2026, 11, 24, 13)


# ----------------------------------------------------------------------- cadence and weeks
def test_every_two_weeks_across_a_53_week_year() -> None:
    anchor = dt.date(2026, 12, 16)  # Wednesday of 2026-W51
    assert dt.date(2026, 12, 28).isocalendar()[:2] == (2026, 53)
    expected = {
        dt.date(2026, 12, 14): (0, True),
        dt.date(2026, 12, 20): (0, True),
        dt.date(2026, 12, 21): (1, False),  # W52
        dt.date(2026, 12, 28): (2, True),  # W53
        dt.date(2027, 1, 3): (2, True),  # still W53
        dt.date(2027, 1, 4): (3, False),  # 2027-W01: W53 and W01 are both odd, yet differ
        dt.date(2027, 1, 11): (4, True),  # W02
        dt.date(2027, 12, 20): (53, False),
        dt.date(2027, 12, 27): (54, True),
        dt.date(2026, 12, 13): (-1, False),  # before the anchor's week
        dt.date(2026, 12, 6): (-2, True),
    }
    for day, (weeks, due) in expected.items():
        assert weeks_since(anchor, day) == weeks, day
        assert in_cadence(anchor, day, 2) is due, day
    assert in_cadence(anchor, dt.date(2027, 1, 4), 3)
    assert not in_cadence(anchor, dt.date(2027, 1, 11), 3)
    assert all(in_cadence(anchor, anchor + dt.timedelta(days=d), 1) for d in range(30))
    assert not any(in_cadence(anchor, anchor + dt.timedelta(days=d), 0) for d in range(30))
    # An anchor inside week 53 counts from that week's Monday.
    assert weeks_since(dt.date(2027, 1, 2), dt.date(2027, 1, 4)) == 1
    assert weeks_since(dt.date(2027, 1, 2), dt.date(2026, 12, 28)) == 0


def test_week_key_is_the_iso_week_in_the_zone() -> None:
    assert week_key(utc(2026, 12, 31, 12), TORONTO) == "2026W53"
    assert week_key(utc(2027, 1, 3, 12), TORONTO) == "2026W53"
    assert week_key(utc(2027, 1, 4, 15), TORONTO) == "2027W01"
    # 03:00 UTC on Monday 4 January is Sunday evening in Toronto, Monday morning in Paris.
    assert week_key(utc(2027, 1, 4, 3), TORONTO) == "2026W53"
    assert week_key(utc(2027, 1, 4, 3), PARIS) == "2027W01"
    assert week_key(utc(2025, 12, 29, 12), TORONTO) == "2026W01"
    assert week_key(utc(2026, 3, 2, 12), PARIS) == "2026W10"
