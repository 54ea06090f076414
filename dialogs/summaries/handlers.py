"""The pulse summary on demand (`summary`, `summary csv`), monthly, and after each close."""

from __future__ import annotations

from collections.abc import Mapping

from apscheduler.triggers.cron import CronTrigger

from dialogs.calendar import zone
from dialogs.cards import Card
from dialogs.commands import Command, fold
from dialogs.forms import refused
from dialogs.registry import ClosedRound, Occasion
from dialogs.summaries import card, pulse
from dialogs.summaries.export import export_card
from dialogs.turn import Turn
from storage.models import Team

EXPORT_WORDS = ("csv", "export", "exporter")


async def summary_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    tr, team = turn.tr, turn.team
    assert team is not None
    if command.args and fold(command.args[0]) in EXPORT_WORDS:
        if not turn.is_coordinator:
            return [refused(tr, "errors.coordinators_only")]
        computed = await pulse.compute(turn.session, team, turn.today)
        return [export_card(computed, tr, team.slug, turn.bank)]
    shown = await card.card_for(
        turn.session, turn.bank, team, tr, turn.today, coordinator=turn.is_coordinator
    )
    return [shown]


def monthly_trigger(team: Team) -> CronTrigger:
    """At 9:00 on the 1st: never in a DST change, which happens at night."""
    return CronTrigger(day=1, hour=9, minute=0, timezone=zone(team.timezone))


async def monthly(occasion: Occasion) -> tuple[str, int]:
    team, now = occasion.team, occasion.now
    local = occasion.scheduled.astimezone(zone(team.timezone))
    occasion_key = f"manual:{now:%Y%m%dT%H%M}" if occasion.forced else f"monthly:{local:%Y-%m}"
    sent = await card.send_to_readers(
        occasion.session, occasion.bank, team, now, occasion=occasion_key
    )
    return "jobs.summary", sent


async def after_close(occasion: Occasion, round_: ClosedRound) -> int:
    """Each round's close brings its readers the new summary."""
    return await card.send_to_readers(
        occasion.session, occasion.bank, occasion.team, occasion.now, occasion=f"round{round_.seq}"
    )
