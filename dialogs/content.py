"""The content banks (check-in items, diagnostic, tension/success/reflexive prompts) as data.

The wording lives in YAML files under `dialogs/content/` so that coordinators and researchers can
edit it without touching code; this module loads those files, validates them strictly and exposes
them as immutable dataclasses. Validation fails loudly at load time (naming file, item and
problem) rather than letting a typo surface mid-conversation in a chat.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

DIMENSIONS: tuple[str, ...] = ("vision", "roles", "relation", "power")
KINDS: tuple[str, ...] = ("likert", "open")
# The six conditions of effective partnership action (002:380-391), in display order.
CONDITIONS: tuple[str, ...] = (
    "inclusion",
    "early_participation",
    "influence",
    "key_actors",
    "power_balance",
    "co_construction",
)
# Tension classification (004:33-49); ids and order are part of the contract with other code.
TENSION_THEMES: tuple[str, ...] = (
    "funding",
    "decisions",
    "roles",
    "communication",
    "recognition",
    "workload",
    "confidentiality",
    "other",
)

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

# "001:1248-1252" or "002:382": three-digit seed file number, then a line or a line range.
SOURCE_PATTERN = re.compile(r"^(\d{3}):(\d+)(?:-(\d+))?$")
# Ids travel in button payloads and answer records, so keep them to a safe alphabet.
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
_CONCEPT_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

_PACKAGED_DIR = Path(__file__).resolve().parent / "content"


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


# --- Validation helpers ---------------------------------------------------------------------
# Each raw entry is checked against an explicit field list so that a typo in a key ("souces")
# is reported instead of being silently ignored.


@dataclass(frozen=True)
class _Entry:
    """A raw YAML mapping plus where it came from, for error messages."""

    file: str
    label: str  # e.g. "item V3" or "theme funding"
    data: Mapping[str, Any]

    def error(self, problem: str) -> ContentError:
        return ContentError(f"{self.file}: {self.label}: {problem}")

    def text(self, key: str) -> str:
        if key not in self.data:
            raise self.error(f"missing {key!r}")
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key!r} must be a non-empty string")
        return value.strip()

    def choice(self, key: str, allowed: Sequence[str]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise self.error(f"{key} {value!r} is not one of {', '.join(allowed)}")
        return value

    def local(self, fr_key: str = "fr", en_key: str = "en") -> LocalText:
        return LocalText(fr=self.text(fr_key), en=self.text(en_key))

    def sources(self) -> tuple[str, ...]:
        value = self.data.get("sources")
        if not isinstance(value, list) or not value:
            raise self.error("'sources' must be a non-empty list of seed references")
        return tuple(self._source(ref) for ref in value)

    def _source(self, ref: object) -> str:
        match = SOURCE_PATTERN.match(ref) if isinstance(ref, str) else None
        if match is None:
            raise self.error(f"bad source {ref!r} (expected 'NNN:line' or 'NNN:start-end')")
        start, end = int(match[2]), int(match[3] or match[2])
        if not 1 <= start <= end:
            raise self.error(f"bad source {ref!r} (line range must be ascending, from 1)")
        return str(ref)

    def check_fields(self, allowed: Iterable[str]) -> None:
        unexpected = sorted(set(self.data) - set(allowed))
        if unexpected:
            raise self.error(f"unexpected field(s) {', '.join(map(repr, unexpected))}")


def _read_document(directory: Path, name: str) -> Mapping[str, Any]:
    path = directory / name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ContentError(f"{name}: file not found in {directory}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{name}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ContentError(f"{name}: expected a mapping at the top level")
    return raw


def _entries(document: Mapping[str, Any], file: str, key: str, kind: str) -> list[_Entry]:
    """The list under `key`, each element wrapped with its id for error messages."""
    raw = document.get(key)
    if not isinstance(raw, list) or not raw:
        raise ContentError(f"{file}: {key!r} must be a non-empty list")
    entries = []
    for position, data in enumerate(raw, start=1):
        if not isinstance(data, dict):
            raise ContentError(f"{file}: {kind} #{position}: expected a mapping (id, fr, en, ...)")
        entry_id = _Entry(file, f"{kind} #{position}", data).text("id")
        if not _ID_PATTERN.match(entry_id):
            raise ContentError(
                f"{file}: {kind} #{position}: id {entry_id!r} may only hold letters, digits, '_'"
            )
        entries.append(_Entry(file, f"{kind} {entry_id}", data))
    return entries


def _check_top_level(document: Mapping[str, Any], file: str, allowed: Iterable[str]) -> None:
    unexpected = sorted(set(document) - set(allowed))
    if unexpected:
        raise ContentError(
            f"{file}: unexpected top-level key(s) {', '.join(map(repr, unexpected))}"
        )


def _fixed_labels(
    document: Mapping[str, Any], file: str, key: str, expected: tuple[str, ...]
) -> tuple[Theme, ...]:
    """Conditions or themes: code depends on their exact ids and order."""
    kind = key.rstrip("s")
    themes = []
    for entry in _entries(document, file, key, kind):
        entry.check_fields(("id", "fr", "en", "sources"))
        entry.sources()  # validated for traceability, not kept at runtime
        themes.append(Theme(id=entry.text("id"), label=entry.local()))
    ids = tuple(theme.id for theme in themes)
    if ids != expected:
        raise ContentError(
            f"{file}: {key} must be exactly {list(expected)} in order, got {list(ids)}"
        )
    return tuple(themes)


def _load_checkin(directory: Path) -> tuple[CheckinItem, ...]:
    document = _read_document(directory, CHECKIN_FILE)
    _check_top_level(document, CHECKIN_FILE, ("items",))
    items = []
    for entry in _entries(document, CHECKIN_FILE, "items", "item"):
        entry.check_fields(("id", "dimension", "kind", "fr", "en", "sources"))
        items.append(
            CheckinItem(
                id=entry.text("id"),
                dimension=entry.choice("dimension", DIMENSIONS),
                kind=entry.choice("kind", KINDS),
                text=entry.local(),
                sources=entry.sources(),
            )
        )
    return tuple(items)


def _load_diagnostic(directory: Path) -> tuple[tuple[DiagnosticItem, ...], tuple[Theme, ...]]:
    document = _read_document(directory, DIAGNOSTIC_FILE)
    _check_top_level(document, DIAGNOSTIC_FILE, ("conditions", "items"))
    conditions = _fixed_labels(document, DIAGNOSTIC_FILE, "conditions", CONDITIONS)
    items = []
    for entry in _entries(document, DIAGNOSTIC_FILE, "items", "item"):
        entry.check_fields(("id", "condition", "fr", "en", "sources"))
        items.append(
            DiagnosticItem(
                id=entry.text("id"),
                condition=entry.choice("condition", CONDITIONS),
                text=entry.local(),
                sources=entry.sources(),
            )
        )
    return tuple(items), conditions


def _prompts(document: Mapping[str, Any], file: str, *, with_concept: bool) -> tuple[Prompt, ...]:
    fields: tuple[str, ...] = ("id", "fr", "en", "sources")
    if with_concept:
        fields += ("concept", "concept_fr", "concept_en")
    prompts = []
    for entry in _entries(document, file, "items", "prompt"):
        entry.check_fields(fields)
        prompts.append(
            Prompt(
                id=entry.text("id"),
                text=entry.local(),
                sources=entry.sources(),
                concept=_concept(entry) if with_concept else None,
                concept_label=entry.local("concept_fr", "concept_en") if with_concept else None,
            )
        )
    return tuple(prompts)


def _concept(entry: _Entry) -> str:
    concept = entry.text("concept")
    if not _CONCEPT_PATTERN.match(concept):
        raise entry.error(f"concept {concept!r} must be a snake_case id")
    return concept


def _load_tension(directory: Path) -> tuple[tuple[Prompt, ...], tuple[Theme, ...]]:
    document = _read_document(directory, TENSION_FILE)
    _check_top_level(document, TENSION_FILE, ("themes", "items"))
    themes = _fixed_labels(document, TENSION_FILE, "themes", TENSION_THEMES)
    return _prompts(document, TENSION_FILE, with_concept=False), themes


def _load_prompts(directory: Path, file: str, *, with_concept: bool) -> tuple[Prompt, ...]:
    document = _read_document(directory, file)
    _check_top_level(document, file, ("items",))
    return _prompts(document, file, with_concept=with_concept)


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


def load_bank(directory: Path | None = None) -> ContentBank:
    """Load and validate the five content files from `directory` (default: the packaged ones)."""
    folder = _PACKAGED_DIR if directory is None else Path(directory)
    diagnostic_items, conditions = _load_diagnostic(folder)
    tension_prompts, tension_themes = _load_tension(folder)
    bank = ContentBank(
        checkin_items=_load_checkin(folder),
        diagnostic_items=diagnostic_items,
        conditions=conditions,
        tension_prompts=tension_prompts,
        tension_themes=tension_themes,
        success_prompts=_load_prompts(folder, SUCCESS_FILE, with_concept=False),
        reflexive_prompts=_load_prompts(folder, REFLEXIVE_FILE, with_concept=True),
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
