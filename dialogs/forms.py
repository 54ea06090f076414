"""Small helpers shared by the handlers that read submitted forms."""

from __future__ import annotations

import datetime as dt

from dialogs.calendar import is_zone
from dialogs.cards import Card, ChoiceInput, Option, Paragraph, ScaleInput, TextInput, notice
from dialogs.i18n import LANGUAGES, Tr


class FormError(ValueError):
    """A field's value is wrong; `key` and `params` give the message for the user."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class CardRejected(Exception):
    """A submission refused with a card of its own (a ballot that no longer fits its round):
    the engine shows `card` with the problem `key` said first."""

    def __init__(self, card: Card, key: str, params: dict[str, object]) -> None:
        super().__init__(key)
        self.card, self.key, self.params = card, key, params


def with_error(card: Card, tr: Tr, key: str, **params: object) -> Card:
    """The same card, its fields still filled, with the problem said first."""
    message = Paragraph(text="⚠ " + tr(key, **params))
    return card.model_copy(update={"blocks": [message, *card.blocks]})


def refill(card: Card, values: dict[str, str]) -> Card:
    """Put submitted values back as defaults, so a rejected form loses nothing."""
    blocks = []
    for block in card.blocks:
        if isinstance(block, ScaleInput | ChoiceInput | TextInput) and block.name in values:
            block = block.model_copy(update={"default": values[block.name]})
        blocks.append(block)
    form = card.form.model_copy(update={"refilled": True}) if card.form is not None else None
    return card.model_copy(update={"blocks": blocks, "form": form})


def refused(tr: Tr, key: str) -> Card:
    """What a person sees when what they asked is not theirs to do, or no longer possible."""
    return notice(tr("errors.refused_title"), tr(key))


ID_MAX = 2**31 - 1  # an INTEGER key: a larger number from a forged card must not reach the driver


def parse_id(raw: str | None) -> int:
    """A numeric id from a card's context; -1 (matching nothing) when it is not a number,
    or not one a row could have (negative, past 32 bits, thousands of digits)."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return -1
    number = int(text)
    return number if number <= ID_MAX else -1


def choice(
    name: str,
    label: str,
    options: list[tuple[str, str]],
    default: str | None,
    *,
    required: bool = True,
) -> ChoiceInput:
    return ChoiceInput(
        name=name,
        label=label,
        options=[Option(value=v, label=text) for v, text in options],
        default=default,
        required=required,
    )


def own_words(
    tr: Tr, *, intro: str, label: str, max_length: int, text: str = "", prompt: str = ""
) -> list[Paragraph | TextInput]:
    """Where someone writes in their own words: the prompt they chose (if any), what the form is
    for, the reminder to name no client, and the text box (`text` typed before, kept)."""
    above = [Paragraph(text=prompt)] if prompt else []
    return [
        *above,
        Paragraph(text=intro),
        Paragraph(text=tr("common.no_client_details")),
        TextInput(name="text", label=label, max_length=max_length, required=True, default=text),
    ]


def line_input(name: str, label: str, max_length: int, default: str) -> TextInput:
    """A required one-line field (a number, a date, a time, a name), filled with `default`."""
    return TextInput(
        name=name,
        label=label,
        max_length=max_length,
        multiline=False,
        required=True,
        default=default,
    )


def hours(tr: Tr) -> list[tuple[str, str]]:
    return [(str(h), tr("common.hour", hour=h)) for h in range(24)]


def weekdays(tr: Tr) -> list[tuple[str, str]]:
    return [(str(d), tr(f"weekday.{d}")) for d in range(7)]


def parse_int(raw: str | None, low: int, high: int, field: str) -> int:
    try:
        number = int((raw or "").strip())
    except ValueError:
        raise FormError("errors.number", field=field, low=low, high=high) from None
    if not low <= number <= high:
        raise FormError("errors.number", field=field, low=low, high=high)
    return number


def parse_date(raw: str | None, field: str) -> dt.date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FormError("errors.date", field=field) from None


def parse_time(raw: str | None, field: str) -> dt.time:
    text = (raw or "").strip()
    try:
        return dt.time.fromisoformat(text).replace(second=0, microsecond=0)
    except ValueError:
        raise FormError("errors.time", field=field) from None


def one_of(raw: str | None, allowed: tuple[str, ...], field: str) -> str:
    if raw not in allowed:
        raise FormError("errors.choice", field=field)
    return raw


def language_choice(tr: Tr, label: str, default: str | None) -> ChoiceInput:
    return choice(
        "language", label, [(lang, tr(f"language.{lang}")) for lang in LANGUAGES], default
    )


def timezone_input(tr: Tr, default: str) -> TextInput:
    return line_input("timezone", tr("profile.timezone"), 64, default)


def read_timezone(raw: str | None) -> str:
    timezone = (raw or "").strip()
    if not is_zone(timezone):
        raise FormError("errors.timezone", value=timezone)
    return timezone
