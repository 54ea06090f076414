"""A card's inputs as Block Kit input blocks, for a modal (`blocks.modal_view`). Pure, no I/O.

Each input block's `block_id` and its element's `action_id` are the input's name, which
`block_values.values_from_view_state` and `blocks.view_errors` rely on. A 1-5 scale is a group
of radio buttons (with "prefer not to answer" when allowed); a choice is radio buttons up to
`RADIO_CHOICE_MAX` options, a menu beyond, in labelled groups past Slack's 100 options (or in
the groups its options name, such as time zones by region); a text is a plain-text input whose
default is cut to its maximum length rather than refused, or Slack's picker when the input
asks for one: a `datepicker` (YYYY-MM-DD), a `timepicker` (HH:MM) or a `number_input` for a
whole number with its bounds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

from adapters.slack.block_limits import (
    ACTION_ID,
    BLOCK_ID,
    INPUT_LABEL,
    OPTION_GROUP_LABEL,
    OPTION_TEXT,
    OPTION_VALUE,
    PLACEHOLDER,
    RADIO_OPTIONS,
    SELECT_OPTIONS,
    TEXT_INPUT_LENGTH,
    Json,
    ValueTooLong,
    check_length,
    fit,
    plain_text,
    ulen,
)
from adapters.slack.block_values import RESERVED_BLOCK_PREFIX
from adapters.slack.mrkdwn import clean, plain
from dialogs.cards import ChoiceInput, Option, ScaleInput, TextInput

# A choice with this many options or fewer is a group of radio buttons (all visible, one
# click, read in full by screen readers, like Teams' expanded choice set); more is a menu.
RADIO_CHOICE_MAX = 5
# The "prefer not to answer" value of a 1-5 scale (dialogs.checkins.rounds.SKIP).
SKIP_VALUE = "skip"


def input_block(block: ScaleInput | ChoiceInput | TextInput) -> Json:
    """The input block that asks for `block`'s value."""
    if isinstance(block, ScaleInput):
        return _scale_input(block)
    if isinstance(block, ChoiceInput):
        return _choice_input(block)
    if block.picker == "date":
        return _date_input(block)
    if block.picker == "time":
        return _time_input(block)
    if block.picker == "number":
        return _number_input(block)
    return _text_input(block)


def _input(name: str, label: str, element: Json, *, required: bool) -> Json:
    if name.startswith(RESERVED_BLOCK_PREFIX) or not name:
        raise ValueError(f"input name {name!r} is empty or reserved")
    check_length("input name (block_id, action_id)", name, min(BLOCK_ID, ACTION_ID))
    return {
        "type": "input",
        "block_id": name,
        "label": plain_text(label, INPUT_LABEL),
        "element": {**element, "action_id": name},
        "optional": not required,
    }


def _option(value: str, label: str) -> Json:
    check_length(f"option value {value[:20]!r}", value, OPTION_VALUE)
    return {"text": plain_text(_words(plain(label), OPTION_TEXT), OPTION_TEXT), "value": value}


def _words(text: str, limit: int) -> str:
    """`text` cut after its last whole word that fits, then "…" (a long question in a menu);
    cut inside a word only when the last 20 characters hold no space."""
    if ulen(text) <= limit:
        return text
    cut = fit(text, limit)[:-1]
    at = cut.rfind(" ")
    if at >= len(cut) - 20 and at > 0:
        cut = cut[:at].rstrip(" ,;:—–-")
    return cut + "…"


