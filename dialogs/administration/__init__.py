"""Team administration, for coordinators: setting a team up in a channel (or linking one more
channel, `linking`), its settings and calendar (`team_forms`, their rules in `team_settings`),
and who reads the summaries (`readers`)."""

from __future__ import annotations

from pathlib import Path

from dialogs.administration import handlers, team_settings
from dialogs.administration.handlers import readers_form, schedule_form, settings_form, showing
from dialogs.events import TeamInstalled
from dialogs.i18n import add_locales
from dialogs.registry import ActionSpec, CommandSpec, Entry, Ritual

RITUAL = Ritual(
    name="administration",
    commands=(
        CommandSpec("setup", ("configurer",), handlers.setup_command, outside_team=True),
        CommandSpec("schedule", ("horaire",), showing(schedule_form), "coordinator"),
        CommandSpec("settings", ("parametres",), showing(settings_form), "coordinator"),
        CommandSpec("readers", ("lecteurs",), showing(readers_form), "coordinator"),
    ),
    actions={
        "setup.save": ActionSpec(handlers.setup_save, outside_team=True, form=handlers.setup_form),
        "setup.link_code": ActionSpec(handlers.link_code, coordinator=True),
        "settings.save": ActionSpec(handlers.settings_save, coordinator=True, form=settings_form),
        "schedule.save": ActionSpec(handlers.schedule_save, coordinator=True, form=schedule_form),
        "readers.save": ActionSpec(handlers.readers_save, coordinator=True, form=readers_form),
        "readers.confirm": ActionSpec(handlers.readers_confirm, coordinator=True),
    },
    events={TeamInstalled: handlers.installed},
    entries=(
        Entry("setup", "coordinator"),
        Entry("schedule", "coordinator", home="schedule"),
        Entry("settings", "coordinator", home="settings"),
        Entry("readers", "coordinator", home="readers"),
    ),
    settings=team_settings.FIELD_GROUPS,
    on_profile_saved=handlers.reader_requested,
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
