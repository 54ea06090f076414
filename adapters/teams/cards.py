"""Neutral cards as Adaptive Cards 1.5 for Teams. Pure functions, no I/O.

- A card is one message: its title, its paragraphs (as `RichTextBlock` runs, which Teams shows
  literally: see `adapters.teams.text`), its inputs and one `Action.Submit` for the form, one
  per button. A 1-5 item is an expanded `Input.ChoiceSet` (radio buttons), with "prefer not to
  answer" when the item allows it; a choice of up to five options is expanded too, a long one
  (the time zones, whose options name their region) is a "filtered" set people can type in.
  A date is an `Input.Date` (YYYY-MM-DD), a time an `Input.Time` (HH:MM), a whole number an
  `Input.Number` with its bounds.
- A submission arrives as a message whose `value` holds the inputs by name plus the data of the
  action that was pressed: `passerelle.action` and `passerelle.context` (JSON). Buttons send no
  inputs (`associatedInputs: none`).
- A table (`dialogs.cards.Table`) is its caption, an Adaptive Cards 1.5 `Table` whose first row
  holds the column headings, and its note in small subtle text; a card that holds a table is
  shown at the full width of the conversation (`msteams.width: Full`), so that its columns are
  not squeezed into the narrow default card.
- A chart is an `Image` with a data URI; a CSV export is shown as monospace text.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from adapters.teams.text import neutral, plain_summary
from dialogs.cards import (
    Attachment,
    Button,
    Card,
    ChoiceInput,
    Paragraph,
    ScaleInput,
    Table,
    TextInput,
)

Json = dict[str, Any]
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ACTION_KEY = "passerelle.action"
CONTEXT_KEY = "passerelle.context"
SKIP_VALUE = "skip"
EXPANDED_MAX = 5
CSV_SHOWN = 12_000  # characters of an export shown in a card (Teams caps a message near 28 KB)


def activity_for(card: Card) -> Json:
    """The message activity carrying `card`."""
    # No `text` beside the card: Teams refuses to update a message that would become two
    # ("Activity resulted into multiple skype activities"). `summary` feeds notifications.
    return {
        "type": "message",
        "summary": plain_summary(card.title),
        "attachments": [{"contentType": CONTENT_TYPE, "content": adaptive_card(card)}],
    }


def adaptive_card(card: Card) -> Json:
    body: list[Json] = [_rich(card.title, weight="bolder", size="medium")]
    for block in card.blocks:
        if isinstance(block, Paragraph):
            body.append(_paragraph(block))
        elif isinstance(block, Table):
            body += _table(block)
        elif isinstance(block, ScaleInput):
            body.append(_scale(block))
        elif isinstance(block, ChoiceInput):
            body.append(_choice(block))
        elif isinstance(block, TextInput):
            body.append(_text_input(block))
    body += [_attachment(a) for a in card.attachments]
    actions: list[Json] = []
    if card.form is not None:
        actions.append(
            {
                "type": "Action.Submit",
                "title": neutral(card.form.submit_label),
                "style": "positive",
                "data": {ACTION_KEY: card.form.action, CONTEXT_KEY: _json(card.form.context)},
            }
        )
    actions += [_button(b) for b in card.buttons]
    content: Json = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        content["actions"] = actions
    if any(isinstance(b, Table) for b in card.blocks):
        content["msteams"] = {"width": "Full"}
    return content


FORGED = ""  # the action of a submission whose data we did not write: the engine refuses it
DATA_MAX = 64_000  # characters of a context; Teams itself caps a message near 28 KB


def submission(value: object) -> tuple[str, dict[str, str], dict[str, str]] | None:
    """(action, context, values) from a submitted card's `value`; None when it is not ours.

    `data` is built by the Teams client and can say anything: a submission that names our
    action key but whose action or context is unreadable comes back with the action `FORGED`,
    so that the person gets a clear refusal rather than no reply at all.
    """
    if not isinstance(value, dict) or ACTION_KEY not in value:
        return None
    action, raw = value.get(ACTION_KEY), value.get(CONTEXT_KEY)
    context: object = {}
    try:
        if raw is not None:
            if not isinstance(raw, str) or len(raw) > DATA_MAX:
                raise ValueError("context is not our JSON")
            context = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        context = None
    if not isinstance(action, str) or not isinstance(context, dict):
        return FORGED, {}, {}
    values = {
        str(k): v if isinstance(v, str) else _scalar(v)
        for k, v in value.items()
        if k not in (ACTION_KEY, CONTEXT_KEY) and not str(k).startswith("msteams")
    }
    return action, {str(k): _scalar(v) for k, v in context.items()}, values


def _scalar(value: object) -> str:
    """A value from client data as text (a nested value as its JSON, never trusted)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)[:DATA_MAX]
    except (TypeError, ValueError, RecursionError):
        return ""


