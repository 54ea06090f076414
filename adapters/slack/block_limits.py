"""Slack's Block Kit limits, and the text helpers that keep to them. Pure functions, no I/O.

Text that has a natural cut (a title, a label, an option, a button) is shortened with "…"
(`fit`, `plain_text`); what cannot be shortened without changing its meaning (an option value,
a button's or a form's payload, `private_metadata`) raises `ValueTooLong` (`check_length`),
unless a button payload can be handed to a `spill` callback (`payload`).

Lengths are counted in UTF-16 code units, as Slack's JavaScript clients do: an emoji counts 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.slack.mrkdwn import plain

Json = dict[str, Any]
# Stores a payload too long for a button and returns a short reference to it.
Spill = Callable[[str], str]

# Slack's limits, from the Block Kit reference (docs.slack.dev/reference/block-kit/...).
MESSAGE_BLOCKS = 50  # blocks: "up to 50 blocks in each message"
VIEW_BLOCKS = 100  # blocks: "100 blocks in modals or Home tabs"
SECTION_TEXT = 3000  # section block: text
SECTION_FIELDS = 10  # section block: fields ("maximum number of items is 10")
FIELD_TEXT = 2000  # section block: each field's text ("maximum length ... is 2000 characters")
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


def ulen(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """`text` cut to `limit` with an ellipsis, never inside a character."""
    if ulen(text) <= limit:
        return text
    cut = text[:limit]
    while ulen(cut) > limit - 1:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def plain_text(text: str, limit: int) -> Json:
    """A plain_text object, cut to `limit` (never empty: Slack refuses an empty text)."""
    return {"type": "plain_text", "text": fit(plain(text), limit) or "—"}


def check_length(field: str, value: str, limit: int) -> str:
    """`value` as it is, or `ValueTooLong` when Slack would refuse it."""
    if ulen(value) > limit:
        raise ValueTooLong(field, ulen(value), limit)
    return value


def payload(field: str, value: str, spill: Spill | None) -> str:
    """A button's value: as it is when it fits, else stored through `spill` (a reference that
    does not start with "{", so that it is never mistaken for a payload)."""
    if ulen(value) <= BUTTON_VALUE:
        return value
    if spill is None:
        raise ValueTooLong(field, ulen(value), BUTTON_VALUE)
    reference = spill(value)
    if reference.startswith("{"):
        raise ValueError("a spilled reference must not start with '{'")
    return check_length(f"{field} (spilled)", reference, BUTTON_VALUE)


def split_rendered(raw: str, render: Callable[[str], str], limit: int) -> list[str]:
    """`raw` rendered in pieces of at most `limit`, cut at a line end or a space if possible.

    Cutting the raw text, not the rendering, keeps entities and joiners whole; the rendered
    length only grows with the raw prefix, so the longest piece that fits is found by bisection.
    """
    pieces: list[str] = []
    rest = raw
    while rest:
        whole = render(rest)
        if ulen(whole) <= limit:
            pieces.append(whole)
            break
        low, high = 1, len(rest)
        while low < high:
            middle = (low + high + 1) // 2
            if ulen(render(rest[:middle])) <= limit:
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
