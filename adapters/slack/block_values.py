"""The values our Block Kit carries, and what Slack sends back: parsed here. Pure, no I/O.

A card is rendered by `adapters.slack.blocks`, which writes its payloads with the encoders
below; a click or a submission comes back with them, and the functions below read them:

- a card's button: `action_id` "passerelle:<action>:<index>" (`button_action`), `value` its
  context as compact JSON (`decode_context`);
- the "open the form" button's `value`, and a modal's `private_metadata`: the form's action
  and context, {"a": action, "c": context} (`decode_form_reference`);
- a modal submission's `view.state.values`: the engine's {input name: value}
  (`values_from_view_state`), the blocks that are not inputs left out (their block ids start
  with `RESERVED_BLOCK_PREFIX`).

Whatever comes back was typed or crafted by someone: anything that is not a value we made
raises ValueError (or gives "" for an input), and the engine validates every value besides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dialogs.cards import Form

BUTTON_PREFIX = "passerelle:"  # action_id of a card's button: passerelle:<action>:<index>
RESERVED_BLOCK_PREFIX = "passerelle."  # block ids of blocks that are not inputs


# --------------------------------------------------------------------------- encoding
def compact_json(data: object) -> str:
    """A payload as we write it: the same data always gives the same text."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def form_reference(form: Form) -> str:
    """The form's action and context (`decode_form_reference` reads it back)."""
    return compact_json({"a": form.action, "c": form.context})


def button_action_id(action: str, index: int) -> str:
    """A card button's `action_id` (`button_action` reads it back)."""
    return f"{BUTTON_PREFIX}{action}:{index}"


# --------------------------------------------------------------------------- parsing
def button_action(action_id: str) -> str | None:
    """The card action behind a button's `action_id` (passerelle:<action>:<index>), or None."""
    if not action_id.startswith(BUTTON_PREFIX):
        return None
    action, _, index = action_id[len(BUTTON_PREFIX) :].rpartition(":")
    return action if action and index.isdigit() else None


def decode_context(value: str) -> dict[str, str]:
    """A card button's `value` back into its context; ValueError unless it is one we made."""
    return _string_map(json.loads(value), "context")


def decode_form_reference(value: str) -> tuple[str, dict[str, str]]:
    """The "open the form" button's `value` (or `form_metadata`) as (form action, context)."""
    data = json.loads(value)
    if not isinstance(data, dict) or set(data) != {"a", "c"} or not isinstance(data["a"], str):
        raise ValueError("not a form reference")
    return data["a"], _string_map(data["c"], "context")


def values_from_view_state(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """A `view_submission`'s `view.state.values` as the engine's {input name: value}.

    Scales give "1".."5" or "skip", choices their option's value (`selected_option`), text
    and number inputs their text (`value`), a date picker its `selected_date` (YYYY-MM-DD), a
    time picker its `selected_time` (HH:mm); an input left empty gives "". Unknown shapes give
    "" too: the engine validates every value.
    """
    found: dict[str, str] = {}
    for block_id, actions in values.items():
        if block_id.startswith(RESERVED_BLOCK_PREFIX):
            continue
        for action_id, state in actions.items():
            found[action_id] = _state_value(state)
    return found


def _string_map(data: object, what: str) -> dict[str, str]:
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"not a {what}")
    return dict(data)


def _state_value(state: Mapping[str, Any]) -> str:
    if "selected_option" in state:
        option = state["selected_option"]
        value = option.get("value") if isinstance(option, Mapping) else None
    elif "value" in state:
        value = state["value"]
    else:
        value = state.get("selected_date", state.get("selected_time"))
    return value if isinstance(value, str) else ""
