"""A prompt card to every active member, on the team's cadence (tensions, successes)."""

from __future__ import annotations

from collections.abc import Callable

from dialogs import outbound
from dialogs.calendar import in_cadence, zone
from dialogs.cards import Card
from dialogs.i18n import Tr
from dialogs.registry import Occasion
from storage import teams


async def prompt_everyone(
    occasion: Occasion, every_weeks: int, kind: str, card: Callable[[Tr, int], Card]
) -> tuple[str, int]:
    """Send each member `card(their language, ISO week)`: prompts rotate by week. One message
    per member and occasion (the outbox key), so a job fired twice sends once."""
    team = occasion.team
    local = occasion.scheduled.astimezone(zone(team.timezone))
    if not occasion.forced and not in_cadence(team.anchor_on, local.date(), every_weeks):
        return "jobs.off_week", 0
    week = local.isocalendar()[1]
    when = f"{local:%Y-%m-%dT%H:%M}" if occasion.forced else local.date().isoformat()
    sent = await outbound.to_each(
        occasion.session,
        team,
        await teams.active_members(occasion.session, team.id),
        lambda tr, _: card(tr, week),
        key=f"{kind}:{team.id}:{when}",
        now=occasion.now,
    )
    return "jobs.sent", sent
