"""The check-ins' fields in the team's forms: their cadence at setup and in the calendar, and
the settings of their rounds (open answers, their review, pooling a round under k)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from dialogs.cards import Block
from dialogs.forms import choice, hours, weekdays
from dialogs.i18n import Tr
from dialogs.team_fields import (
    FieldGroup,
    Fields,
    Hour,
    Number,
    Weekday,
    YesNo,
    calendar_inputs,
    yes_no_input,
)
from storage.models import Team

# The setup card offers 1 to 4 weeks; the calendar allows up to 8 later.
SETUP_EVERY_WEEKS = (1, 2, 3, 4)


class CheckinSetup(Fields):
    label_prefix: ClassVar[str] = "schedule."
    checkin_weekday: Weekday
    checkin_hour: Hour
    checkin_every_weeks: Annotated[int, Number, Field(ge=1, le=len(SETUP_EVERY_WEEKS))]


def _setup_inputs(tr: Tr, team: Team | None) -> Sequence[Block]:
    every = [(str(n), tr("schedule.every_weeks", n=n)) for n in SETUP_EVERY_WEEKS]
    return [
        choice("checkin_weekday", tr("schedule.checkin_weekday"), weekdays(tr), "1"),
        choice("checkin_hour", tr("schedule.checkin_hour"), hours(tr), "10"),
        choice("checkin_every_weeks", tr("schedule.checkin_every_weeks"), every, "2"),
    ]


class CheckinSettings(Fields):
    label_prefix: ClassVar[str] = "settings."
    review_open_answers: YesNo
    open_question: YesNo
    pool_small_rounds: YesNo


def _settings_inputs(tr: Tr, team: Team | None) -> Sequence[Block]:
    return [
        yes_no_input(tr, team, name, f"settings.{name}") for name in CheckinSettings.model_fields
    ]


class CheckinSchedule(Fields):
    label_prefix: ClassVar[str] = "schedule."
    checkin_weekday: Weekday
    checkin_hour: Hour
    checkin_every_weeks: Annotated[int, Number, Field(ge=1, le=8)]
    response_window_hours: Annotated[int, Number, Field(ge=4, le=336)]
    reminder_after_hours: Annotated[int, Number, Field(ge=1, le=335)]

    @model_validator(mode="after")
    def _reminder_before_close(self) -> CheckinSchedule:
        # A reminder sent once the round has closed would remind nobody.
        if self.reminder_after_hours >= self.response_window_hours:
            raise PydanticCustomError("errors.reminder_after_close", "reminder after the close")
        return self


FIELD_GROUPS = (
    FieldGroup("setup", CheckinSetup, _setup_inputs),
    FieldGroup("settings", CheckinSettings, _settings_inputs),
    FieldGroup(
        "schedule", CheckinSchedule, lambda tr, team: calendar_inputs(tr, team, CheckinSchedule)
    ),
)
