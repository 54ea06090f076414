"""The shape of the content files (`dialogs/*/content/*.yml`) as pydantic models.

The models are strict (a text is a string, never a number; no unknown key, so that a typo such
as "souces" is reported instead of ignored) and `problems` turns pydantic's errors into lines
naming the file and the entry, e.g. "checkin_items.yml: item V1: missing 'en'", so that whoever
edits the wording sees at once what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails, PydanticCustomError

Dimension = Literal["vision", "roles", "relation", "power"]
Kind = Literal["likert", "open"]  # likert: 1-5 agreement scale; open: a free-text answer
# The six conditions of effective partnership action (002:380-391), in display order.
Condition = Literal[
    "inclusion",
    "early_participation",
    "influence",
    "key_actors",
    "power_balance",
    "co_construction",
]
# Tension classification (004:33-49); ids and order are part of the contract with other code.
TensionTheme = Literal[
    "funding",
    "decisions",
    "roles",
    "communication",
    "recognition",
    "workload",
    "confidentiality",
    "other",
]

# "001:1248-1252" or "002:382": three-digit seed file number, then a line or a line range.
SOURCE_PATTERN = re.compile(r"^(\d{3}):(\d+)(?:-(\d+))?$")
# Ids travel in button payloads and answer records, so keep them to a safe alphabet.
ID_PATTERN = r"^[A-Za-z0-9_]+$"
CONCEPT_PATTERN = r"^[a-z][a-z0-9_]*$"
# What a pattern mismatch means, per field, in words an editor understands.
_PATTERN_PROBLEMS = {
    "id": "may only hold letters, digits, '_'",
    "concept": "must be a snake_case id",
}


def _seed_reference(ref: object) -> object:
    """A source is "NNN:line" or "NNN:start-end", lines counted from 1, the range ascending."""
    match = SOURCE_PATTERN.match(ref) if isinstance(ref, str) else None
    if match is None:
        raise PydanticCustomError(
            "bad_source", f"bad source {ref!r} (expected 'NNN:line' or 'NNN:start-end')"
        )
    start, end = int(match[2]), int(match[3] or match[2])
    if not 1 <= start <= end:
        raise PydanticCustomError(
            "bad_source", f"bad source {ref!r} (line range must be ascending, from 1)"
        )
    return ref


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
EntryId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=ID_PATTERN)]
ConceptId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=CONCEPT_PATTERN)
]
SeedReference = Annotated[str, BeforeValidator(_seed_reference)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Entry(_Strict):
    """What every entry carries: an id, its French and English texts, the seed lines behind it
    (checked for traceability; the bank does not keep them for themes and conditions)."""

    id: EntryId
    fr: Text
    en: Text
    sources: Annotated[list[SeedReference], Field(min_length=1)]


class CheckinEntry(Entry):
    dimension: Dimension
    kind: Kind


class DiagnosticEntry(Entry):
    condition: Condition


class ReflexiveEntry(Entry):
    concept: ConceptId
    concept_fr: Text
    concept_en: Text


def _exactly(expected: tuple[str, ...]) -> AfterValidator:
    """Conditions and themes: code depends on their exact ids and order."""

    def check(entries: list[Entry]) -> list[Entry]:
        ids = [entry.id for entry in entries]
        if ids != list(expected):
            raise PydanticCustomError(
                "fixed_ids", f"must be exactly {list(expected)} in order, got {ids}"
            )
        return entries

    return AfterValidator(check)


class ContentFile(_Strict):
    """A content file; `labels` names an entry of each list in error messages."""

    labels: ClassVar[dict[str, str]] = {}


class CheckinFile(ContentFile):
    labels: ClassVar[dict[str, str]] = {"items": "item"}
    items: Annotated[list[CheckinEntry], Field(min_length=1)]


class DiagnosticFile(ContentFile):
    labels: ClassVar[dict[str, str]] = {"conditions": "condition", "items": "item"}
    conditions: Annotated[list[Entry], Field(min_length=1), _exactly(get_args(Condition))]
    items: Annotated[list[DiagnosticEntry], Field(min_length=1)]


class TensionFile(ContentFile):
    labels: ClassVar[dict[str, str]] = {"themes": "theme", "items": "prompt"}
    themes: Annotated[list[Entry], Field(min_length=1), _exactly(get_args(TensionTheme))]
    items: Annotated[list[Entry], Field(min_length=1)]


class PromptFile(ContentFile):
    labels: ClassVar[dict[str, str]] = {"items": "prompt"}
    items: Annotated[list[Entry], Field(min_length=1)]


class ReflexiveFile(ContentFile):
    labels: ClassVar[dict[str, str]] = {"items": "prompt"}
    items: Annotated[list[ReflexiveEntry], Field(min_length=1)]


# --- Error messages ---------------------------------------------------------------------------


def problems(file: str, model: type[ContentFile], raw: object, error: ValidationError) -> list[str]:
    """One line per problem, "<file>: <entry>: <problem>", unknown keys grouped per entry."""
    lines: list[str] = []
    unexpected: dict[str, list[str]] = {}  # where -> unknown keys, reported on one line
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            where = f"{file}: {_entry_label(model, raw, loc[0], loc[1])}"
            rest = loc[2:]
        else:
            where, rest = file, loc
        if detail["type"] == "extra_forbidden" and len(rest) == 1:
            if where not in unexpected:
                unexpected[where] = []
                lines.append(where)  # placeholder, filled in below
            unexpected[where].append(repr(rest[0]))
            continue
        lines.append(f"{where}: {_problem(detail, rest, in_entry=where != file)}")
    for where, keys in unexpected.items():
        what = "field(s)" if where != file else "top-level key(s)"
        lines[lines.index(where)] = f"{where}: unexpected {what} {', '.join(keys)}"
    return lines


def _entry_label(model: type[ContentFile], raw: object, key: str, position: int) -> str:
    """ "item V3", or "item #3" while the entry has no usable id."""
    kind = model.labels.get(key, key)
    entries = raw.get(key) if isinstance(raw, dict) else None
    entry = entries[position] if isinstance(entries, list) and position < len(entries) else None
    entry_id = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(entry_id, str) and re.match(ID_PATTERN, entry_id.strip()):
        return f"{kind} {entry_id.strip()}"
    return f"{kind} #{position + 1}"


def _problem(detail: ErrorDetails, rest: Sequence[int | str], *, in_entry: bool) -> str:
    kind, value = detail["type"], detail["input"]
    field = str(rest[0]) if rest else ""
    if kind == "bad_source":  # the message names the reference
        return detail["msg"]
    if kind == "fixed_ids":
        return f"{field} {detail['msg']}"
    if kind == "missing":
        return f"missing {field!r}"
    if kind in ("model_type", "dict_type") and not rest:
        return (
            "expected a mapping (id, fr, en, ...)"
            if in_entry
            else "expected a mapping at the top level"
        )
    if kind in ("list_type", "too_short") and len(rest) == 1:
        if field == "sources":
            return "'sources' must be a non-empty list of seed references"
        return f"{field!r} must be a non-empty list"
    if kind in ("string_type", "string_too_short") and len(rest) == 1:
        return f"{field!r} must be a non-empty string"
    if kind == "string_pattern_mismatch" and field in _PATTERN_PROBLEMS:
        return f"{field} {value!r} {_PATTERN_PROBLEMS[field]}"
    if kind == "literal_error":
        return f"{field} {value!r} is not one of {detail.get('ctx', {}).get('expected')}"
    return f"{'.'.join(map(str, rest)) or 'document'}: {detail['msg']}"
