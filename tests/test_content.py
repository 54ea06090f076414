"""Content banks: the packaged YAML is complete and traceable; the loader rejects bad data."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogs.content import (
    CONDITIONS,
    CONTENT_FILES,
    DIMENSIONS,
    PACKAGED_DIRS,
    TENSION_THEMES,
    ContentBank,
    ContentError,
    LocalText,
    default_bank,
    load_bank,
)
from dialogs.content_schema import SOURCE_PATTERN

DIALOGS = Path(__file__).resolve().parents[1] / "dialogs"


def packaged(name: str) -> Path:
    """Where a content file lives: the content/ of the ritual that uses it."""
    [path] = DIALOGS.glob(f"*/content/{name}")
    return path


SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
# About 20 seconds of reading per item keeps a 5-item check-in under 2 minutes.
MAX_CHECKIN_CHARS = 120


@pytest.fixture(scope="module")
def bank() -> ContentBank:
    return default_bank()


# --- The packaged bank ------------------------------------------------------------------------


def test_packaged_bank_loads_and_is_cached(bank: ContentBank) -> None:
    assert default_bank() is bank
    assert load_bank(PACKAGED_DIRS) == bank
    # Each ritual holds its own files: check-in and diagnostic items with the check-ins...
    assert packaged("checkin_items.yml").parent.parent.name == "checkins"
    assert packaged("tension_prompts.yml").parent.parent.name == "tensions"


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_each_dimension_has_five_likert_and_one_open_item(
    bank: ContentBank, dimension: str
) -> None:
    assert len(bank.likert_items(dimension)) >= 5
    assert any(item.dimension == dimension for item in bank.open_items())


def test_checkin_items_are_short(bank: ContentBank) -> None:
    too_long = [
        (item.id, language)
        for item in bank.checkin_items
        for language in ("fr", "en")
        if len(item.text.get(language)) > MAX_CHECKIN_CHARS
    ]
    assert too_long == []


def test_six_conditions_with_two_items_each(bank: ContentBank) -> None:
    assert tuple(condition.id for condition in bank.conditions) == CONDITIONS
    assert len(CONDITIONS) == 6
    for number, condition in enumerate(CONDITIONS, start=1):
        ids = [item.id for item in bank.diagnostic_items if item.condition == condition]
        assert ids == [f"C{number}a", f"C{number}b"]


def test_tension_themes_are_exactly_the_eight_ids_in_order(bank: ContentBank) -> None:
    expected = (
        "funding",
        "decisions",
        "roles",
        "communication",
        "recognition",
        "workload",
        "confidentiality",
        "other",
    )
    assert expected == TENSION_THEMES
    assert tuple(theme.id for theme in bank.tension_themes) == expected
    assert bank.theme("funding").label == LocalText(fr="Financement", en="Funding")


def test_prompt_banks_are_not_empty(bank: ContentBank) -> None:
    assert bank.tension_prompts and bank.success_prompts and bank.reflexive_prompts
    for prompt in bank.reflexive_prompts:
        assert prompt.concept and re.fullmatch(r"[a-z][a-z0-9_]*", prompt.concept)
        assert prompt.concept_label is not None
    for prompt in (*bank.tension_prompts, *bank.success_prompts):
        assert prompt.concept is None and prompt.concept_label is None


def _all_texts(bank: ContentBank) -> Iterator[tuple[str, LocalText]]:
    for item in bank.checkin_items:
        yield item.id, item.text
    for diagnostic in bank.diagnostic_items:
        yield diagnostic.id, diagnostic.text
    for prompt in (*bank.tension_prompts, *bank.success_prompts, *bank.reflexive_prompts):
        yield prompt.id, prompt.text
        if prompt.concept_label is not None:
            yield f"{prompt.id} concept", prompt.concept_label
    for theme in (*bank.conditions, *bank.tension_themes):
        yield theme.id, theme.label


def test_every_text_is_bilingual_and_french_differs_from_english(bank: ContentBank) -> None:
    for label, text in _all_texts(bank):
        assert text.fr.strip() and text.en.strip(), label
        assert text.fr != text.en, f"{label}: French and English are identical"


def test_local_text_falls_back_to_french() -> None:
    text = LocalText(fr="Bonjour", en="Hello")
    assert (text.get("fr"), text.get("en"), text.get("de"), text.get("")) == (
        "Bonjour",
        "Hello",
        "Bonjour",
        "Bonjour",
    )


def test_lookups_across_item_kinds(bank: ContentBank) -> None:
    assert bank.checkin_item("V1").dimension == "vision"
    assert bank.dimension_of("P1") == "power"
    assert bank.dimension_of("C3b") == "diagnostic:influence"
    assert bank.any_item_text("C1a") == bank.diagnostic_item("C1a").text
    assert bank.any_item_text("R5") == bank.checkin_item("R5").text
    assert bank.tension_prompt("T1").id == "T1"
    assert bank.success_prompt("S1").id == "S1"
    assert bank.reflexive_prompt("X1").concept == "controversy"
    assert all(item.kind == "likert" for item in bank.likert_items("roles"))


@pytest.mark.parametrize(
    "lookup",
    [
        "checkin_item",
        "diagnostic_item",
        "any_item_text",
        "dimension_of",
        "reflexive_prompt",
        "tension_prompt",
        "success_prompt",
        "theme",
    ],
)
def test_unknown_id_lookup_raises_key_error(bank: ContentBank, lookup: str) -> None:
    with pytest.raises(KeyError, match="NOPE"):
        getattr(bank, lookup)("NOPE")


def _sources_in(node: Any) -> Iterator[str]:
    """Every `sources` entry anywhere in a raw YAML document (items, themes, conditions)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sources":
                yield from value
            else:
                yield from _sources_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sources_in(value)