def _with_initial(element: Json, options: list[Json], default: str | None) -> Json:
    chosen = next((o for o in options if o["value"] == default), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def _scale_input(block: ScaleInput) -> Json:
    labels = {1: f"1 · {block.low_label}", 5: f"5 · {block.high_label}"}
    options = [_option(str(v), labels.get(v, str(v))) for v in range(1, 6)]
    if block.allow_skip:
        options.append(_option(SKIP_VALUE, block.skip_label))
    element = _with_initial({"type": "radio_buttons", "options": options}, options, block.default)
    return _input(block.name, block.label, element, required=block.required)


def _choice_input(block: ChoiceInput) -> Json:
    # An option whose value is "" is a placeholder ("— Choisir —"): Slack refuses an empty
    # value, and a person must choose, so it becomes the menu's placeholder (a group of radio
    # buttons starts with none chosen anyway).
    placeholder = next((o.label for o in block.options if o.value == ""), None)
    real = [o for o in block.options if o.value != ""]
    options = [_option(o.value, o.label) for o in real]
    if not options:
        raise ValueError(f"choice {block.name!r} has no options")
    element: Json
    if any(o.group for o in real):
        element = {"type": "static_select", "option_groups": _named_groups(real, options)}
    elif len(options) <= min(RADIO_CHOICE_MAX, RADIO_OPTIONS):
        element = {"type": "radio_buttons", "options": options}
    elif len(options) <= SELECT_OPTIONS:
        element = {"type": "static_select", "options": options}
    elif len(options) <= SELECT_OPTIONS * SELECT_OPTIONS:
        element = {"type": "static_select", "option_groups": _groups(real, options)}
    else:
        raise ValueTooLong(f"options of {block.name!r}", len(options), SELECT_OPTIONS**2)
    if placeholder and element["type"] == "static_select" and plain(placeholder):
        element["placeholder"] = plain_text(placeholder, PLACEHOLDER)
    element = _with_initial(element, options, block.default)
    return _input(block.name, block.label, element, required=block.required)


def _groups(source: Sequence[Option], options: list[Json]) -> list[Json]:
    """Options in groups of 100, each labelled with its first and last option."""
    groups = []
    for start in range(0, len(options), SELECT_OPTIONS):
        chunk = options[start : start + SELECT_OPTIONS]
        first, last = source[start].label, source[start + len(chunk) - 1].label
        label = f"{fit(plain(first), 36)} – {fit(plain(last), 36)}"
        groups.append({"label": plain_text(label, OPTION_GROUP_LABEL), "options": chunk})
    return groups


def _named_groups(source: Sequence[Option], options: list[Json]) -> list[Json]:
    """Options under the headings they name, in order of first appearance."""
    grouped: dict[str, list[Json]] = {}
    for option, shown in zip(source, options, strict=True):
        grouped.setdefault(option.group or "—", []).append(shown)
    if len(grouped) > SELECT_OPTIONS or any(len(g) > SELECT_OPTIONS for g in grouped.values()):
        raise ValueTooLong("option groups", len(options), SELECT_OPTIONS)
    return [
        {"label": plain_text(label, OPTION_GROUP_LABEL), "options": chunk}
        for label, chunk in grouped.items()
    ]


def _date_input(block: TextInput) -> Json:
    """Slack's date picker; it sends `selected_date` as YYYY-MM-DD."""
    element: Json = {"type": "datepicker"}
    # No date yet (an empty pause), or one typed elsewhere: nothing pre-selected.
    with contextlib.suppress(ValueError):
        element["initial_date"] = dt.date.fromisoformat(block.default.strip()).isoformat()
    if plain(block.placeholder):
        element["placeholder"] = plain_text(block.placeholder, PLACEHOLDER)
    return _input(block.name, block.label, element, required=block.required)


def _time_input(block: TextInput) -> Json:
    """Slack's time picker; it sends `selected_time` as HH:mm (24 h)."""
    element: Json = {"type": "timepicker"}
    with contextlib.suppress(ValueError):
        element["initial_time"] = dt.time.fromisoformat(block.default.strip()).strftime("%H:%M")
    return _input(block.name, block.label, element, required=block.required)


def _number_input(block: TextInput) -> Json:
    """Slack's number field, whole numbers within the input's bounds; it sends `value`."""
    element: Json = {"type": "number_input", "is_decimal_allowed": False}
    default = block.default.strip()
    if default.isdigit():
        element["initial_value"] = default
    if block.low is not None:
        element["min_value"] = str(block.low)
    if block.high is not None:
        element["max_value"] = str(block.high)
    return _input(block.name, block.label, element, required=block.required)


def _text_input(block: TextInput) -> Json:
    limit = max(1, min(block.max_length, TEXT_INPUT_LENGTH))
    element: Json = {"type": "plain_text_input", "multiline": block.multiline, "max_length": limit}
    initial = clean(block.default)
    if initial:
        # Slack keeps people from typing past max_length; a longer default is cut, not refused.
        while ulen(initial) > limit:
            initial = initial[:-1]
        element["initial_value"] = initial
    if plain(block.placeholder):
        element["placeholder"] = plain_text(block.placeholder, PLACEHOLDER)
    return _input(block.name, block.label, element, required=block.required)