def _json(data: dict[str, str]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _rich(text: str, **style: str | bool) -> Json:
    return {
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": neutral(text), **style}],
    }


def _paragraph(block: Paragraph) -> Json:
    if not block.from_user:
        return _rich(block.text)
    # Someone's words: set apart and in italics, so they read as a quote, never as the bot's.
    return {
        "type": "Container",
        "style": "emphasis",
        "items": [_rich(block.text, italic=True)],
    }


def _table(table: Table) -> list[Json]:
    """Caption, table and note. Cells are `RichTextBlock` runs, shown literally like paragraphs;
    the label column is given more room than the figures."""

    def cell(text: str, **style: str | bool) -> Json:
        return {"type": "TableCell", "items": [_rich(text or " ", **style)]}

    heading = {
        "type": "TableRow",
        "style": "accent",
        "cells": [cell(h, weight="bolder") for h in table.header],
    }
    rows = [
        {
            "type": "TableRow",
            "cells": [cell(row.label, weight="bolder")] + [cell(c.text) for c in row.cells],
        }
        for row in table.rows
    ]
    blocks: list[Json] = [
        _rich(table.caption, weight="bolder"),
        {
            "type": "Table",
            "columns": [{"width": 3}] + [{"width": 2} for _ in table.header[1:]],
            "firstRowAsHeader": True,
            "showGridLines": False,
            "verticalCellContentAlignment": "center",
            "rows": [heading, *rows],
        },
    ]
    if table.note:
        blocks.append(_rich(table.note, size="small", isSubtle=True))
    return blocks


def _choice_set(
    name: str, label: str, choices: list[Json], default: str | None, required: bool, tr_error: str
) -> Json:
    element: Json = {
        "type": "Input.ChoiceSet",
        "id": name,
        "label": neutral(label),
        "style": "expanded" if len(choices) <= EXPANDED_MAX + 1 else "compact",
        "choices": choices,
        "isRequired": required,
    }
    if required:
        element["errorMessage"] = tr_error
    if default:
        element["value"] = default
    return element


def _scale(block: ScaleInput) -> Json:
    choices = [{"title": str(n), "value": str(n)} for n in range(1, 6)]
    choices[0]["title"] = f"1 — {neutral(block.low_label)}"
    choices[4]["title"] = f"5 — {neutral(block.high_label)}"
    if block.allow_skip:
        choices.append({"title": neutral(block.skip_label), "value": SKIP_VALUE})
    return _choice_set(
        block.name, block.label, choices, block.default, block.required, neutral(block.label)
    )


def _choice(block: ChoiceInput) -> Json:
    # An option whose value is "" is a placeholder ("— Choisir —"): not a choice, the prompt
    # of the set, so nothing is chosen until the person chooses.
    choices = [
        {"title": neutral(f"{o.label} ({o.group})" if o.group else o.label), "value": o.value}
        for o in block.options
        if o.value
    ]
    element = _choice_set(
        block.name, block.label, choices, block.default, block.required, neutral(block.label)
    )
    if len(choices) >= FILTERED_MIN:  # a long list: typing "Mont" finds Montréal
        element["style"] = "filtered"
    placeholder = next((o.label for o in block.options if o.value == ""), None)
    if placeholder:
        element["placeholder"] = neutral(placeholder)
    return element


FILTERED_MIN = 20  # options from which a compact choice set lets people type to filter it


def _picker(block: TextInput) -> Json | None:
    """The Adaptive Cards input for a date, a time or a number; None for plain text."""
    element: Json
    if block.picker == "date":
        element = {"type": "Input.Date"}
    elif block.picker == "time":
        element = {"type": "Input.Time"}
    elif block.picker == "number":
        element = {"type": "Input.Number"}
        if block.low is not None:
            element["min"] = block.low
        if block.high is not None:
            element["max"] = block.high
    else:
        return None
    element |= {"id": block.name, "label": neutral(block.label), "isRequired": block.required}
    if block.required:
        element["errorMessage"] = neutral(block.label)
    default = block.default.strip()
    if default and block.picker == "number":
        if default.isdigit():
            element["value"] = int(default)
    elif default:
        element["value"] = default
    return element


def _text_input(block: TextInput) -> Json:
    picker = _picker(block)
    if picker is not None:
        return picker
    element: Json = {
        "type": "Input.Text",
        "id": block.name,
        "label": neutral(block.label),
        "isMultiline": block.multiline,
        "maxLength": block.max_length,
        "isRequired": block.required,
    }
    if block.required:
        element["errorMessage"] = neutral(block.label)
    if block.default:
        element["value"] = block.default
    if block.placeholder:
        element["placeholder"] = neutral(block.placeholder)
    return element


def _button(button: Button) -> Json:
    action: Json = {
        "type": "Action.Submit",
        "title": neutral(button.label),
        "associatedInputs": "none",
        "data": {ACTION_KEY: button.action, CONTEXT_KEY: _json(button.context)},
    }
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def _attachment(attachment: Attachment) -> Json:
    if attachment.media_type.startswith("image/"):
        return {
            "type": "Image",
            "url": f"data:{attachment.media_type};base64,{attachment.data}",
            "altText": neutral(attachment.description),
            "size": "stretch",
        }
    text = base64.b64decode(attachment.data).decode("utf-8", "replace")
    shown = text if len(text) <= CSV_SHOWN else text[:CSV_SHOWN] + "\n…"
    return {
        "type": "Container",
        "items": [
            _rich(f"{attachment.filename} — {attachment.description}", weight="bolder"),
            _rich(shown, fontType="monospace"),
        ],
    }
