"""A team's settings and calendar rules, once, as pydantic models of the coordinator forms.

Each field says its bounds or its choices; `read_form` turns a form's submitted strings into a
model, or raises the `FormError` of the first wrong field (in form order) with the keys and
parameters people have always seen: "errors.number" (the field's label, its bounds),
"errors.choice" (the label), "errors.timezone" (the value typed) or a rule across fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from dialogs.calendar import is_zone
from dialogs.forms import FormError
from dialogs.i18n import LANGUAGES, Tr
from dialogs.turn import READER_RULES


@dataclass(frozen=True)
class Label:
    """The i18n key naming a field in its error, when it is not the form's prefix + its name."""

    key: str


def _integer(raw: Any) -> int:
    """A number typed in a form (surrounding spaces allowed), as `int()` reads it."""
    try:
        return int((raw or "").strip())
    except ValueError:
        raise PydanticCustomError("errors.number", "not a whole number") from None


def _one_of(allowed: tuple[str, ...]) -> BeforeValidator:
    def check(raw: Any) -> Any:
        if raw not in allowed:
            raise PydanticCustomError("errors.choice", "not one of the choices")
        return raw

    return BeforeValidator(check)


def _yes_no(raw: Any) -> bool:
    if raw not in ("yes", "no"):
        raise PydanticCustomError("errors.choice", "neither yes nor no")
    return bool(raw == "yes")


def _zone(raw: Any) -> str:
    """An IANA time zone name such as America/Toronto."""
    zone = (raw or "").strip()
    if not is_zone(zone):
        raise PydanticCustomError("errors.timezone", "unknown time zone", {"value": zone})
    return str(zone)


_Number = BeforeValidator(_integer)
K = Annotated[int, _Number, Field(ge=3, le=50), Label("settings.k_label")]  # anonymity threshold
Weekday = Annotated[int, _Number, Field(ge=0, le=6)]  # 0 = Monday
Hour = Annotated[int, _Number, Field(ge=0, le=23)]
EveryWeeks = Annotated[int, _Number, Field(ge=0, le=8)]  # 0: never
Language = Annotated[str, _one_of(LANGUAGES)]
YesNo = Annotated[bool, BeforeValidator(_yes_no)]
TimeZone = Annotated[str, BeforeValidator(_zone)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # A field's label is this prefix + its name, unless it carries a Label.
    label_prefix: ClassVar[str]


class TeamSetup(_Form):
    """The setup form, when a coordinator links a channel to a new team (its name aside)."""

    label_prefix: ClassVar[str] = "schedule."
    language: Annotated[Language, Label("profile.language")]
    timezone: TimeZone
    checkin_weekday: Weekday
    checkin_hour: Hour
    # The setup card offers 1 to 4 weeks; the calendar form allows up to 8 later.
    checkin_every_weeks: Annotated[int, _Number, Field(ge=1, le=4)]
    k: K


class TeamSettings(_Form):
    """The settings form: anonymity threshold, language, time zone, reviews and readers."""

    label_prefix: ClassVar[str] = "settings."
    k: K
    language: Language
    timezone: TimeZone
    review_tensions: YesNo
    review_open_answers: YesNo
    open_question: YesNo
    pool_small_rounds: YesNo
    tension_weekly_limit: Annotated[
        int, _Number, Field(ge=1, le=50), Label("settings.tension_limit")
    ]
    summary_readers: Annotated[str, _one_of(READER_RULES), Label("readers.rule_label")]


class TeamSchedule(_Form):
    """The calendar form: when check-ins, batches, success and tension prompts go out."""

    label_prefix: ClassVar[str] = "schedule."
    checkin_weekday: Weekday
    checkin_hour: Hour
    checkin_every_weeks: Annotated[int, _Number, Field(ge=1, le=8)]
    response_window_hours: Annotated[int, _Number, Field(ge=4, le=336)]
    reminder_after_hours: Annotated[int, _Number, Field(ge=1, le=335)]
    batch_weekday: Weekday
    batch_hour: Hour
    success_weekday: Weekday
    success_hour: Hour
    success_every_weeks: EveryWeeks
    tension_prompt_every_weeks: EveryWeeks
    quiet_start: Hour
    quiet_end: Hour

    @model_validator(mode="after")
    def _reminder_before_close(self) -> TeamSchedule:
        # A reminder sent once the round has closed would remind nobody.
        if self.reminder_after_hours >= self.response_window_hours:
            raise PydanticCustomError("errors.reminder_after_close", "reminder after the close")
        return self


def bounds(model: type[BaseModel], name: str) -> tuple[int, int]:
    """A number field's lowest and highest allowed values."""
    metadata = model.model_fields[name].metadata
    low = next(m.ge for m in metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in metadata if isinstance(m, annotated_types.Le))
    assert isinstance(low, int) and isinstance(high, int)
    return low, high


# The calendar form's fields, in form order, with their bounds (its card shows them).
SCHEDULE_FIELDS: dict[str, tuple[int, int]] = {
    name: bounds(TeamSchedule, name) for name in TeamSchedule.model_fields
}

_Model = TypeVar("_Model", bound=_Form)


def read_form(model: type[_Model], values: Mapping[str, str | None], tr: Tr) -> _Model:
    """The form's values as `model`; an absent field counts as empty."""
    try:
        return model.model_validate({name: values.get(name) for name in model.model_fields})
    except ValidationError as error:
        raise _form_error(model, error.errors()[0], tr) from None


def _form_error(model: type[_Form], detail: ErrorDetails, tr: Tr) -> FormError:
    kind = detail["type"]
    if kind == "errors.timezone" or not detail["loc"]:  # the value typed; a rule across fields
        return FormError(kind, **detail.get("ctx", {}))
    name = str(detail["loc"][0])
    field = model.model_fields[name]
    labels = [m.key for m in field.metadata if isinstance(m, Label)]
    label = tr(labels[0] if labels else model.label_prefix + name)
    if field.annotation is int:
        low, high = bounds(model, name)
        return FormError("errors.number", field=label, low=low, high=high)
    return FormError("errors.choice", field=label)
