"""Check-ins: a round of questions on the four dimensions, on the team's cadence; answers are
sealed until the close, then frozen into aggregates once k people answered.

`rounds` draws, asks, records and closes; `results` freezes; `open_review` lets coordinators
review open answers; `handlers` and `jobs` are what people and the calendar do with them.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.checkins import handlers, jobs, settings
from dialogs.i18n import add_locales
from dialogs.registry import ActionSpec, CommandSpec, Entry, JobSpec, Ritual

RITUAL = Ritual(
    name="checkins",
    commands=(CommandSpec("checkin", ("check-in", "bilan"), handlers.checkin_command),),
    actions={
        "checkin.submit": ActionSpec(handlers.submit, form=handlers.submit_form),
        "checkin.skip": ActionSpec(handlers.skip_button),
        "open.approve": ActionSpec(handlers.review_open_answer, coordinator=True),
        "open.hide": ActionSpec(handlers.review_open_answer, coordinator=True),
    },
    jobs=(
        JobSpec("checkin", jobs.start, trigger=jobs.weekly_trigger),
        JobSpec("ask-again", jobs.ask_again, runnable=False, on_tick=True),
        JobSpec("reminders", jobs.reminders, on_tick=True),
        JobSpec("close", jobs.close, on_tick=True),
    ),
    entries=(Entry("checkin", home="checkin"), Entry("checkin_now", "coordinator", "checkin now")),
    on_member_joined=handlers.late_joiner,
    settings=settings.FIELD_GROUPS,
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
