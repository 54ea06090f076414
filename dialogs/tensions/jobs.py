"""The tensions' calendar: the coordinators' daily review, the weekly batch, the prompt."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from dialogs.calendar import weekly, zone
from dialogs.cards import Card
from dialogs.i18n import Tr
from dialogs.prompting import prompt_everyone
from dialogs.registry import Occasion
from dialogs.tensions import batches, writing
from storage.models import Team


def review_trigger(team: Team) -> CronTrigger | None:
    """Tensions waiting for review reach coordinators once a day, never as they are written."""
    if not team.review_tensions:
        return None
    return CronTrigger(hour=9, minute=0, timezone=zone(team.timezone))


def batch_trigger(team: Team) -> CronTrigger:
    return weekly(team.batch_weekday, team.batch_hour, zone(team.timezone))


def prompt_trigger(team: Team) -> CronTrigger | None:
    """Two days after the check-in, so a week never brings both at once."""
    if not team.tension_prompt_every_weeks:
        return None
    return weekly((team.checkin_weekday + 2) % 7, team.checkin_hour, zone(team.timezone))


async def review(occasion: Occasion) -> tuple[str, int]:
    queued = await batches.ask_reviews(
        occasion.session, occasion.bank, occasion.team, occasion.now, occasion.sealer
    )
    return ("jobs.review" if queued else "jobs.review_empty"), queued


async def batch(occasion: Occasion) -> tuple[str, int]:
    published = await batches.publish_batch(
        occasion.session, occasion.bank, occasion.team, occasion.now, occasion.sealer
    )
    return ("jobs.batch" if published else "jobs.batch_empty"), published


async def prompt(occasion: Occasion) -> tuple[str, int]:
    bank, team = occasion.bank, occasion.team

    def card(tr: Tr, week: int) -> Card:
        tension = bank.tension_prompts[week % len(bank.tension_prompts)]
        paired = bank.success_prompts[week % len(bank.success_prompts)]
        return writing.prompt_card(tr, bank, team, tension.id, paired.id)

    return await prompt_everyone(occasion, team.tension_prompt_every_weeks, "tension-prompt", card)
