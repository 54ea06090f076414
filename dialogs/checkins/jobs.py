"""The check-in's calendar: opening a round, its one reminder, asking again for ballots this
server can no longer open, and the close (then what other rituals do when a round closes)."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from dialogs.calendar import in_cadence, weekly, zone
from dialogs.checkins import open_review, results, round_store
from dialogs.checkins import rounds as checkins
from dialogs.registry import Occasion
from dialogs.rituals import registry
from storage.models import Team


def weekly_trigger(team: Team) -> CronTrigger:
    """Weekly: a cadence of N weeks is checked when the job runs (`in_cadence`)."""
    return weekly(team.checkin_weekday, team.checkin_hour, zone(team.timezone))


async def start(occasion: Occasion) -> tuple[str, int]:
    team, session = occasion.team, occasion.session
    local = occasion.scheduled.astimezone(zone(team.timezone))
    if not occasion.forced and not in_cadence(
        team.anchor_on, local.date(), team.checkin_every_weeks
    ):
        return "jobs.checkin_off_week", 0
    occurrence = local.date().isoformat()
    if occasion.forced:
        # Named after the round it would open, not only its minute: a round closed at minute M
        # does not block another opened at M, and a double click still opens one (the second
        # finds this one open, or loses the insert on the same occurrence).
        number = await round_store.last_seq(session, team.id) + 1
        occurrence = f"now:{local:%Y-%m-%dT%H:%M}#{number}"
    round_ = await checkins.start_round(
        session, occasion.bank, team, occurrence=occurrence, now=occasion.now
    )
    if round_ is None:
        return "jobs.checkin_exists", 0
    asked = await round_store.members_with_status(session, round_.id, round_store.ASKED)
    return "jobs.checkin", len(asked)


async def reminders(occasion: Occasion) -> tuple[str, int]:
    round_ = await round_store.open_round_of(occasion.session, occasion.team.id)
    if round_ is None or (not occasion.forced and round_.remind_at > occasion.now):
        return "jobs.no_open_round", 0
    if round_.reminded:
        return "jobs.reminded_already", 0
    reminded = await checkins.remind(
        occasion.session, occasion.bank, occasion.team, round_, occasion.now
    )
    return "jobs.reminders", reminded


async def ask_again(occasion: Occasion) -> tuple[str, int]:
    """Ballots sealed under a key this server no longer holds: their authors are asked
    again (a lost or too early retired secret; see docs/operations.md)."""
    round_ = await round_store.open_round_of(occasion.session, occasion.team.id)
    if round_ is None:
        return "jobs.no_open_round", 0
    asked = await checkins.ask_again(
        occasion.session, occasion.sealer, occasion.bank, occasion.team, round_, occasion.now
    )
    return "jobs.asked_again", asked


async def close(occasion: Occasion) -> tuple[str, int]:
    """Close the open round once it is due (or now, forced): freeze what reached k, ask for
    the open answers' review, then each ritual's `on_round_closed` (the summaries are sent)."""
    session, team, now = occasion.session, occasion.team, occasion.now
    round_ = await round_store.open_round_of(session, team.id)
    due = round_ is not None and (occasion.forced or round_.closes_at <= now)
    if round_ is None or not due or not await checkins.close(session, team, round_):  # once
        return "jobs.no_open_round", 0
    await results.freeze_new_units(session, occasion.sealer, team, now)
    if team.review_open_answers:
        await open_review.ask(session, team, round_, now)
    sent = 0
    for hook in registry().round_closed_hooks():
        sent += await hook(occasion, round_)
    return "jobs.closed", sent
