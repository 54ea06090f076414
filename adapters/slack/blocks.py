"""Neutral cards rendered as Slack Block Kit: messages, modals, the App Home tab. Pure, no I/O.

What comes back from Slack (a click, a submission) is parsed by `adapters.slack.block_values`,
which also encodes the payloads written here; a form's inputs are built by
`adapters.slack.block_inputs`; Slack's limits and the helpers that keep to them are in
`adapters.slack.block_limits`.

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
- A table (`dialogs.cards.Table`) is a header with its caption, then sections whose `fields`
  hold one row each as two fields, the label and its cells: Slack shows fields in two columns,
  so a row reads left to right on a computer and on a phone. A section holds 10 fields, so 5
  rows; a longer table takes more sections, each with the column legend as its text. The
  table's note follows in a section of its own.
- Slack's limits are kept: text that has a natural cut (a title, a label, an option, a button)
  is shortened with "…"; a paragraph longer than a section holds is split over several
  sections; a card with more blocks than a message holds is posted as several messages (the
  buttons go with the last one). What cannot be shortened without changing its meaning — an
  option value, a button's or the form's payload, `private_metadata` — raises
  `ValueTooLong`; button payloads can instead be handed to a `spill` callback that stores them
  and returns a short reference (anything that does not start with "{").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from adapters.slack.block_inputs import input_block
from adapters.slack.block_limits import (
    ACTION_ID,
    ACTIONS_ELEMENTS,
    BUTTON_TEXT,
    CALLBACK_ID,
    ELLIPSIS,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    PRIVATE_METADATA,
    SECTION_TEXT,
    VIEW_BLOCKS,
    VIEW_BUTTON,
    VIEW_TITLE,
    Json,
    Spill,
    TooManyBlocks,
    check_length,
    fit,
    payload,
    plain_text,
    split_rendered,
    ulen,
)
from adapters.slack.block_tables import table_blocks
from adapters.slack.block_values import (
    RESERVED_BLOCK_PREFIX,
    button_action_id,
    compact_json,
    form_reference,
)
from adapters.slack.mrkdwn import clean, escape, plain
from dialogs.cards import Attachment, Button, Card, Form, Paragraph, Table

Message = tuple[str, list[Json]]
OPEN_FORM_ACTION = "open_form"  # default action_id of the button that opens a card's modal


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
    check_length("private_metadata", private_metadata, PRIVATE_METADATA)
    check_length("callback_id", callback_id, CALLBACK_ID)
    title = plain(card.title) or "Passerelle"
    blocks: list[Json] = []
    if ulen(title) > VIEW_TITLE:
        blocks.append(_header(title))
    for block in card.blocks:
        if isinstance(block, Paragraph):
            blocks += [_section(text) for text in _paragraph_texts(block)]
        elif isinstance(block, Table):
            blocks += table_blocks(block)
        else:
            blocks.append(input_block(block))
    blocks += _actions(_buttons(card, None, None, spill))
    if len(blocks) > VIEW_BLOCKS:
        blocks = _pack(blocks)
    if len(blocks) > VIEW_BLOCKS:
        raise TooManyBlocks("the modal", len(blocks), VIEW_BLOCKS)
    _number_reserved(blocks)
    view: Json = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain_text(short_label(title), VIEW_TITLE),
        "blocks": blocks,
    }
    if private_metadata:
        view["private_metadata"] = private_metadata
    if card.form is not None:
        view["submit"] = plain_text(short_label(card.form.submit_label, VIEW_BUTTON), VIEW_BUTTON)
    if close_label:
        view["close"] = plain_text(short_label(close_label, VIEW_BUTTON), VIEW_BUTTON)
    return view


def form_metadata(form: Form) -> str:
    """The form's action and context, for a modal's `private_metadata` (at most 3000)."""
    return check_length("private_metadata", form_reference(form), PRIVATE_METADATA)


def view_errors(errors: Mapping[str, str]) -> Json:
    """The answer to a `view_submission` that shows each message under its input.

    Keys are input names, which are also the input blocks' `block_id`s in `modal_view`.
    """
    return {
        "response_action": "errors",
        "errors": {name: plain(message) for name, message in errors.items()},
    }


# --------------------------------------------------------------------------- internals
def short_label(text: str, limit: int = VIEW_TITLE) -> str:
    """A modal's title or button (24 at most; a title is then also whole in a header): the
    part before " — " (the card's subject; the team's name follows), else cut after a word, so
    that it never ends in a cut word or a dangling dash ("Lecture des sommaires —…")."""
    if ulen(text) <= limit:
        return text
    head = text.split(" — ", 1)[0].strip()
    if head != text and 0 < ulen(head) <= limit:
        return head
    cut = fit(text, limit)[: -len(ELLIPSIS)]
    words = cut.rsplit(" ", 1)[0].rstrip(" —–-:")
    return (words if " " in cut and ulen(words) >= limit // 3 else cut) + ELLIPSIS


def _header(title: str) -> Json:
    return {"type": "header", "text": plain_text(title, HEADER_TEXT)}


def _section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _sections(card: Card) -> list[Json]:
    """The card's paragraphs and tables, in order (its inputs are shown in the modal)."""
    blocks: list[Json] = []
    for block in card.blocks:
        if isinstance(block, Paragraph):
            blocks += [_section(text) for text in _paragraph_texts(block)]
        elif isinstance(block, Table):
            blocks += table_blocks(block)
    return blocks


