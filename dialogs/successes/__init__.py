"""Successes: invited on the team's cadence, shared named at once or anonymously in the
weekly batch, as the author chose. `sharing` holds the form and the publishing."""

from __future__ import annotations

from pathlib import Path

from dialogs.i18n import add_locales
from dialogs.registry import ActionSpec, CommandSpec, Entry, JobSpec, Ritual
from dialogs.successes import handlers, jobs, settings

RITUAL = Ritual(
    name="successes",
    commands=(CommandSpec("success", ("reussite",), handlers.success_command),),
    actions={"success.submit": ActionSpec(handlers.submit, form=handlers.form)},
    jobs=(
        JobSpec("batch", jobs.batch),  # the tensions' batch brings the trigger
        JobSpec("success", jobs.reminder, trigger=jobs.reminder_trigger),
    ),
    entries=(Entry("success", home="success"),),
    accepts=handlers.known_prompt,
    settings=settings.FIELD_GROUPS,
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
