"""The content banks (check-in items, diagnostic, tension/success/reflexive prompts) as data.

The wording lives in YAML files in each ritual's `content/` (`dialogs/checkins/content/`...) so
that coordinators and researchers can edit it without touching code; this module loads those
files, validates them against the models in `dialogs.content_schema` and exposes them as
immutable dataclasses. Validation fails loudly at load time (naming file, item and problem)
rather than letting a typo surface mid-conversation in a chat.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, get_args

import yaml
from pydantic import ValidationError

from dialogs.content_schema import (
    CheckinFile,
    Condition,
    ContentFile,
    DiagnosticFile,
    Dimension,
    Entry,
    Kind,
    PromptFile,
    ReflexiveFile,
    TensionFile,
    TensionTheme,
    problems,
)

# The allowed values, in order; the schema's Literal types are their single source.
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
KINDS: tuple[str, ...] = get_args(Kind)
CONDITIONS: tuple[str, ...] = get_args(Condition)
TENSION_THEMES: tuple[str, ...] = get_args(TensionTheme)

CHECKIN_FILE = "checkin_items.yml"
DIAGNOSTIC_FILE = "diagnostic_items.yml"
TENSION_FILE = "tension_prompts.yml"
SUCCESS_FILE = "success_prompts.yml"
REFLEXIVE_FILE = "reflexive_prompts.yml"
CONTENT_FILES: tuple[str, ...] = (
    CHECKIN_FILE,
    DIAGNOSTIC_FILE,
    TENSION_FILE,
    SUCCESS_FILE,
    REFLEXIVE_FILE,
)

# Where the packaged files live: each ritual's own `content/` (dialogs/<ritual>/content/); a
# bank gathers its files from several directories, each file found in exactly one.
PACKAGED_DIRS: tuple[Path, ...] = tuple(
    sorted(path for path in Path(__file__).resolve().parent.glob("*/content") if path.is_dir())
)


class ContentError(ValueError):
    """A content file is missing, malformed or inconsistent; the message says where and why."""


@dataclass(frozen=True)
class LocalText:
    fr: str
    en: str

    def get(self, language: str) -> str:
        """Text in `language` ("fr" or "en"); French is the default for anything else."""
        return self.en if language == "en" else self.fr


@dataclass(frozen=True)
class CheckinItem:
    id: str
    dimension: str
    kind: str  # "likert" | "open"
    text: LocalText
    sources: tuple[str, ...]


@dataclass(frozen=True)
class DiagnosticItem:
    id: str
    condition: str
    text: LocalText
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Prompt:
    id: str
    text: LocalText
    sources: tuple[str, ...]
    concept: str | None = None
    concept_label: LocalText | None = None


@dataclass(frozen=True)
class Theme:
    id: str
    label: LocalText


_T = TypeVar("_T", CheckinItem, DiagnosticItem, Prompt, Theme)


def _find(entries: Iterable[_T], entry_id: str, what: str) -> _T:
    for entry in entries:
        if entry.id == entry_id:
            return entry
    raise KeyError(f"unknown {what} id {entry_id!r}")


@dataclass(frozen=True)
class ContentBank:
    checkin_items: tuple[CheckinItem, ...]
    diagnostic_items: tuple[DiagnosticItem, ...]
    conditions: tuple[Theme, ...]
    tension_prompts: tuple[Prompt, ...]
    tension_themes: tuple[Theme, ...]
    success_prompts: tuple[Prompt, ...]
    reflexive_prompts: tuple[Prompt, ...]

    def checkin_item(self, item_id: str) -> CheckinItem:
        return _find(self.checkin_items, item_id, "check-in item")

    def likert_items(self, dimension: str) -> tuple[CheckinItem, ...]:
        return tuple(
            item
            for item in self.checkin_items
            if item.dimension == dimension and item.kind == "likert"
        )

    def open_items(self) -> tuple[CheckinItem, ...]:
        return tuple(item for item in self.checkin_items if item.kind == "open")

    def diagnostic_item(self, item_id: str) -> DiagnosticItem:
        return _find(self.diagnostic_items, item_id, "diagnostic item")

    def any_item_text(self, item_id: str) -> LocalText:
        """Text of a check-in or diagnostic item (answers reference either kind)."""
        return self._any_item(item_id).text

    def dimension_of(self, item_id: str) -> str:
        """Dimension of a check-in item, or "diagnostic:<condition>" for a diagnostic item."""
        item = self._any_item(item_id)
        if isinstance(item, CheckinItem):
            return item.dimension
        return f"diagnostic:{item.condition}"

    def reflexive_prompt(self, prompt_id: str) -> Prompt:
        return _find(self.reflexive_prompts, prompt_id, "reflexive prompt")

    def tension_prompt(self, prompt_id: str) -> Prompt:
        return _find(self.tension_prompts, prompt_id, "tension prompt")

    def success_prompt(self, prompt_id: str) -> Prompt:
        return _find(self.success_prompts, prompt_id, "success prompt")

    def theme(self, theme_id: str) -> Theme:
        """A tension theme (see TENSION_THEMES)."""
        return _find(self.tension_themes, theme_id, "tension theme")

    def condition(self, condition_id: str) -> Theme:
        """A diagnostic condition with its label (see CONDITIONS)."""
        return _find(self.conditions, condition_id, "condition")

    def _any_item(self, item_id: str) -> CheckinItem | DiagnosticItem:
        items: tuple[CheckinItem | DiagnosticItem, ...] = (
            *self.checkin_items,
            *self.diagnostic_items,
        )
        for item in items:
            if item.id == item_id:
                return item
        raise KeyError(f"unknown check-in or diagnostic item id {item_id!r}")


# --- Loading ----------------------------------------------------------------------------------

_File = TypeVar("_File", bound=ContentFile)


def _locate(directories: Sequence[Path]) -> dict[str, Path]:
    """Each content file's path: found in exactly one of `directories`."""
    paths = {}
    for name in CONTENT_FILES:
        found = [directory / name for directory in directories if (directory / name).is_file()]
        if not found:
            where = ", ".join(map(str, directories))
            raise ContentError(f"{name}: file not found in {where}")
        if len(found) > 1:
            raise ContentError(
                f"{name}: found in several directories: {', '.join(map(str, found))}"
            )
        paths[name] = found[0]
    return paths


