"""Reflexive spaces: a coordinator schedules a question for the team's meetings; members
pre-reflect (sealed until the meeting), then the bot posts the question and what was written.
`scheduling` holds the coordinators' form, `manage` the list, edits and cancelling, `spaces`
the invitations, the sealing and the posting."""

from __future__ import annotations

from pathlib import Path

from dialogs.i18n import add_locales
from dialogs.reflexive import handlers, jobs
from dialogs.registry import ActionSpec, CommandSpec, Entry, JobSpec, Ritual

RITUAL = Ritual(
    name="reflexive",
    commands=(CommandSpec("reflexive", ("reflexif",), handlers.reflexive_command, "coordinator"),),
    actions={
        "reflexive.save": ActionSpec(handlers.save, coordinator=True, form=handlers.schedule_form),
        "reflexive.new": ActionSpec(handlers.new, coordinator=True),
        "reflexive.edit": ActionSpec(handlers.edit, coordinator=True),
        "reflexive.cancel": ActionSpec(handlers.cancel, coordinator=True),
        "reflexive.cancel_confirm": ActionSpec(handlers.cancel_confirm, coordinator=True),
        "reflexive.pre": ActionSpec(handlers.pre_reflect, form=handlers.pre_reflection_form),
    },
    jobs=(
        JobSpec("reflexive-invite", jobs.invites, on_tick=True),
        JobSpec("reflexive", jobs.posts, on_tick=True),
    ),
    entries=(Entry("reflexive", "coordinator", home="reflexive"),),
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
