"""Neutral cards as Slack Block Kit: messages, modals, the App Home tab. Pure functions, no I/O.

How a card becomes Slack (the issue's design):

- A card is posted as a message (`messages_for`, `message_blocks`): a header with the title, a
  section per paragraph, and an actions block with the card's buttons. A card with a form gets
  one more button, "open the form", whose value names the form (`decode_form_reference`); the
  adapter answers that click with `views.open` and `modal_view(card)`. One submission of the
  modal is one `FormSubmitted`, built from `values_from_view_state`.
- Every paragraph, the bot's own included, goes through `mrkdwn.escape`. The catalogues carry
  no mrkdwn (tests/test_slack_blocks.py checks it), while the names they interpolate (team,
  channel, coordinators' display names) are typed by people; escaping everything costs nothing
  and leaves no path for markup. A paragraph written by a person (`from_user`) is also shown
  as a block quote, so it reads as someone's words. Text objects set `verbatim: true`.
- Slack's limits are kept: text that has a natural cut (a title, a label, an option, a button)
  is shortened with "…"; a paragraph longer than a section holds is split over several
  sections; a card with more blocks than a message holds is posted as several messages (the
  buttons go with the last one). What cannot be shortened without changing its meaning — an
  option value, a button's or the form's payload, `private_metadata` — raises
  `ValueTooLong`; button payloads can instead be handed to a `spill` callback that stores them
  and returns a short reference (anything that does not start with "{").

Lengths are counted in UTF-16 code units, as Slack's JavaScript clients do: an emoji counts 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from adapters.slack.mrkdwn import clean, escape, plain
from dialogs.cards import (
    Attachment,
    Button,
    Card,
    ChoiceInput,
    Form,
    Option,
    Paragraph,
    ScaleInput,
    TextInput,
)

Json = dict[str, Any]
Message = tuple[str, list[Json]]
Spill = Callable[[str], str]

# Slack's limits, from the Block Kit reference (docs.slack.dev/reference/block-kit/...).
MESSAGE_BLOCKS = 50  # blocks: "up to 50 blocks in each message"
VIEW_BLOCKS = 100  # blocks: "100 blocks in modals or Home tabs"
SECTION_TEXT = 3000  # section block: text
HEADER_TEXT = 150  # header block: text
INPUT_LABEL = 2000  # input block: label
ACTIONS_ELEMENTS = 25  # actions block: elements
BLOCK_ID = 255  # every block: block_id
ACTION_ID = 255  # every interactive element: action_id
BUTTON_TEXT = 75  # button element: text
BUTTON_VALUE = 2000  # button element: value
RADIO_OPTIONS = 10  # radio button group: options
SELECT_OPTIONS = 100  # static select: options (and option_groups)
OPTION_TEXT = 75  # option object: text
OPTION_VALUE = 150  # option object: value
OPTION_GROUP_LABEL = 75  # option group object: label
PLACEHOLDER = 150  # input elements: placeholder
TEXT_INPUT_LENGTH = 3000  # plain-text input: max_length between 1 and 3000
VIEW_TITLE = 24  # modal view: title
VIEW_BUTTON = 24  # modal view: submit and close
PRIVATE_METADATA = 3000  # view: private_metadata
CALLBACK_ID = 255  # view: callback_id
# Not a documented limit: chat.postMessage answers `msg_blocks_too_long` past roughly 13,000
# characters of block text (slackapi/bolt-js#2509). Messages are split before 12,000.
MESSAGE_TEXT_BUDGET = 12_000

# A choice with this many options or fewer is a group of radio buttons (all visible, one
# click, read in full by screen readers, like Teams' expanded choice set); more is a menu.
RADIO_CHOICE_MAX = 5
SKIP_VALUE = "skip"  # the "prefer not to answer" value of a 1-5 scale (dialogs.checkins.SKIP)
BUTTON_PREFIX = "passerelle:"  # action_id of a card's button: passerelle:<action>:<index>
OPEN_FORM_ACTION = "open_form"  # default action_id of the button that opens a card's modal
RESERVED_BLOCK_PREFIX = "passerelle."  # block ids of blocks that are not inputs
ELLIPSIS = "…"


class SlackLimitError(ValueError):
    """A card cannot be shown in Slack without changing what it means."""


class ValueTooLong(SlackLimitError):
    """A value Slack caps cannot be shortened: an option value, a payload, private_metadata."""

    def __init__(self, field: str, length: int, limit: int) -> None:
        super().__init__(f"{field} is {length} characters long; Slack accepts at most {limit}")
        self.field, self.length, self.limit = field, length, limit


class TooManyBlocks(SlackLimitError):
    """More blocks than the surface holds, even with paragraphs packed together."""

    def __init__(self, surface: str, count: int, limit: int) -> None:
        super().__init__(f"{surface} needs {count} blocks; Slack accepts at most {limit}")
        self.surface, self.count, self.limit = surface, count, limit


# --------------------------------------------------------------------------- messages
def messages_for(
    card: Card,
    *,
    modal_action_id: str = OPEN_FORM_ACTION,
    open_label: str | None = None,
    spill: Spill | None = None,
) -> list[Message]:
    """The card as one or more `chat.postMessage` payloads: (notification text, blocks).

    The first message has the header, the last one the buttons; each holds at most 50 blocks
    and about 12,000 characters. Inputs are not shown: the "open the form" button (labelled
    `open_label`, else the form's submit label) opens them in a modal.
    """
    header = _header(card.title)
    body = _sections(card)
    actions = _actions(_buttons(card, modal_action_id, open_label, spill))
    if 1 + len(body) + len(actions) > MESSAGE_BLOCKS:
        body = _pack(body)
    if len(actions) > MESSAGE_BLOCKS:
        raise TooManyBlocks("the buttons of a message", len(actions), MESSAGE_BLOCKS)
    pages: list[list[Json]] = []
    page = [header]
    for block in body:
        if not _fits_message(page, [block]):
            pages.append(page)
            page = []
        page.append(block)
    if page and not _fits_message(page, actions):
        pages.append(page)
        page = []
    pages.append(page + actions)
    title = plain(card.title)
    if len(pages) == 1:
        return [(escape(title), pages[0])]
    return [(escape(f"{title} ({n}/{len(pages)})"), p) for n, p in enumerate(pages, start=1)]


def message_blocks(
    card: Card,
    *,
    modal_action_id: str = OPEN_FORM_ACTION,
    open_label: str | None = None,
    spill: Spill | None = None,
) -> Message:
    """The card as a single message; `TooManyBlocks` when it needs several (see messages_for)."""
    messages = messages_for(
        card, modal_action_id=modal_action_id, open_label=open_label, spill=spill
    )
    if len(messages) > 1:
        count = sum(len(blocks) for _, blocks in messages)
        raise TooManyBlocks("the message (use messages_for)", count, MESSAGE_BLOCKS)
    return messages[0]


def files_to_upload(card: Card) -> list[Attachment]:
    """What goes with the message as files (charts and CSV exports): Block Kit cannot carry
    them. Upload each with `files_upload_v2`, its `description` as the image's alternative
    text (`alt_txt`) or the file's comment, and `base64.b64decode(attachment.data)` as content.
    """
    return list(card.attachments)


# --------------------------------------------------------------------------- App Home
def home_view(
    card: Card,
    *,
    modal_action_id: str = OPEN_FORM_ACTION,
    open_label: str | None = None,
    spill: Spill | None = None,
) -> Json:
    """The card as the App Home tab (`views.publish`): laid out like a message, 100 blocks."""
    body = _sections(card)
    actions = _actions(_buttons(card, modal_action_id, open_label, spill))
    if 1 + len(body) + len(actions) > VIEW_BLOCKS:
        body = _pack(body)
    blocks = [_header(card.title), *body, *actions]
    if len(blocks) > VIEW_BLOCKS:
        raise TooManyBlocks("the Home tab", len(blocks), VIEW_BLOCKS)
    return {"type": "home", "blocks": blocks}


# --------------------------------------------------------------------------- modals
def modal_view(
    card: Card,
    *,
    private_metadata: str,
    callback_id: str = "passerelle_form",
    close_label: str | None = None,
    spill: Spill | None = None,
) -> Json:
    """The card's form as a modal (`views.open`, `views.update`, `response_action: update`).

    Paragraphs and inputs keep their order; each input block's `block_id` and its element's
    `action_id` are the input's name, which `values_from_view_state` and `view_errors` rely
    on. A title longer than the modal's 24 characters is cut, and then also shown whole in a
    header. `private_metadata` (see `form_metadata`) comes back with the submission.
    """
    if card.form is None and card.inputs():
        raise ValueError(f"card {card.title!r} has inputs but no form to submit them")
    _check_length("private_metadata", private_metadata, PRIVATE_METADATA)
    _check_length("callback_id", callback_id, CALLBACK_ID)
    title = plain(card.title) or "Passerelle"
    blocks: list[Json] = []
    if _ulen(title) > VIEW_TITLE:
        blocks.append(_header(title))
    for block in card.blocks:
        if isinstance(block, Paragraph):
            blocks += [_section(text) for text in _paragraph_texts(block)]
        elif isinstance(block, ScaleInput):
            blocks.append(_scale_input(block))
        elif isinstance(block, ChoiceInput):
            blocks.append(_choice_input(block))
        else:
            blocks.append(_text_input(block))
    blocks += _actions(_buttons(card, None, None, spill))
    if len(blocks) > VIEW_BLOCKS:
        blocks = _pack(blocks)
    if len(blocks) > VIEW_BLOCKS:
        raise TooManyBlocks("the modal", len(blocks), VIEW_BLOCKS)
    _number_reserved(blocks)
    view: Json = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain_text(_short_title(title), VIEW_TITLE),
        "blocks": blocks,
    }
    if private_metadata:
        view["private_metadata"] = private_metadata
    if card.form is not None:
        view["submit"] = _plain_text(card.form.submit_label, VIEW_BUTTON)
    if close_label:
        view["close"] = _plain_text(close_label, VIEW_BUTTON)
    return view


def form_metadata(form: Form) -> str:
    """The form's action and context, for a modal's `private_metadata` (at most 3000)."""
    return _check_length("private_metadata", _reference(form), PRIVATE_METADATA)


def values_from_view_state(values: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """A `view_submission`'s `view.state.values` as the engine's {input name: value}.

    Scales give "1".."5" or "skip", choices their option's value, text inputs their text; an
    input left empty gives "". Unknown shapes give "" too: the engine validates every value.
    """
    found: dict[str, str] = {}
    for block_id, actions in values.items():
        if block_id.startswith(RESERVED_BLOCK_PREFIX):
            continue
        for action_id, state in actions.items():
            found[action_id] = _state_value(state)
    return found


def view_errors(errors: Mapping[str, str]) -> Json:
    """The answer to a `view_submission` that shows each message under its input.

    Keys are input names, which are also the input blocks' `block_id`s in `modal_view`.
    """
    return {
        "response_action": "errors",
        "errors": {name: plain(message) for name, message in errors.items()},
    }


# --------------------------------------------------------------------------- payloads
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


# --------------------------------------------------------------------------- internals
def _ulen(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> str:
    """`text` cut to `limit` with an ellipsis, never inside a character."""
    if _ulen(text) <= limit:
        return text
    cut = text[:limit]
    while _ulen(cut) > limit - 1:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def _short_title(title: str) -> str:
    """A modal's title (24 at most; the whole title is then also in a header): the part before
    " — " (the card's subject; the team's name follows), else cut after a word, so that the
    title never ends in a cut word or a dangling dash ("Lecture des sommaires —…")."""
    if _ulen(title) <= VIEW_TITLE:
        return title
    head = title.split(" — ", 1)[0].strip()
    if head != title and 0 < _ulen(head) <= VIEW_TITLE:
        return head
    cut = _fit(title, VIEW_TITLE)[: -len(ELLIPSIS)]
    words = cut.rsplit(" ", 1)[0].rstrip(" —–-:")
    return (words if " " in cut and _ulen(words) >= VIEW_TITLE // 2 else cut) + ELLIPSIS


def _plain_text(text: str, limit: int) -> Json:
    return {"type": "plain_text", "text": _fit(plain(text), limit) or "—"}


def _check_length(field: str, value: str, limit: int) -> str:
    if _ulen(value) > limit:
        raise ValueTooLong(field, _ulen(value), limit)
    return value


def _payload(field: str, value: str, spill: Spill | None) -> str:
    if _ulen(value) <= BUTTON_VALUE:
        return value
    if spill is None:
        raise ValueTooLong(field, _ulen(value), BUTTON_VALUE)
    reference = spill(value)
    if reference.startswith("{"):
        raise ValueError("a spilled reference must not start with '{'")
    return _check_length(f"{field} (spilled)", reference, BUTTON_VALUE)


def _json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _reference(form: Form) -> str:
    return _json({"a": form.action, "c": form.context})


def _string_map(data: object, what: str) -> dict[str, str]:
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"not a {what}")
    return dict(data)


def _header(title: str) -> Json:
    return {"type": "header", "text": _plain_text(title, HEADER_TEXT)}


def _section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _sections(card: Card) -> list[Json]:
    return [
        _section(text)
        for block in card.blocks
        if isinstance(block, Paragraph)
        for text in _paragraph_texts(block)
    ]


def _quoted(text: str) -> str:
    return "\n".join("&gt; " + line for line in escape(text).split("\n"))


def _paragraph_texts(paragraph: Paragraph) -> list[str]:
    """A paragraph as mrkdwn, in as many pieces as sections need (empty: none)."""
    render = _quoted if paragraph.from_user else escape
    return _split(clean(paragraph.text).strip(), render, SECTION_TEXT)


def _split(raw: str, render: Callable[[str], str], limit: int) -> list[str]:
    """`raw` rendered in pieces of at most `limit`, cut at a line end or a space if possible.

    Cutting the raw text, not the rendering, keeps entities and joiners whole; the rendered
    length only grows with the raw prefix, so the longest piece that fits is found by bisection.
    """
    pieces: list[str] = []
    rest = raw
    while rest:
        whole = render(rest)
        if _ulen(whole) <= limit:
            pieces.append(whole)
            break
        low, high = 1, len(rest)
        while low < high:
            middle = (low + high + 1) // 2
            if _ulen(render(rest[:middle])) <= limit:
                low = middle
            else:
                high = middle - 1
        cut = low
        for separator in ("\n", " "):
            at = rest.rfind(separator, 0, cut)
            if at > cut // 2:
                cut = at + 1
                break
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(render(piece))
        rest = rest[cut:].lstrip()
    return pieces


def _pack(blocks: list[Json]) -> list[Json]:
    """Neighbouring sections joined into as few sections as their text allows."""
    packed: list[Json] = []
    for block in blocks:
        last = packed[-1] if packed else None
        if (
            last is not None
            and _is_section(last)
            and _is_section(block)
            and _ulen(last["text"]["text"]) + 2 + _ulen(block["text"]["text"]) <= SECTION_TEXT
        ):
            packed[-1] = _section(last["text"]["text"] + "\n\n" + block["text"]["text"])
        else:
            packed.append(block)
    return packed


def _is_section(block: Json) -> bool:
    return block.get("type") == "section" and "block_id" not in block


def _fits_message(page: list[Json], more: list[Json]) -> bool:
    return (
        len(page) + len(more) <= MESSAGE_BLOCKS
        and _text_size(page) + _text_size(more) <= MESSAGE_TEXT_BUDGET
    )


def _text_size(blocks: Iterable[Json]) -> int:
    """Characters of text in the blocks (the texts, labels and values they show)."""
    total = 0
    for block in blocks:
        stack: list[object] = [block]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack += [v for k, v in item.items() if k != "type"]
            elif isinstance(item, list):
                stack += item
            elif isinstance(item, str):
                total += _ulen(item)
    return total


def _number_reserved(blocks: list[Json]) -> None:
    """Give every non-input block of a view a block_id no input name can take."""
    for number, block in enumerate(blocks):
        if block["type"] != "input":
            block["block_id"] = f"{RESERVED_BLOCK_PREFIX}{block['type']}.{number}"


# Buttons ------------------------------------------------------------------------------
def _buttons(
    card: Card, modal_action_id: str | None, open_label: str | None, spill: Spill | None
) -> list[Json]:
    elements: list[Json] = []
    if card.form is not None and modal_action_id is not None:
        _check_length("modal action_id", modal_action_id, ACTION_ID)
        opener: Json = {
            "type": "button",
            "action_id": modal_action_id,
            "text": _plain_text(open_label or card.form.submit_label, BUTTON_TEXT),
            "value": _payload("form reference", _reference(card.form), spill),
        }
        if not any(b.style == "primary" for b in card.buttons):
            opener["style"] = "primary"
        elements.append(opener)
    elements += [_button(b, index, spill) for index, b in enumerate(card.buttons)]
    return elements


def _button(button: Button, index: int, spill: Spill | None) -> Json:
    action_id = _check_length("action_id", f"{BUTTON_PREFIX}{button.action}:{index}", ACTION_ID)
    element: Json = {
        "type": "button",
        "action_id": action_id,
        "text": _plain_text(button.label, BUTTON_TEXT),
        "value": _payload(f"value of button {button.action}", _json(button.context), spill),
    }
    if button.style != "default":
        element["style"] = button.style
    return element


def _actions(elements: Sequence[Json]) -> list[Json]:
    return [
        {"type": "actions", "elements": list(elements[i : i + ACTIONS_ELEMENTS])}
        for i in range(0, len(elements), ACTIONS_ELEMENTS)
    ]


# Inputs -------------------------------------------------------------------------------
def _input(name: str, label: str, element: Json, *, required: bool) -> Json:
    if name.startswith(RESERVED_BLOCK_PREFIX) or not name:
        raise ValueError(f"input name {name!r} is empty or reserved")
    _check_length("input name (block_id, action_id)", name, min(BLOCK_ID, ACTION_ID))
    return {
        "type": "input",
        "block_id": name,
        "label": _plain_text(label, INPUT_LABEL),
        "element": {**element, "action_id": name},
        "optional": not required,
    }


def _option(value: str, label: str) -> Json:
    _check_length(f"option value {value[:20]!r}", value, OPTION_VALUE)
    return {"text": _plain_text(label, OPTION_TEXT), "value": value}


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
    options = [_option(o.value, o.label) for o in block.options]
    if not options:
        raise ValueError(f"choice {block.name!r} has no options")
    element: Json
    if len(options) <= min(RADIO_CHOICE_MAX, RADIO_OPTIONS):
        element = {"type": "radio_buttons", "options": options}
    elif len(options) <= SELECT_OPTIONS:
        element = {"type": "static_select", "options": options}
    elif len(options) <= SELECT_OPTIONS * SELECT_OPTIONS:
        element = {"type": "static_select", "option_groups": _groups(block.options, options)}
    else:
        raise ValueTooLong(f"options of {block.name!r}", len(options), SELECT_OPTIONS**2)
    element = _with_initial(element, options, block.default)
    return _input(block.name, block.label, element, required=block.required)


def _groups(source: Sequence[Option], options: list[Json]) -> list[Json]:
    """Options in groups of 100, each labelled with its first and last option."""
    groups = []
    for start in range(0, len(options), SELECT_OPTIONS):
        chunk = options[start : start + SELECT_OPTIONS]
        first, last = source[start].label, source[start + len(chunk) - 1].label
        label = f"{_fit(plain(first), 36)} – {_fit(plain(last), 36)}"
        groups.append({"label": _plain_text(label, OPTION_GROUP_LABEL), "options": chunk})
    return groups


def _text_input(block: TextInput) -> Json:
    limit = max(1, min(block.max_length, TEXT_INPUT_LENGTH))
    element: Json = {"type": "plain_text_input", "multiline": block.multiline, "max_length": limit}
    initial = clean(block.default)
    if initial:
        # Slack keeps people from typing past max_length; a longer default is cut, not refused.
        while _ulen(initial) > limit:
            initial = initial[:-1]
        element["initial_value"] = initial
    if plain(block.placeholder):
        element["placeholder"] = _plain_text(block.placeholder, PLACEHOLDER)
    return _input(block.name, block.label, element, required=block.required)


def _state_value(state: Mapping[str, Any]) -> str:
    if "selected_option" in state:
        option = state["selected_option"]
        value = option.get("value") if isinstance(option, Mapping) else None
    elif "value" in state:
        value = state["value"]
    else:
        value = state.get("selected_date", state.get("selected_time"))
    return value if isinstance(value, str) else ""
