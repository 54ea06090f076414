"""Every user-visible string, in French and English, from `dialogs/locales/*.yml`."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("fr", "en")
LOCALES = Path(__file__).with_name("locales")


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    with (LOCALES / f"{language}.yml").open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return dict(_flatten(data))


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            pairs.extend(_flatten(value, f"{name}."))
        else:
            pairs.append((name, str(value)))
    return pairs


def language_of(value: str | None, fallback: str = "fr") -> str:
    """'fr' or 'en' from a stored preference or a platform locale such as 'en-US'."""
    if value:
        short = value.strip().lower()[:2]
        if short in LANGUAGES:
            return short
    return fallback


def t(language: str, key: str, **params: object) -> str:
    language = language_of(language)
    text = catalogue(language)[key]
    if not params:
        return text
    shown = {k: moment(language, v) if isinstance(v, dt.datetime) else v for k, v in params.items()}
    return text.format(**shown)


def moment(language: str, when: dt.datetime) -> str:
    """A date and time as people of that language write it, in `when`'s own zone."""
    words = catalogue(language)
    return words["common.moment"].format(
        weekday=words[f"weekday.{when.weekday()}"],
        day=when.day,
        month=words[f"month.{when.month}"],
        year=when.year,
        hour=when.hour,
        minute=f"{when.minute:02d}",
        zone=when.tzname() or "",
    )


class Tr:
    """`t` bound to one language, handed around while building a reply."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)

    def __call__(self, key: str, **params: object) -> str:
        return t(self.language, key, **params)
