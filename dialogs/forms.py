"""Small helpers shared by the handlers that read submitted forms."""

from __future__ import annotations

import datetime as dt
import re

from dialogs import zones
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


def whole_number(raw: str | None) -> int | None:
    """A whole number as a form sends it: digits from a number picker, or typed with spaces
    around or inside it ("1 000"); None when it is not one (a decimal such as "5.0" is not)."""
    text = (raw or "").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not re.fullmatch(r"[-+]?[0-9]{1,9}", text):
        return None
    return int(text)


def parse_int(raw: str | None, low: int, high: int, field: str) -> int:
    number = whole_number(raw)
    if number is None or not low <= number <= high:
        raise FormError("errors.number", field=field, low=low, high=high)
    return number


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("janvier", "january", "jan"),
            ("fevrier", "february", "feb", "fev"),
            ("mars", "march", "mar"),
            ("avril", "april", "apr", "avr"),
            ("mai", "may"),
            ("juin", "june", "jun"),
            ("juillet", "july", "jul", "juil"),
            ("aout", "august", "aug"),
            ("septembre", "september", "sep", "sept"),
            ("octobre", "october", "oct"),
            ("novembre", "november", "nov"),
            ("decembre", "december", "dec"),
        ),
        start=1,
    )
    for name in names
}


def _typed_date(text: str) -> dt.date | None:
    """A date as pickers send it (2026-12-03) or as people type it: "3 décembre 2026",
    "December 3, 2026", "1er mars 2027"."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    words = zones.plain_words(text).replace("1er", "1").split()
    day = month = year = None
    for word in words:
        if word in _MONTHS and month is None:
            month = _MONTHS[word]
        elif word.isdigit() and len(word) == 4 and year is None:
            year = int(word)
        elif word.isdigit() and len(word) <= 2 and day is None:
            day = int(word)
        elif word not in ("le", "the", "of", "de"):
            return None
    if day is None or month is None or year is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date(raw: str | None, field: str) -> dt.date | None:
    text = (raw or "").strip()
    if not text:
        return None
    day = _typed_date(text)
    if day is None:
        raise FormError("zones.bad_date", field=field)
    return day


_HALF = r"\s*(?P<half>[ap])\.?\s*m\.?"
# 13:30, 13h30, 13 h 30, 13 h, 1:30 PM, 13:30:00; or an hour with am/pm alone ("9 am").
_TIMES = (
    re.compile(
        r"(?P<hour>[0-9]{1,2})\s*(?:h|:)\s*(?P<minute>[0-9]{2})?(?::[0-9]{2})?(?:" + _HALF + ")?"
    ),
    re.compile(r"(?P<hour>[0-9]{1,2})(?P<minute>)" + _HALF),
)


def parse_time(raw: str | None, field: str) -> dt.time:
    """A time of day as pickers send it (13:30) or as people type it: "13h30", "13 h 30",
    "13 h", "1:30 PM", "9 am"."""
    text = (raw or "").strip().lower()
    match = next((m for m in (p.fullmatch(text) for p in _TIMES) if m is not None), None)
    if match is None:
        raise FormError("zones.bad_time", field=field)
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["half"]:
        if not 1 <= hour <= 12:
            raise FormError("zones.bad_time", field=field)
        hour = hour % 12 + (12 if match["half"] == "p" else 0)
    if hour > 23 or minute > 59:
        raise FormError("zones.bad_time", field=field)
    return dt.time(hour, minute)


def one_of(raw: str | None, allowed: tuple[str, ...], field: str) -> str:
    if raw not in allowed:
        raise FormError("errors.choice", field=field)
    return raw


def language_choice(tr: Tr, label: str, default: str | None) -> ChoiceInput:
    return choice(
        "language", label, [(lang, tr(f"language.{lang}")) for lang in LANGUAGES], default
    )


def timezone_input(tr: Tr, default: str) -> ChoiceInput:
    """The time zone, picked by city (`dialogs.zones`); its value is an IANA name."""
    return zones.zone_choice(tr, "timezone", tr("zones.label"), default)


def read_timezone(raw: str | None) -> str:
    """An IANA name from the menu, or a city typed in a console ("Montréal")."""
    timezone = zones.resolve(raw)
    if timezone is None:
        raise FormError("zones.unknown", value=(raw or "").strip())
    return timezone


def date_input(name: str, label: str, default: str, *, required: bool = True) -> TextInput:
    """A date picker where the platform has one, sending YYYY-MM-DD; `default` in that form."""
    return TextInput(
        name=name,
        label=label,
        max_length=40,
        multiline=False,
        required=required,
        default=default,
        picker="date",
    )


def time_input(name: str, label: str, default: str) -> TextInput:
    """A time picker where the platform has one, sending HH:MM (24 h)."""
    return TextInput(
        name=name,
        label=label,
        max_length=20,
        multiline=False,
        required=True,
        default=default,
        picker="time",
    )


def number_input(name: str, label: str, low: int, high: int, default: str) -> TextInput:
    """A whole number between `low` and `high`, with the platform's number field."""
    return TextInput(
        name=name,
        label=label,
        max_length=max(len(str(low)), len(str(high))) + 4,
        multiline=False,
        required=True,
        default=default,
        picker="number",
        low=low,
        high=high,
    )
