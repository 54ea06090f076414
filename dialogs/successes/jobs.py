"""The successes' calendar: the invitation to share one, and the anonymous ones' batch."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from dialogs.calendar import weekly, zone
from dialogs.cards import Card
from dialogs.i18n import Tr
from dialogs.prompting import prompt_everyone
from dialogs.registry import Occasion
from dialogs.successes import sharing
from storage.models import Team


def reminder_trigger(team: Team) -> CronTrigger | None:
    if not team.success_every_weeks:
        return None
    return weekly(team.success_weekday, team.success_hour, zone(team.timezone))


async def reminder(occasion: Occasion) -> tuple[str, int]:
    bank, team = occasion.bank, occasion.team

    def card(tr: Tr, week: int) -> Card:
        prompts = bank.success_prompts
        form = sharing.form_card(tr, bank, team, prompt_id=prompts[week % len(prompts)].id)
        return form.model_copy(update={"title": tr("success.reminder_title")})

    return await prompt_everyone(occasion, team.success_every_weeks, "success-reminder", card)


async def batch(occasion: Occasion) -> tuple[str, int]:
    """The anonymous successes of the week, posted with the tensions' batch."""
    published = await sharing.publish_batch(
        occasion.session, occasion.team, occasion.now, occasion.sealer
    )
    return ("jobs.batch" if published else "jobs.batch_empty"), published
