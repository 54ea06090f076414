"""The import contracts read the rituals and platforms from their registrations
(tests/lint_contracts.py): each registered package is covered, and each contract breaks when an
import crosses it."""

from __future__ import annotations

import grimp
import pytest
from importlinter.configuration import configure

from bot.server import PLATFORMS
from dialogs.rituals import PACKAGES
from tests.lint_contracts import RegisteredCore, RegisteredIndependence, core_modules, registered

RITUALS = "dialogs/rituals.py:PACKAGES"
configure()  # lint-imports' own settings (its timer), as its command line sets them


def test_the_registrations_are_read_as_the_code_reads_them() -> None:
    assert registered(RITUALS) == PACKAGES
    assert registered("bot/server.py:PLATFORMS") == PLATFORMS
    with pytest.raises(ValueError, match="NOTHING"):
        registered("dialogs/rituals.py:NOTHING")


def test_the_core_is_every_module_of_dialogs_outside_the_rituals() -> None:
    core = core_modules(PACKAGES)
    assert {"dialogs.engine", "dialogs.registry", "dialogs.team_fields"} <= set(core)
    assert not set(core) & set(PACKAGES)
    assert not any(name.startswith(tuple(f"{p}." for p in PACKAGES)) for name in core)


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for name in (*PACKAGES, *core_modules(PACKAGES)):
        graph.add_module(name)
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    return graph


@pytest.mark.parametrize(
    ("contract", "crossing"),
    [
        (RegisteredIndependence, ("dialogs.thanks.handlers", "dialogs.checkins.rounds")),
        (RegisteredCore, ("dialogs.team_fields", "dialogs.tensions.settings")),
    ],
)
def test_a_crossing_import_breaks_the_contract(
    contract: type[RegisteredIndependence | RegisteredCore], crossing: tuple[str, str]
) -> None:
    checked = contract("rituals", {"root_packages": ["dialogs"]}, {"registration": RITUALS})
    assert checked.check(_graph(), verbose=False).kept
    assert not checked.check(_graph(crossing), verbose=False).kept
