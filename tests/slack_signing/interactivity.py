"""Interactivity payloads: block actions, view submissions and closings, with the state values
Slack builds from a view's blocks."""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from tests.slack_signing.signing import (
    APP_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    action_ts,
    new_trigger_id,
)


def interaction(payload: dict[str, Any]) -> bytes:
    """The urlencoded body Slack posts for interactivity: one field, ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def _user(user_id: str, team_id: str, user_name: str | None) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _elements(blocks: Iterable[dict[str, Any]]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every interactive element in Block Kit blocks."""
    for block in blocks:
        block_id = block.get("block_id", "")
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block_id, block["element"]
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                yield block_id, element
        if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block_id, block["accessory"]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    return options


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in _options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    offered = [o.get("value") for o in _options(element)]
    raise ValueError(f"{element.get('action_id')!r} offers no option {value!r} (has {offered})")


_SINGLE = {"static_select", "radio_buttons", "external_select"}

_MULTI = {"checkboxes", "multi_static_select", "multi_external_select"}

_VALUE = {"plain_text_input", "number_input", "email_text_input", "url_text_input"}

_PICKED = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


def _state_entry(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    kind = element.get("type", "")
    entry: dict[str, Any] = {"type": kind}
    if kind in _VALUE:
        entry["value"] = None if answer is None else str(answer)
    elif kind in _SINGLE:
        entry["selected_option"] = None if answer is None else _option(element, str(answer))
    elif kind in _MULTI:
        entry["selected_options"] = [_option(element, str(a)) for a in (answer or [])]
    elif kind in _PICKED:
        entry[_PICKED[kind]] = answer
    else:
        entry["value"] = answer
    return entry


def state_values(
    blocks: Iterable[dict[str, Any]], answers: Mapping[str, Any], *, strict: bool = True
) -> dict[str, dict[str, dict[str, Any]]]:
    """``view.state.values`` as Slack builds it when a user fills in ``blocks``.

    ``answers`` maps an element's action_id to what the user entered: a string for text and
    number inputs, an option *value* for selects and radio buttons (the whole option object is
    copied from the view, as Slack does), a list of values for checkboxes. Every input element
    appears, unanswered ones with a null value. With ``strict``, an unanswered required input
    (``optional`` not true) raises ``ValueError``: Slack's client would not submit the form.
    """
    values: dict[str, dict[str, dict[str, Any]]] = {}
    unknown = set(answers)
    blocks = list(blocks)
    for block in blocks:
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        element = block["element"]
        action_id = element.get("action_id", "")
        answer = answers.get(action_id)
        unknown.discard(action_id)
        if strict and answer in (None, "", []) and not block.get("optional", False):
            raise ValueError(f"required input {action_id!r} left empty: Slack would not submit")
        values.setdefault(block.get("block_id", ""), {})[action_id] = _state_entry(element, answer)
    if unknown:
        raise ValueError(f"no input element with action_id {sorted(unknown)}")
    return values


def text_input(value: str | None) -> dict[str, Any]:
    """A ``plain_text_input`` state entry, for building ``state.values`` by hand."""
    return {"type": "plain_text_input", "value": value}


def selected(value: str, text: str | None = None, element: str = "static_select") -> dict[str, Any]:
    """A single-choice state entry (``static_select`` or ``radio_buttons``) by hand."""
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": element, "selected_option": option}


def block_actions(
    actions: list[dict[str, Any]],
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
    channel_id: str | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    response_url: str | None = None,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """A ``block_actions`` payload (wrap it with :func:`interaction`).

    From a message: pass ``channel_id`` and ``message`` (at least ``ts`` and ``blocks``;
    ``FakeSlack``'s ``Message.to_dict()`` fits). From a modal or App Home: pass ``view``.
    Build ``actions`` with :func:`action`.
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": actions,
    }
    if view is not None:
        shown = copy.deepcopy(view)
        shown.setdefault("state", {"values": {}})
        if state is not None:
            shown["state"] = {"values": state}
        payload["container"] = {"type": "view", "view_id": shown.get("id")}
        payload["view"] = shown
    if message is not None:
        if channel_id is None:
            raise ValueError("an action on a message needs the message's channel_id")
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": bool(message.get("is_ephemeral", False)),
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["message"] = copy.deepcopy(message)
        payload["state"] = {"values": state or {}}
        payload["response_url"] = (
            response_url or f"https://hooks.slack.com/actions/{team_id}/1/{secrets.token_hex(8)}"
        )
    return payload


def action(
    blocks: Iterable[dict[str, Any]], action_id: str, value: str | list[str] | None = None
) -> dict[str, Any]:
    """The ``actions[]`` entry Slack sends when the user uses element ``action_id`` in ``blocks``.

    A button sends its own value; a select or radio button needs the option ``value`` chosen;
    checkboxes a list of values. Raises ``ValueError`` when no such element is shown.
    """
    for block_id, element in _elements(blocks):
        if element.get("action_id") != action_id:
            continue
        kind = element.get("type", "")
        entry: dict[str, Any] = {
            "type": kind,
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": action_ts(),
        }
        if kind == "button":
            entry["text"] = element.get("text")
            if "value" in element:
                entry["value"] = element["value"]
            if "style" in element:
                entry["style"] = element["style"]
        else:
            state = _state_entry(element, value)
            state.pop("type")
            entry.update(state)
        return entry
    raise ValueError(f"no interactive element with action_id {action_id!r}")


def view_submission(
    view: dict[str, Any],
    answers: Mapping[str, Any] | None = None,
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    values: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
    bot_id: str | None = None,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    token: str = VERIFICATION_TOKEN,
    strict: bool = True,
) -> dict[str, Any]:
    """A ``view_submission`` payload (wrap it with :func:`interaction`).

    ``view`` is the modal as Slack holds it (take it from ``FakeSlack.views[view_id]`` to keep
    its id, hash, callback_id and private_metadata); ``answers`` fills it by action_id (see
    :func:`state_values`), or ``values`` gives ``state.values`` verbatim.
    """
    shown = copy.deepcopy(view)
    shown.setdefault("id", "V" + secrets.token_hex(5).upper())
    shown.setdefault("team_id", team_id)
    shown.setdefault("app_id", api_app_id)
    shown.setdefault("callback_id", "")
    shown.setdefault("private_metadata", "")
    shown.setdefault("hash", f"{int(time.time())}.{secrets.token_hex(4)}")
    shown.setdefault("root_view_id", shown["id"])
    shown.setdefault("previous_view_id", None)
    if bot_id is not None:
        shown.setdefault("bot_id", bot_id)
    if values is None:
        values = state_values(shown.get("blocks", []), answers or {}, strict=strict)
    shown["state"] = {"values": values}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": shown,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(
    view: dict[str, Any], *, user_id: str, team_id: str = TEAM_ID, api_app_id: str = APP_ID
) -> dict[str, Any]:
    """A ``view_closed`` payload (sent only for modals opened with ``notify_on_close``)."""
    return {
        "type": "view_closed",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id, None),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": copy.deepcopy(view),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
