"""Slack's Block Kit rules as the block tests (tests/test_slack_*.py) check them, hostile texts,
and a form's round trip through a modal."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from adapters.slack import block_limits as limits
from adapters.slack import block_values as bv
from adapters.slack import blocks as sb
from adapters.slack.mrkdwn import SOFT_HYPHEN, WORD_JOINER
from dialogs.cards import (
    Card,
)
from dialogs.engine import Engine
from tests.helpers import submit

try:  # slack-sdk's models validate Block Kit; it is not (yet) a declared dependency
    from slack_sdk.models.blocks import Block as Block
    from slack_sdk.models.views import View as View
except ImportError:  # pragma: no cover
    Block = View = None  # type: ignore[misc, assignment]


HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U123>",
    "<#C1|x>",
    "<!subteam^S1|@team>",
    "<https://evil|click>",
    "<!date^1392734382^{date}|x>",
    "*bold*",
    "_italic_",
    "~strike~",
    "`code`",
    "```block```",
    "> quoted",
    "  > indented quote",
    "＞ full-width quote",
    "＊full-width bold＊",
    "@here",
    "@channel hello",
    "#general",
    "https://evil.example",
    "www.evil.example/path",
    "mailto:someone@evil.example",
    "someone@evil.example",
    "&lt;!channel&gt;",
    "&amp;lt;!here&amp;gt;",
    "&#60;!channel&#62;",
    "a\u202eb\x00c\x1b[31m",
]


# --------------------------------------------------------------------------- helpers
def ulen(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shown(mrkdwn: str) -> str:
    """What a reader sees of escaped mrkdwn: entities decoded once, look-alikes read as what
    they stand for, the invisible joiners and soft hyphens gone."""
    text = re.sub(r"&(amp|lt|gt);", lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m[1]], mrkdwn)
    back = str.maketrans({"∗": "*", "ˍ": "_", "ˋ": "`", "∼": "~", "﹡": "＊", "⸏": "＿"})
    return text.translate(back).replace(WORD_JOINER, "").replace(SOFT_HYPHEN, "")


def texts(payload: Any) -> list[str]:
    """Every mrkdwn text in a payload."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn":
            found.append(payload["text"])
        for value in payload.values():
            found += texts(value)
    elif isinstance(payload, list | tuple):
        for value in payload:
            found += texts(value)
    return found


def plain_texts(payload: Any) -> list[str]:
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") == "plain_text":
            found.append(payload["text"])
        for value in payload.values():
            found += plain_texts(value)
    elif isinstance(payload, list):
        for value in payload:
            found += plain_texts(value)
    return found


def assert_inert(mrkdwn: str) -> None:
    """No Slack token, formatting, quote, mention or link can come out of this mrkdwn."""
    assert "<" not in mrkdwn and ">" not in mrkdwn, mrkdwn
    assert not re.search(r"&(?!amp;|lt;|gt;)", mrkdwn), mrkdwn
    assert not set("*_~`＊＿｀～") & set(mrkdwn), mrkdwn
    for line in mrkdwn.split("\n"):
        body = line.removeprefix("&gt; ")  # the quote the renderer adds to people's words
        assert not re.match(r"[^\S\n]*(&gt;|＞)", body), line
    assert not re.search(f"@(?!{WORD_JOINER})", mrkdwn), mrkdwn
    assert not re.search(r"#\w", mrkdwn), mrkdwn
    assert "://" not in mrkdwn, mrkdwn
    assert not re.search(r"[^\W_]\.[^\W\d_]", mrkdwn), mrkdwn


def check_text(obj: dict[str, Any], limit: int, kind: str = "plain_text") -> None:
    assert obj["type"] == kind, obj
    assert 1 <= ulen(obj["text"]) <= limit, (limit, obj)


def check_option(option: dict[str, Any]) -> None:
    check_text(option["text"], limits.OPTION_TEXT)
    assert 1 <= ulen(option["value"]) <= limits.OPTION_VALUE


def check_element(element: dict[str, Any]) -> None:
    assert ulen(element["action_id"]) <= limits.ACTION_ID
    kind = element["type"]
    if kind == "button":
        check_text(element["text"], limits.BUTTON_TEXT)
        assert ulen(element["value"]) <= limits.BUTTON_VALUE
        assert element.get("style", "primary") in ("primary", "danger")
    elif kind in ("radio_buttons", "static_select"):
        if "option_groups" in element:
            assert (
                kind == "static_select" and len(element["option_groups"]) <= limits.SELECT_OPTIONS
            )
            options = []
            for group in element["option_groups"]:
                check_text(group["label"], limits.OPTION_GROUP_LABEL)
                assert 1 <= len(group["options"]) <= limits.SELECT_OPTIONS
                options += group["options"]
        else:
            options = element["options"]
            limit = limits.RADIO_OPTIONS if kind == "radio_buttons" else limits.SELECT_OPTIONS
            assert 1 <= len(options) <= limit
        for option in options:
            check_option(option)
        assert len({o["value"] for o in options}) == len(options)
        if "initial_option" in element:
            assert element["initial_option"] in options
    elif kind == "plain_text_input":
        assert 1 <= element["max_length"] <= limits.TEXT_INPUT_LENGTH
        assert ulen(element.get("initial_value", "")) <= element["max_length"]
        if "placeholder" in element:
            check_text(element["placeholder"], limits.PLACEHOLDER)
    elif kind == "datepicker":
        if "initial_date" in element:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", element["initial_date"])
    elif kind == "timepicker":
        if "initial_time" in element:
            assert re.fullmatch(r"\d{2}:\d{2}", element["initial_time"])
    elif kind == "number_input":
        assert element["is_decimal_allowed"] is False
        bounds = [int(element[k]) for k in ("min_value", "max_value") if k in element]
        assert bounds == sorted(bounds)
        if "initial_value" in element and len(bounds) == 2:
            assert bounds[0] <= int(element["initial_value"]) <= bounds[1]
    else:
        raise AssertionError(f"unexpected element {kind}")