def _seed_line_counts() -> dict[str, int]:
    counts = {}
    for path in SEEDS_DIR.glob("[0-9][0-9][0-9]_*.txt"):
        text = path.read_text(encoding="utf-8", errors="replace")
        # Count "\n"-separated lines as sed/editors number them (a last line may lack "\n").
        counts[path.name[:3]] = text.count("\n") + (0 if text.endswith("\n") else 1)
    return counts


def test_every_source_points_at_existing_seed_lines() -> None:
    if not SEEDS_DIR.is_dir():
        pytest.skip(f"seed documents not found at {SEEDS_DIR}; cannot check line references")
    line_counts = _seed_line_counts()
    problems = []
    checked = 0
    for name in CONTENT_FILES:
        document = yaml.safe_load(packaged(name).read_text(encoding="utf-8"))
        for ref in _sources_in(document):
            match = SOURCE_PATTERN.match(ref)
            assert match is not None, f"{name}: bad source {ref!r}"
            seed, start, end = match[1], int(match[2]), int(match[3] or match[2])
            if seed not in line_counts:
                problems.append(f"{name}: {ref}: no seed file {seed}_*.txt")
            elif not 1 <= start <= end <= line_counts[seed]:
                problems.append(f"{name}: {ref}: seed {seed} has {line_counts[seed]} lines")
            checked += 1
    assert checked > 0
    assert problems == []


# --- Loader validation, on a small valid set written to tmp_path -------------------------------


def _minimal_documents() -> dict[str, dict[str, Any]]:
    """A smallest valid set of the five files; each error test breaks exactly one thing."""

    def entry(entry_id: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": entry_id,
            **fields,
            "fr": f"{entry_id} fr",
            "en": f"{entry_id} en",
            "sources": ["001:1-2"],
        }

    return {
        "checkin_items.yml": {
            "items": [
                entry("V1", dimension="vision", kind="likert"),
                entry("V2", dimension="vision", kind="open"),
            ]
        },
        "diagnostic_items.yml": {
            "conditions": [entry(condition) for condition in CONDITIONS],
            "items": [entry("C1a", condition="inclusion")],
        },
        "tension_prompts.yml": {
            "themes": [entry(theme) for theme in TENSION_THEMES],
            "items": [entry("T1")],
        },
        "success_prompts.yml": {"items": [entry("S1")]},
        "reflexive_prompts.yml": {
            "items": [
                entry(
                    "X1", concept="controversy", concept_fr="Controverse", concept_en="Controversy"
                )
            ]
        },
    }


def _write(directory: Path, documents: dict[str, dict[str, Any]]) -> Path:
    for name, document in documents.items():
        (directory / name).write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    return directory


@pytest.fixture
def documents() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(_minimal_documents())


def test_minimal_set_loads(tmp_path: Path, documents: dict[str, dict[str, Any]]) -> None:
    bank = load_bank(_write(tmp_path, documents))
    assert [item.id for item in bank.checkin_items] == ["V1", "V2"]
    assert bank.reflexive_prompt("X1").concept_label == LocalText("Controverse", "Controversy")


