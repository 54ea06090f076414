"""Every user-visible string exists in French and English, with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import adapters.sandbox
import adapters.slack
import adapters.teams
from dialogs.i18n import catalogue, locale_files, moment, t
from dialogs.rituals import PACKAGES, registry

ROOT = Path(__file__).resolve().parents[1]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_each_platform_brings_its_own_strings() -> None:
    """A platform's strings live in its package (registered on import), not in the engine's."""
    platforms = {"slack": adapters.slack, "msteams": adapters.teams, "sandbox": adapters.sandbox}
    for section, package in platforms.items():
        assert package.__file__ is not None
        directory = Path(package.__file__).with_name("locales")
        assert directory / "fr.yml" in locale_files()
        assert any(key.startswith(f"{section}.") for key in catalogue("en")), section
    for language in ("fr", "en"):
        engine = (ROOT / "dialogs" / "locales" / f"{language}.yml").read_text(encoding="utf-8")
        assert not any(f"\n{section}:" in engine for section in platforms), language


def test_each_ritual_brings_its_own_strings() -> None:
    """A ritual's strings live in its package: every ritual's directory is registered, and
    each command's help line is in its ritual's own files, not the engine's."""
    engine = (ROOT / "dialogs" / "locales" / "en.yml").read_text(encoding="utf-8")
    for ritual, name in zip(registry().rituals, PACKAGES, strict=True):
        directory = ROOT / name.replace(".", "/") / "locales"
        assert directory.resolve() / "fr.yml" in locale_files(), ritual.name
        own = (directory / "en.yml").read_text(encoding="utf-8")
        for entry in ritual.entries:
            assert f"\n    {entry.key}:" in own and f"\n    {entry.key}:" not in engine


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    fr, en = catalogue("fr"), catalogue("en")
    assert set(fr) == set(en)
    for key in fr:
        assert placeholders(fr[key]) == placeholders(en[key]), key
        assert fr[key].strip() and en[key].strip(), key


def test_every_literal_key_used_in_code_exists() -> None:
    """Literal keys passed to tr(...)/t(...) anywhere in the package exist in the catalogue."""
    known = set(catalogue("fr"))
    missing = []
    for path in [
        *ROOT.glob("dialogs/**/*.py"),
        *ROOT.glob("adapters/**/*.py"),
        *ROOT.glob("bot/*.py"),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                first = (
                    node.args[0]
                    if name == "tr"
                    else (node.args[1] if name == "t" and len(node.args) > 1 else None)
                )
                literal = first.value if isinstance(first, ast.Constant) else None
                if (
                    isinstance(literal, str)
                    and re.fullmatch(r"[a-z_]+(\.[a-z_0-9-]+)+", literal)
                    and literal not in known
                    and f"{literal}.one" not in known  # a count picks .one or .other
                ):
                    missing.append(f"{path.name}: {literal}")
    assert not missing


def test_dates_read_naturally_in_each_language() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    when = dt.datetime(2026, 11, 26, 15, 0, tzinfo=ZoneInfo("America/Toronto"))
    assert moment("fr", when) == "jeudi 26 novembre 2026 à 15\u00a0h\u00a000 (HNE)"
    assert moment("en", when) == "Thursday 26 November 2026 at 15:00 (EST)"
    assert t("en-CA", "common.yes") == "Yes" and t("xx", "common.yes") == "Oui"


# Québec typography (OQLF): a non-breaking space before « : ; ! ? » and inside « », so a line
# never starts with a colon or ends with an opening guillemet; real singular and plural forms;
# epicene wording rather than points médians; the typographic apostrophe in prose.
FRENCH_RULES = {
    "breakable space before : ; ! ? » or after «": re.compile(r" [:;!?»]|« "),
    "no space before ; ! ?": re.compile(r"(?<=[\w)\]}»’.…])[;!?](?=[\s\"]|$)"),
    "an '(s)' plural": re.compile(r"\((e?s|e|x)\)"),
    "a point médian": re.compile(r"\w·\w"),
    "a straight apostrophe": re.compile(r"'"),
}


def _french_texts() -> dict[str, str]:
    """Every French string people read: the catalogue, the question and prompt banks, and the
    Teams package's French."""
    texts = dict(catalogue("fr"))
    for path in ROOT.glob("dialogs/*/content/*.yml"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("fr:"):
                texts[f"{path.name}:{number}"] = line.split(":", 1)[1].strip().strip('"')
    package = ROOT / "adapters/teams/package.py"
    for number, line in enumerate(package.read_text(encoding="utf-8").splitlines(), 1):
        literal = line.strip().startswith(('"', "'"))
        if literal and ("«" in line or re.search(r"[éèàç]", line)):
            texts[f"package.py:{number}"] = line
    return texts


@pytest.mark.parametrize("rule", list(FRENCH_RULES))
def test_french_follows_quebec_typography(rule: str) -> None:
    broken = {
        where: text for where, text in _french_texts().items() if FRENCH_RULES[rule].search(text)
    }
    assert not broken


def test_english_writes_real_plurals() -> None:
    broken = {key: text for key, text in catalogue("en").items() if re.search(r"\((e?s)\)", text)}
    assert not broken


def test_large_numbers_are_grouped_as_each_language_writes_them() -> None:
    assert "10\u00a0000 caractères" in t("fr", "errors.too_long", length=10000, limit=4000)
    assert "10,000" in t("en", "errors.too_long", length=10000, limit=4000)
    assert "4000" in t("fr", "errors.too_long", length=10000, limit=4000)  # under 10 000: whole


def test_a_count_picks_the_singular_or_the_plural() -> None:
    assert t("fr", "schedule.every_weeks", n=1) == "chaque semaine"
    assert t("fr", "schedule.every_weeks", n=3) == "toutes les 3\u00a0semaines"
    assert t("en", "schedule.every_weeks", n=1) == "every week"
    assert t("en", "schedule.every_weeks", n=3) == "every 3 weeks"