def _parse(path: Path, model: type[_File]) -> _File:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: invalid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ContentError("\n".join(problems(path.name, model, raw, exc))) from None


def _text(entry: Entry) -> LocalText:
    return LocalText(fr=entry.fr, en=entry.en)


def _themes(entries: Iterable[Entry]) -> tuple[Theme, ...]:
    return tuple(Theme(id=entry.id, label=_text(entry)) for entry in entries)


def _prompts(entries: Iterable[Entry]) -> tuple[Prompt, ...]:
    return tuple(Prompt(entry.id, _text(entry), tuple(entry.sources)) for entry in entries)


def _check_unique_ids(
    groups: Mapping[str, Sequence[CheckinItem | DiagnosticItem | Prompt]],
) -> None:
    """Ids are unique across all files: answers and payloads carry a bare id."""
    seen: dict[str, str] = {}
    for file, entries in groups.items():
        for entry in entries:
            if entry.id in seen:
                raise ContentError(
                    f"{file}: item {entry.id}: duplicate id (already used in {seen[entry.id]})"
                )
            seen[entry.id] = file


def load_bank(directories: str | os.PathLike[str] | Iterable[Path] | None = None) -> ContentBank:
    """Load and validate the five content files, each found in one of `directories` (a directory
    or several; default: the packaged ones)."""
    if directories is None:
        folders: tuple[Path, ...] = PACKAGED_DIRS
    elif isinstance(directories, str | os.PathLike):
        folders = (Path(directories),)
    else:
        folders = tuple(Path(directory) for directory in directories)
    paths = _locate(folders)
    checkin = _parse(paths[CHECKIN_FILE], CheckinFile)
    diagnostic = _parse(paths[DIAGNOSTIC_FILE], DiagnosticFile)
    tension = _parse(paths[TENSION_FILE], TensionFile)
    success = _parse(paths[SUCCESS_FILE], PromptFile)
    reflexive = _parse(paths[REFLEXIVE_FILE], ReflexiveFile)
    bank = ContentBank(
        checkin_items=tuple(
            CheckinItem(item.id, item.dimension, item.kind, _text(item), tuple(item.sources))
            for item in checkin.items
        ),
        diagnostic_items=tuple(
            DiagnosticItem(item.id, item.condition, _text(item), tuple(item.sources))
            for item in diagnostic.items
        ),
        conditions=_themes(diagnostic.conditions),
        tension_prompts=_prompts(tension.items),
        tension_themes=_themes(tension.themes),
        success_prompts=_prompts(success.items),
        reflexive_prompts=tuple(
            Prompt(
                prompt.id,
                _text(prompt),
                tuple(prompt.sources),
                concept=prompt.concept,
                concept_label=LocalText(fr=prompt.concept_fr, en=prompt.concept_en),
            )
            for prompt in reflexive.items
        ),
    )
    _check_unique_ids(
        {
            CHECKIN_FILE: bank.checkin_items,
            DIAGNOSTIC_FILE: bank.diagnostic_items,
            TENSION_FILE: bank.tension_prompts,
            SUCCESS_FILE: bank.success_prompts,
            REFLEXIVE_FILE: bank.reflexive_prompts,
        }
    )
    return bank


@functools.cache
def default_bank() -> ContentBank:
    """The packaged bank, loaded and validated once per process."""
    return load_bank()
