"""The team's coordinator forms, shared by the rituals that add fields to them.

A team has three coordinator forms: the setup card, the settings and the calendar. Team
administration asks the fields every team has (its language, time zone, k, quiet hours); each
ritual declares its own fields as a `FieldGroup` in its `RITUAL.settings`: a pydantic model
(its bounds, its choices, its rules across fields) and the inputs that ask it. The values live
on the team's row.

`read_groups` reads a submission group by group, in form order, and raises the `FormError` of
the first wrong field with the keys people have always seen: "errors.number" (the field's
label, its bounds), "errors.choice" (the label), "zones.unknown" (the zone sent) or a rule
across fields. Numbers are asked with each platform's number field (`forms.number_input`),
its bounds those of the model; a time zone is picked by city (`dialogs.zones`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from dialogs import zones
from dialogs.cards import Block, ChoiceInput
from dialogs.forms import FormError, choice, hours, number_input, weekdays, whole_number
from dialogs.i18n import LANGUAGES, Tr
from storage.models import Team

TeamForm = Literal["setup", "settings", "schedule"]


@dataclass(frozen=True)
class Label:
    """The i18n key naming a field in its error, when it is not the form's prefix + its name."""

    key: str


def _integer(raw: Any) -> int:
    """A whole number from a number field, or typed (surrounding spaces allowed)."""
    number = whole_number(raw if isinstance(raw, str) else None)
    if number is None:
        raise PydanticCustomError("errors.number", "not a whole number")
    return number


def one_of(allowed: tuple[str, ...]) -> BeforeValidator:
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
    """An IANA time zone name from the menu (America/Toronto), or a city typed ("Montréal")."""
    typed = raw if isinstance(raw, str) else None
    zone = zones.resolve(typed)
    if zone is None:
        value = (typed or "").strip()
        raise PydanticCustomError("zones.unknown", "unknown time zone", {"value": value})
    return zone


Number = BeforeValidator(_integer)
Weekday = Annotated[int, Number, Field(ge=0, le=6)]  # 0 = Monday
Hour = Annotated[int, Number, Field(ge=0, le=23)]
EveryWeeks = Annotated[int, Number, Field(ge=0, le=8)]  # 0: never
Language = Annotated[str, one_of(LANGUAGES)]
YesNo = Annotated[bool, BeforeValidator(_yes_no)]
TimeZone = Annotated[str, BeforeValidator(_zone)]


class Fields(BaseModel):
    """A group of fields of one coordinator form; each field is a column of the team."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # A field's label is this prefix + its name, unless it carries a Label.
    label_prefix: ClassVar[str]


Inputs = Callable[[Tr, Team | None], Sequence[Block]]  # the team's values; None at setup


@dataclass(frozen=True)
class FieldGroup:
    """A ritual's fields in one of the team's forms, and the inputs that ask them."""

    form: TeamForm
    model: type[Fields]
    inputs: Inputs


def bounds(model: type[BaseModel], name: str) -> tuple[int, int]:
    """A number field's lowest and highest allowed values."""
    metadata = model.model_fields[name].metadata
    low = next(m.ge for m in metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in metadata if isinstance(m, annotated_types.Le))
    assert isinstance(low, int) and isinstance(high, int)
    return low, high


def yes_no_input(tr: Tr, team: Team | None, name: str, label_key: str) -> ChoiceInput:
    """A yes/no setting of the team, with its current value (no at setup)."""
    yes_no = [("yes", tr("common.yes")), ("no", tr("common.no"))]
    return choice(name, tr(label_key), yes_no, "yes" if team and getattr(team, name) else "no")


def calendar_inputs(tr: Tr, team: Team | None, model: type[Fields]) -> list[Block]:
    """The calendar form's inputs for `model`'s fields, read from their names: a weekday or an
    hour is a choice, any other number the platform's number field, its bounds in its label."""
    blocks: list[Block] = []
    for name in model.model_fields:
        label = tr(model.label_prefix + name)
        current = str(getattr(team, name)) if team is not None else ""
        if name.endswith("weekday"):
            blocks.append(choice(name, label, weekdays(tr), current))
        elif name.endswith("hour") or name.startswith("quiet"):
            blocks.append(choice(name, label, hours(tr), current))
        else:
            low, high = bounds(model, name)
            range_label = tr("schedule.range", label=label, low=low, high=high)
            blocks.append(number_input(name, range_label, low, high, current))
    return blocks


_Model = TypeVar("_Model", bound=Fields)


def read_form(model: type[_Model], values: Mapping[str, str | None], tr: Tr) -> _Model:
    """The form's values as `model`; an absent field counts as empty."""
    try:
        return model.model_validate({name: values.get(name) for name in model.model_fields})
    except ValidationError as error:
        raise _form_error(model, error.errors()[0], tr) from None


def read_groups(
    groups: Iterable[FieldGroup], values: Mapping[str, str | None], tr: Tr
) -> dict[str, Any]:
    """Every group's values, read in form order: the first wrong field is the one reported."""
    read: dict[str, Any] = {}
    for group in groups:
        read.update(read_form(group.model, values, tr).model_dump())
    return read


def _form_error(model: type[Fields], detail: ErrorDetails, tr: Tr) -> FormError:
    kind = detail["type"]
    if kind == "zones.unknown" or not detail["loc"]:  # the value typed; a rule across fields
        return FormError(kind, **detail.get("ctx", {}))
    name = str(detail["loc"][0])
    field = model.model_fields[name]
    labels = [m.key for m in field.metadata if isinstance(m, Label)]
    label = tr(labels[0] if labels else model.label_prefix + name)
    if field.annotation is int:
        low, high = bounds(model, name)
        return FormError("errors.number", field=label, low=low, high=high)
    return FormError("errors.choice", field=label)