def check_blocks(blocks: list[dict[str, Any]], limit: int) -> None:
    """Slack's documented limits, and what slack_sdk's models accept, unchanged."""
    assert 1 <= len(blocks) <= limit
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    action_ids: list[str] = []
    for block in blocks:
        if Block is not None:  # slack_sdk validates, and drops nothing it does not know
            parsed = Block.parse(block)
            assert parsed is not None and parsed.to_dict() == block
        assert ulen(block.get("block_id", "")) <= limits.BLOCK_ID
        kind = block["type"]
        if kind == "header":
            check_text(block["text"], limits.HEADER_TEXT)
        elif kind == "section":
            check_text(block["text"], limits.SECTION_TEXT, "mrkdwn")
            assert block["text"]["verbatim"] is True
            assert_inert(block["text"]["text"])
            for field in block.get("fields", []):  # a table's rows (adapters/slack/block_tables)
                check_text(field, 2000, "mrkdwn")
                assert field["verbatim"] is True
                assert_inert(field["text"].removeprefix("*").removesuffix("*"))
            assert len(block.get("fields", [])) <= 10
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= limits.ACTIONS_ELEMENTS
            for element in block["elements"]:
                check_element(element)
                action_ids.append(element["action_id"])
        elif kind == "input":
            check_text(block["label"], limits.INPUT_LABEL)
            assert block["block_id"] == block["element"]["action_id"]
            check_element(block["element"])
        else:
            raise AssertionError(f"unexpected block {kind}")
    assert len(action_ids) == len(set(action_ids))


def check_message(message: tuple[str, list[dict[str, Any]]]) -> None:
    fallback, blocks = message
    assert json.loads(json.dumps(message)) == list(message)
    assert fallback and "<" not in fallback
    check_blocks(blocks, limits.MESSAGE_BLOCKS)
    assert all(b["type"] != "input" for b in blocks)
    assert sum(ulen(t) for t in texts(blocks) + plain_texts(blocks)) <= limits.MESSAGE_TEXT_BUDGET


def check_view(view: dict[str, Any]) -> None:
    assert json.loads(json.dumps(view)) == view
    if View is not None:
        assert View(**view).to_dict() == view
    limit = limits.VIEW_BLOCKS
    check_blocks(view["blocks"], limit)
    if view["type"] == "modal":
        check_text(view["title"], limits.VIEW_TITLE)
        for key in ("submit", "close"):
            if key in view:
                check_text(view[key], limits.VIEW_BUTTON)
        assert ulen(view.get("private_metadata", "")) <= limits.PRIVATE_METADATA
        assert ulen(view["callback_id"]) <= limits.CALLBACK_ID
        if any(b["type"] == "input" for b in view["blocks"]):
            assert "submit" in view


def check_card(card: Card) -> None:
    messages = sb.messages_for(card, spill=lambda payload: "stored:1")
    for message in messages:
        check_message(message)
    check_view(sb.home_view(card, spill=lambda payload: "stored:1"))
    if card.form is not None:
        view = sb.modal_view(
            card,
            private_metadata=sb.form_metadata(card.form),
            close_label="Fermer",
            spill=lambda payload: "stored:1",
        )
        check_view(view)
        names = {b.name for b in card.inputs()}
        assert {b["block_id"] for b in view["blocks"] if b["type"] == "input"} == names
        opener = messages[-1][1][-1]["elements"][0]
        assert opener["action_id"] == sb.OPEN_FORM_ACTION
        if not opener["value"].startswith("stored:"):
            assert bv.decode_form_reference(opener["value"]) == (
                card.form.action,
                card.form.context,
            )


def submission(
    view: dict[str, Any], answers: Mapping[str, str | None]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The `view.state.values` Slack sends when someone submits `view`: the initial values,
    changed by `answers` (a choice can only take one of its options)."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        name = element["action_id"]
        if element["type"] in ("plain_text_input", "number_input"):
            state = {"type": element["type"], "value": element.get("initial_value")}
            if name in answers:
                state["value"] = answers[name] or None
        elif element["type"] in ("datepicker", "timepicker"):
            key = "selected_date" if element["type"] == "datepicker" else "selected_time"
            initial = element.get("initial_date", element.get("initial_time"))
            state = {"type": element["type"], key: answers.get(name, initial) or None}
        else:
            options = element.get("options") or [
                o for g in element["option_groups"] for o in g["options"]
            ]
            chosen = answers.get(name, element.get("initial_option", {}).get("value"))
            option = next((o for o in options if o["value"] == chosen), None)
            state = {"type": element["type"], "selected_option": option}
        values[block["block_id"]] = {name: state}
    return values


async def through_modal(
    engine: Engine, who: str, card: Card, answers: Mapping[str, str | None] | None = None
) -> list[Card]:
    """What the Slack adapter does: open the card's modal, take the submission, hand the
    engine a FormSubmitted built from private_metadata and the view state."""
    assert card.form is not None, card.title
    view = sb.modal_view(card, private_metadata=sb.form_metadata(card.form))
    check_view(view)
    action, context = bv.decode_form_reference(view["private_metadata"])
    values = bv.values_from_view_state(submission(view, answers or {}))
    return await submit(engine, who, action, context, values)
