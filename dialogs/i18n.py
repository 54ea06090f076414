"""Every user-visible string, in French and English.

The engine's own strings are in `dialogs/locales/`; a ritual or a platform package brings its
own `locales/` directory (`fr.yml`, `en.yml`) and registers it with `add_locales`. The
catalogues are merged, and a key defined twice is an error, so each string has one home.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import yaml

from dialogs.times import zone_label

LANGUAGES = ("fr", "en")
LOCALES = Path(__file__).with_name("locales")
_DIRECTORIES: list[Path] = [LOCALES]


class DuplicateText(ValueError):
    """Two locale directories define the same key."""


def add_locales(directory: Path) -> None:
    """Merge `directory`'s `fr.yml` and `en.yml` into the catalogues (once per directory)."""
    directory = directory.resolve()
    if directory not in _DIRECTORIES:
        _DIRECTORIES.append(directory)
        catalogue.cache_clear()


def locale_files() -> list[Path]:
    """Every registered locale file, for the checks that read them all."""
    return [d / f"{language}.yml" for d in _DIRECTORIES for language in LANGUAGES]


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for directory in _DIRECTORIES:
        path = directory / f"{language}.yml"
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        for key, text in _flatten(data):
            if key in merged:
                raise DuplicateText(f"{key} is defined twice ({path})")
            merged[key] = text
    return merged


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
    count = params.get("n", params.get("count"))
    text = catalogue(language)[_counted(language, key, count)]
    if not params:
        return text
    return text.format(**{name: _shown(language, value) for name, value in params.items()})


def _shown(language: str, value: object) -> object:
    """A parameter as people of that language read it: a moment in words, a large number in
    groups of three digits (10 000 in French, 10,000 in English). Numbers under 10 000 (years
    among them) are left whole, as both languages allow."""
    if isinstance(value, dt.datetime):
        return moment(language, value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        grouped = f"{value:,}"
        return grouped.replace(",", "\u00a0") if language == "fr" else grouped
    return value


def _counted(language: str, key: str, count: object) -> str:
    """`key`, or its singular `key.one` or plural `key.other` form for the count (the `n` or
    `count` parameter): French takes the singular for 0 and 1 ("0 tension publiée"), English
    for 1 only."""
    words = catalogue(language)
    if key in words or not isinstance(count, int) or f"{key}.one" not in words:
        return key
    singular = count in (0, 1) if language == "fr" else count == 1
    return f"{key}.one" if singular else f"{key}.other"


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
        zone=zone_label(language, when),
    )


class Tr:
    """`t` bound to one language, handed around while building a reply."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)

    def __call__(self, key: str, **params: object) -> str:
        return t(self.language, key, **params)
