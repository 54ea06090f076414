"""The tensions' fields in the team's forms: their review and weekly limit, the weekly batch's
day and hour, and how often members are invited to raise one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

from pydantic import Field

from dialogs.cards import Block
from dialogs.forms import number_input
from dialogs.i18n import Tr
from dialogs.team_fields import (
    EveryWeeks,
    FieldGroup,
    Fields,
    Hour,
    Label,
    Number,
    Weekday,
    YesNo,
    bounds,
    calendar_inputs,
    yes_no_input,
)
from storage.models import Team


class TensionSettings(Fields):
    label_prefix: ClassVar[str] = "settings."
    review_tensions: YesNo
    tension_weekly_limit: Annotated[
        int, Number, Field(ge=1, le=50), Label("settings.tension_limit")
    ]


def _settings_inputs(tr: Tr, team: Team | None) -> Sequence[Block]:
    limit = str(team.tension_weekly_limit) if team is not None else ""
    low, high = bounds(TensionSettings, "tension_weekly_limit")
    label = tr("schedule.range", label=tr("settings.tension_limit"), low=low, high=high)
    return [
        yes_no_input(tr, team, "review_tensions", "settings.review_tensions"),
        number_input("tension_weekly_limit", label, low, high, limit),
    ]


class TensionSchedule(Fields):
    """The batch also posts the anonymous successes: its day and hour are asked here once."""

    label_prefix: ClassVar[str] = "schedule."
    batch_weekday: Weekday
    batch_hour: Hour
    tension_prompt_every_weeks: EveryWeeks


FIELD_GROUPS = (
    FieldGroup("settings", TensionSettings, _settings_inputs),
    FieldGroup(
        "schedule", TensionSchedule, lambda tr, team: calendar_inputs(tr, team, TensionSchedule)
    ),
)