def _quoted(text: str) -> str:
    return "\n".join("&gt; " + line for line in escape(text).split("\n"))


def _paragraph_texts(paragraph: Paragraph) -> list[str]:
    """A paragraph as mrkdwn, in as many pieces as sections need (empty: none)."""
    render = _quoted if paragraph.from_user else escape
    return split_rendered(clean(paragraph.text).strip(), render, SECTION_TEXT)


def _pack(blocks: list[Json]) -> list[Json]:
    """Neighbouring sections joined into as few sections as their text allows."""
    packed: list[Json] = []
    for block in blocks:
        last = packed[-1] if packed else None
        if (
            last is not None
            and _is_section(last)
            and _is_section(block)
            and ulen(last["text"]["text"]) + 2 + ulen(block["text"]["text"]) <= SECTION_TEXT
        ):
            packed[-1] = _section(last["text"]["text"] + "\n\n" + block["text"]["text"])
        else:
            packed.append(block)
    return packed


def _is_section(block: Json) -> bool:
    """A section that holds only text, which `_pack` may join with its neighbours."""
    return block.get("type") == "section" and "block_id" not in block and "fields" not in block


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
                total += ulen(item)
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
        check_length("modal action_id", modal_action_id, ACTION_ID)
        opener: Json = {
            "type": "button",
            "action_id": modal_action_id,
            "text": plain_text(open_label or card.form.submit_label, BUTTON_TEXT),
            "value": payload("form reference", form_reference(card.form), spill),
        }
        if not any(b.style == "primary" for b in card.buttons):
            opener["style"] = "primary"
        elements.append(opener)
    elements += [_button(b, index, spill) for index, b in enumerate(card.buttons)]
    return elements


def _button(button: Button, index: int, spill: Spill | None) -> Json:
    action_id = check_length("action_id", button_action_id(button.action, index), ACTION_ID)
    element: Json = {
        "type": "button",
        "action_id": action_id,
        "text": plain_text(button.label, BUTTON_TEXT),
        "value": payload(f"value of button {button.action}", compact_json(button.context), spill),
    }
    if button.style != "default":
        element["style"] = button.style
    return element


def _actions(elements: Sequence[Json]) -> list[Json]:
    return [
        {"type": "actions", "elements": list(elements[i : i + ACTIONS_ELEMENTS])}
        for i in range(0, len(elements), ACTIONS_ELEMENTS)
    ]
