"""The help card of a person in no team lists the commands the rituals let them run there
(`CommandSpec.outside_team`), from the registry: today `setup` and `privacy`."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs import help as help_module
from dialogs.cards import Card, Paragraph
from dialogs.commands import Command
from dialogs.i18n import Tr
from dialogs.registry import CommandSpec, Entry, Registry, Ritual
from dialogs.rituals import registry


def _texts(card: Card) -> list[str]:
    return [block.text for block in card.blocks if isinstance(block, Paragraph)]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_someone_in_no_team_is_told_how_to_set_one_up(language: str) -> None:
    tr = Tr(language)
    card = help_module.help_card(tr, member=False, reader=False, coordinator=False, team_name=None)
    assert card.title == tr("help.title_generic")
    assert _texts(card) == [
        *(tr("help.not_member"), tr("help.cmd.help")),
        *(tr("help.cmd.setup"), tr("help.cmd.privacy")),
    ]


async def _nothing(turn: Any, command: Command, context: Any) -> list[Card]:
    return []


def test_a_ritual_s_outside_team_command_joins_that_card(monkeypatch: pytest.MonkeyPatch) -> None:
    joining = Ritual(
        "joining",
        commands=(CommandSpec("thanks", ("merci-x",), _nothing, outside_team=True),),
        entries=(Entry("thanks"),),
    )
    extended = Registry((*registry().rituals[:-1], joining))  # the thanks ritual replaced
    monkeypatch.setattr(help_module, "registry", lambda: extended)
    tr = Tr("fr")
    card = help_module.help_card(tr, member=False, reader=False, coordinator=False, team_name=None)
    assert _texts(card)[-3:] == [
        tr("help.cmd.setup"),
        tr("help.cmd.privacy"),
        tr("help.cmd.thanks"),
    ]
