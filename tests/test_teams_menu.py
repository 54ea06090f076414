"""The Teams command menu (adapters/teams/menu.py) is built from the rituals' registry: a
command a ritual declares appears in the app package's menu, with its help line, without any
change to adapters/teams/package.py; Teams' limits are kept whatever the rituals bring.

This module is itself a ritual package for the first test (`RITUAL` below), registered the way
any ritual is: its name added to `dialogs.rituals.PACKAGES`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from adapters.teams import menu
from adapters.teams.package import english, manifest
from dialogs import i18n, rituals
from dialogs.cards import Card
from dialogs.commands import Command
from dialogs.registry import CommandSpec, Entry, Registry, Ritual
from dialogs.turn import Turn

APP_ID = "0b6c1f6e-3d2a-4c8e-9f7a-52e1d4b3a901"
BASE_URL = "https://passerelle.example.org"


async def _pulse(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    return []


RITUAL = Ritual(
    name="pulse",
    commands=(CommandSpec("pulse", ("pouls",), _pulse),),
    entries=(Entry("pulse", home="pulse"),),
)
STRINGS = {
    "fr": 'help:\n  cmd:\n    pulse: "pouls — la météo de l’équipe après une rencontre"\n',
    "en": 'help:\n  cmd:\n    pulse: "pulse — the team\'s weather after a meeting"\n',
}


@pytest.fixture
def strings(tmp_path: Path) -> Iterator[Path]:
    """A ritual's locales/ for the duration of a test (then taken out of the catalogues)."""
    for language, text in STRINGS.items():
        (tmp_path / f"{language}.yml").write_text(text, encoding="utf-8")
    i18n.add_locales(tmp_path)
    yield tmp_path
    i18n._DIRECTORIES.remove(tmp_path.resolve())  # no API to take locales out: tests only
    i18n.catalogue.cache_clear()


@pytest.fixture
def with_pulse(strings: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This module registered as one more ritual package (one line in dialogs.rituals)."""
    monkeypatch.setattr(rituals, "PACKAGES", (*rituals.PACKAGES, __name__))
    rituals.registry.cache_clear()
    yield
    monkeypatch.undo()
    rituals.registry.cache_clear()


def titles(data: dict[str, object], scope: int) -> list[str]:
    bots = data["bots"]
    assert isinstance(bots, list)
    return [c["title"] for c in bots[0]["commandLists"][scope]["commands"]]


def test_a_command_added_to_a_ritual_appears_in_the_package_menu(with_pulse: None) -> None:
    data = manifest(APP_ID, base_url=BASE_URL)
    for scope in (0, 1):  # the 1:1 chat's list and the channel's
        assert "pouls" in titles(data, scope)
    index = titles(data, 0).index("pouls")
    personal = data["bots"][0]["commandLists"][0]["commands"]
    assert personal[index]["description"] == "La météo de l’équipe après une rencontre"
    key = f"bots[0].commandLists[0].commands[{index}]"
    assert english()[f"{key}.title"] == "pulse"
    assert english()[f"{key}.description"] == "The team's weather after a meeting"
    # A member's command comes before coordinators' ones: the list stays within ten.
    assert len(titles(data, 0)) == 10 and "parametres" not in titles(data, 0)


def test_without_it_the_menu_is_the_registrys_commands() -> None:
    data = manifest(APP_ID, base_url=BASE_URL)
    assert "pouls" not in titles(data, 0)
    assert titles(data, 0)[0] == "aide" and titles(data, 1)[:2] == ["aide", "configurer"]
    assert "configurer" not in titles(data, 0)  # answered only in a channel


def _many(count: int) -> Registry:
    """The installed rituals and `count` more member commands (their help lines: `help`'s)."""
    extra = tuple(
        Ritual(
            name=f"extra{n}",
            commands=(CommandSpec(f"extra{n}", (), _pulse),),
            entries=(Entry("help", home=f"extra{n}"),),
        )
        for n in range(count)
    )
    return Registry((*rituals.registry().rituals, *extra))


def test_teams_limits_hold_whatever_the_rituals_bring() -> None:
    index = _many(12)
    for language in menu.LANGUAGES:
        for listed in menu.command_lists(language, index):
            commands = listed["commands"]
            assert len(commands) == menu.MAX_COMMANDS
            assert commands[0]["title"] in ("aide", "help")  # help is never cut
            for command in commands:
                assert 0 < len(command["title"]) <= menu.MAX_TITLE
                assert 0 < len(command["description"]) <= menu.MAX_DESCRIPTION
                assert menu.understood(command["title"], index) != ""


def test_a_long_help_line_is_shortened_for_the_menu(strings: Path) -> None:
    long = "pouls — " + "une phrase bien trop longue " * 8
    (strings / "fr.yml").write_text(f'help:\n  cmd:\n    pulse: "{long}"\n', encoding="utf-8")
    i18n.catalogue.cache_clear()
    index = Registry((*rituals.registry().rituals, RITUAL))
    (pulse,) = [c for c in menu.commands("personal", index) if c.name == "pulse"]
    assert len(pulse.description["fr"]) == menu.MAX_DESCRIPTION
    assert pulse.description["fr"].endswith("…")
