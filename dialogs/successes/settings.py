"""The successes' fields in the team's calendar: when members are invited to share one."""

from __future__ import annotations

from typing import ClassVar

from dialogs.team_fields import EveryWeeks, FieldGroup, Fields, Hour, Weekday, calendar_inputs


class SuccessSchedule(Fields):
    label_prefix: ClassVar[str] = "schedule."
    success_weekday: Weekday
    success_hour: Hour
    success_every_weeks: EveryWeeks


FIELD_GROUPS = (
    FieldGroup(
        "schedule", SuccessSchedule, lambda tr, team: calendar_inputs(tr, team, SuccessSchedule)
    ),
)
