"""A subset of Block Kit's limits, checked the way Slack checks them (json-pointer messages)."""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50

MAX_VIEW_BLOCKS = 100


def _check_text(
    obj: Any, pointer: str, limit: int, errors: list[str], *, plain: bool = False
) -> None:
    if obj is None:
        return
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"must be a text object [json-pointer:{pointer}]")
        return
    if plain and obj["type"] != "plain_text":
        errors.append(f"must be plain_text [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be a non-empty string [json-pointer:{pointer}/text]")
    elif len(text) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")


_OPTION_LIMITS = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
    "overflow": 5,
}


def _check_element(element: Any, pointer: str, errors: list[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        errors.append(f"must be an element with a type [json-pointer:{pointer}]")
        return
    action_id = element.get("action_id")
    if isinstance(action_id, str) and len(action_id) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{pointer}/action_id]")
    kind = element["type"]
    if kind == "button":
        _check_text(element.get("text"), f"{pointer}/text", 75, errors, plain=True)
        value = element.get("value")
        if isinstance(value, str) and len(value) > 2000:
            errors.append(f"must be less than 2001 characters [json-pointer:{pointer}/value]")
    _check_text(element.get("placeholder"), f"{pointer}/placeholder", 150, errors, plain=True)
    if kind in _OPTION_LIMITS and "options" in element:
        options = element["options"]
        limit = _OPTION_LIMITS[kind]
        if not isinstance(options, list) or not options:
            errors.append(f"must provide at least 1 option [json-pointer:{pointer}/options]")
            return
        if len(options) > limit:
            errors.append(
                f"must provide no more than {limit} items [json-pointer:{pointer}/options]"
            )
        for i, option in enumerate(options):
            where = f"{pointer}/options/{i}"
            _check_text(
                option.get("text") if isinstance(option, dict) else None,
                f"{where}/text",
                75,
                errors,
            )
            value = option.get("value") if isinstance(option, dict) else None
            if not isinstance(value, str) or len(value) > 150:
                errors.append(f"must be at most 150 characters [json-pointer:{where}/value]")


def check_blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    """A subset of Block Kit's rules, with Slack's json-pointer style of message."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    if len(blocks) > max_blocks:
        errors.append(f"must provide no more than {max_blocks} items [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        here = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"must be a block with a type [json-pointer:{here}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > 255:
                errors.append(f"must be less than 256 characters [json-pointer:{here}/block_id]")
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{here}/block_id]")
            block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                errors.append(f"must provide either text or fields [json-pointer:{here}]")
            _check_text(block.get("text"), f"{here}/text", 3000, errors)
            for j, item in enumerate(block.get("fields") or []):
                _check_text(item, f"{here}/fields/{j}", 2000, errors)
            if "accessory" in block:
                _check_element(block["accessory"], f"{here}/accessory", errors)
        elif kind == "header":
            _check_text(block.get("text"), f"{here}/text", 150, errors, plain=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 25:
                errors.append(f"must provide 1 to 25 elements [json-pointer:{here}/elements]")
                continue
            seen: set[str] = set()
            for j, element in enumerate(elements):
                _check_element(element, f"{here}/elements/{j}", errors)
                aid = element.get("action_id") if isinstance(element, dict) else None
                if isinstance(aid, str):
                    if aid in seen:
                        errors.append(
                            f"duplicate action_id {aid!r} [json-pointer:{here}/elements/{j}]"
                        )
                    seen.add(aid)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 10:
                errors.append(f"must provide 1 to 10 elements [json-pointer:{here}/elements]")
        elif kind == "input":
            _check_text(block.get("label"), f"{here}/label", 2000, errors, plain=True)
            _check_text(block.get("hint"), f"{here}/hint", 2000, errors, plain=True)
            if "element" not in block:
                errors.append(f"must provide an element [json-pointer:{here}/element]")
            else:
                _check_element(block["element"], f"{here}/element", errors)
    return errors


def check_view(view: Any, kinds: tuple[str, ...]) -> list[str]:
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") not in kinds:
        errors.append(f"must be one of {list(kinds)} [json-pointer:/view/type]")
    if view.get("type") == "modal":
        if view.get("title") is None:
            errors.append("must provide a title [json-pointer:/view/title]")
        _check_text(view.get("title"), "/view/title", 24, errors, plain=True)
        _check_text(view.get("submit"), "/view/submit", 24, errors, plain=True)
        _check_text(view.get("close"), "/view/close", 24, errors, plain=True)
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and view.get("submit") is None:
            errors.append("must provide a submit with input blocks [json-pointer:/view/submit]")
    for name, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        value = view.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:/view/{name}]")
    errors += check_blocks(view.get("blocks", []), "/view/blocks", MAX_VIEW_BLOCKS)
    return errors
