"""The fields every team has in its coordinator forms, as pydantic models: its language, time
zone and anonymity threshold, who reads its summaries, and its quiet hours. The rituals bring
their own fields (`RITUAL.settings`); `team_forms` asks them all, these first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

from pydantic import Field

from dialogs.administration.readers import rule_choice
from dialogs.cards import Block
from dialogs.i18n import Tr
from dialogs.team_fields import (
    FieldGroup,
    Fields,
    Hour,
    Label,
    Language,
    Number,
    TimeZone,
    calendar_inputs,
    one_of,
)
from dialogs.turn import READER_RULES
from storage.models import Team

K = Annotated[int, Number, Field(ge=3, le=50), Label("settings.k_label")]  # anonymity threshold


class TeamSetup(Fields):
    """The setup card's own fields, when a coordinator links a channel to a new team."""

    label_prefix: ClassVar[str] = "schedule."
    language: Annotated[Language, Label("profile.language")]
    timezone: TimeZone
    k: K


class TeamSettings(Fields):
    """The settings every team has: anonymity threshold, language, time zone."""

    label_prefix: ClassVar[str] = "settings."
    k: K
    language: Language
    timezone: TimeZone


class SummaryReaders(Fields):
    label_prefix: ClassVar[str] = "settings."
    summary_readers: Annotated[str, one_of(READER_RULES), Label("readers.rule_label")]


def _readers_inputs(tr: Tr, team: Team | None) -> Sequence[Block]:
    return [rule_choice(tr, team.summary_readers if team is not None else READER_RULES[0])]


class QuietHours(Fields):
    """Hours when nobody is asked anything: the calendar form asks them last."""

    label_prefix: ClassVar[str] = "schedule."
    quiet_start: Hour
    quiet_end: Hour


# Team administration's own groups, in the registry with the other rituals' (its place in
# `dialogs.rituals` puts them after the rituals').
FIELD_GROUPS = (
    FieldGroup("settings", SummaryReaders, _readers_inputs),
    FieldGroup("schedule", QuietHours, lambda tr, team: calendar_inputs(tr, team, QuietHours)),
)