def _first_checkin(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    item: dict[str, Any] = documents["checkin_items.yml"]["items"][0]
    return item


def _expect_error(tmp_path: Path, documents: dict[str, dict[str, Any]], message: str) -> None:
    with pytest.raises(ContentError, match=re.escape(message)):
        load_bank(_write(tmp_path, documents))


def test_missing_english_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    del _first_checkin(documents)["en"]
    _expect_error(tmp_path, documents, "checkin_items.yml: item V1: missing 'en'")


def test_empty_french_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    documents["success_prompts.yml"]["items"][0]["fr"] = "  "
    _expect_error(tmp_path, documents, "success_prompts.yml: prompt S1: 'fr' must be a non-empty")


def test_bad_dimension_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    _first_checkin(documents)["dimension"] = "budget"
    _expect_error(tmp_path, documents, "checkin_items.yml: item V1: dimension 'budget' is not")


def test_bad_kind_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    _first_checkin(documents)["kind"] = "slider"
    _expect_error(tmp_path, documents, "checkin_items.yml: item V1: kind 'slider' is not")


def test_bad_condition_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    documents["diagnostic_items.yml"]["items"][0]["condition"] = "trust"
    _expect_error(tmp_path, documents, "diagnostic_items.yml: item C1a: condition 'trust'")


def test_duplicate_id_across_files_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    documents["success_prompts.yml"]["items"][0]["id"] = "V1"
    _expect_error(
        tmp_path, documents, "success_prompts.yml: item V1: duplicate id (already used in"
    )


def test_duplicate_id_within_a_file_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    documents["checkin_items.yml"]["items"][1]["id"] = "V1"
    _expect_error(tmp_path, documents, "checkin_items.yml: item V1: duplicate id")


@pytest.mark.parametrize("source", ["1:12", "001-12", "001:12-", "001:a", "001:0", "001:9-3"])
def test_bad_source_format_is_rejected(
    tmp_path: Path, documents: dict[str, Any], source: str
) -> None:
    _first_checkin(documents)["sources"] = [source]
    _expect_error(tmp_path, documents, f"checkin_items.yml: item V1: bad source {source!r}")


@pytest.mark.parametrize("sources", [[], "001:1", None])
def test_sources_must_be_a_non_empty_list(
    tmp_path: Path, documents: dict[str, Any], sources: Any
) -> None:
    _first_checkin(documents)["sources"] = sources
    _expect_error(tmp_path, documents, "checkin_items.yml: item V1: 'sources' must be")


def test_misspelt_field_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    _first_checkin(documents)["souces"] = ["001:1"]
    _expect_error(tmp_path, documents, "checkin_items.yml: item V1: unexpected field(s) 'souces'")


def test_themes_out_of_order_are_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    themes = documents["tension_prompts.yml"]["themes"]
    themes[0], themes[1] = themes[1], themes[0]
    _expect_error(tmp_path, documents, "tension_prompts.yml: themes must be exactly")


def test_reflexive_concept_must_be_snake_case(tmp_path: Path, documents: dict[str, Any]) -> None:
    documents["reflexive_prompts.yml"]["items"][0]["concept"] = "Power Relations"
    _expect_error(
        tmp_path, documents, "reflexive_prompts.yml: prompt X1: concept 'Power Relations'"
    )


def test_missing_file_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    del documents["success_prompts.yml"]
    _expect_error(tmp_path, documents, "success_prompts.yml: file not found")


def test_invalid_yaml_is_rejected(tmp_path: Path, documents: dict[str, Any]) -> None:
    _write(tmp_path, documents)
    (tmp_path / "checkin_items.yml").write_text("items: [\n  - id: V1\n", "utf-8")
    with pytest.raises(ContentError, match=r"^checkin_items\.yml: invalid YAML"):
        load_bank(tmp_path)


def test_every_problem_is_reported_at_once(tmp_path: Path, documents: dict[str, Any]) -> None:
    item = _first_checkin(documents)
    item["dimension"], item["xx"], item["yy"] = "budget", 1, 2
    del item["en"]
    with pytest.raises(ContentError) as error:
        load_bank(_write(tmp_path, documents))
    assert str(error.value).splitlines() == [
        "checkin_items.yml: item V1: missing 'en'",
        "checkin_items.yml: item V1: dimension 'budget' is not one of 'vision', 'roles', "
        "'relation' or 'power'",
        "checkin_items.yml: item V1: unexpected field(s) 'xx', 'yy'",
    ]


def test_shape_errors_name_the_file_and_entry(tmp_path: Path, documents: dict[str, Any]) -> None:
    documents["checkin_items.yml"]["items"].append("V3")
    _expect_error(tmp_path, documents, "checkin_items.yml: item #3: expected a mapping")
    documents["checkin_items.yml"] = {"items": documents["checkin_items.yml"]["items"][:2], "x": 1}
    _expect_error(tmp_path, documents, "checkin_items.yml: unexpected top-level key(s) 'x'")
    documents["checkin_items.yml"] = ["V1"]
    _expect_error(tmp_path, documents, "checkin_items.yml: expected a mapping at the top level")


def test_bank_gathers_its_files_from_several_directories(
    tmp_path: Path, documents: dict[str, Any]
) -> None:
    first, second = tmp_path / "checkins", tmp_path / "prompts"
    first.mkdir()
    second.mkdir()
    _write(first, {name: documents.pop(name) for name in ("checkin_items.yml",)})
    _write(second, documents)
    assert load_bank([first, second]) == load_bank([second, first])
    assert load_bank([first, second]).checkin_item("V2").kind == "open"
    _write(second, {"checkin_items.yml": _minimal_documents()["checkin_items.yml"]})
    with pytest.raises(ContentError, match=r"^checkin_items\.yml: found in several directories"):
        load_bank([first, second])
