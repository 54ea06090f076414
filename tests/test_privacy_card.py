"""The privacy card (`privacy`, `confidentialité`): what is kept, what never is, who sees what,
and whom to write to, as the operator set it; for anyone, in a team or not; offered by the help
card and the welcome card, not by the Teams menu."""

from __future__ import annotations

import pytest

from adapters.teams import menu
from bot.settings import Settings
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived
from dialogs.i18n import Tr
from dialogs.operator import Operator
from storage.database import Database
from tests.conftest import SQLITE_ONLY, Clock
from tests.helpers import paragraphs, say, seeded, text_of

OPERATOR = Operator("https://cisss.example/confidentialite", "Responsable PRP, prp@cisss.example")


@SQLITE_ONLY  # dialogs, not SQL
@pytest.mark.parametrize("word", ["confidentialité", "privacy", "vie-privee"])
async def test_a_member_reads_it_with_their_team_s_k(engine: Engine, word: str) -> None:
    await seeded(engine)
    (card,) = await say(engine, "camille", word)
    tr = Tr("fr")  # Camille reads French
    assert card.title == tr("privacy.title")
    assert tr("privacy.seen_k", k=3) in paragraphs(card)  # the demo team's k
    assert tr("privacy.contact", contact=tr("privacy.contact_team")) in paragraphs(card)
    assert not any("http" in text for text in paragraphs(card))  # no policy set


@SQLITE_ONLY  # dialogs, not SQL
async def test_the_operator_s_contact_and_policy_are_shown(
    database: Database, clock: Clock
) -> None:
    engine = Engine(database, clock=clock, operator=OPERATOR)
    await seeded(engine)
    (card,) = await say(engine, "jonathan", "privacy")  # Jonathan reads English
    tr = Tr("en")
    assert tr("privacy.contact", contact=OPERATOR.privacy_contact) in paragraphs(card)
    assert tr("privacy.policy", url=OPERATOR.privacy_url) in paragraphs(card)


@SQLITE_ONLY  # dialogs, not SQL
async def test_someone_in_no_team_reads_it_too(engine: Engine) -> None:
    stranger = Actor("sandbox", "", "zoe", "Zoé", None, "en-CA")
    (card,) = await engine.handle(CommandReceived(stranger, "privacy"))
    assert card.title == Tr("en")("privacy.title")
    assert Tr("en")("privacy.seen") in paragraphs(card)
    (help_card,) = await engine.handle(CommandReceived(stranger, "help"))
    assert Tr("en")("help.cmd.privacy") in text_of([help_card])


@SQLITE_ONLY  # dialogs, not SQL
async def test_the_welcome_points_to_it_not_to_a_file(engine: Engine) -> None:
    await seeded(engine)
    (card,) = await say(engine, "camille", "aide")
    assert Tr("fr")("help.cmd.privacy") in text_of([card])
    assert "privacy.md" not in Tr("fr")("welcome.never_stored")
    assert "confidentialité" in Tr("fr")("welcome.never_stored")


def test_the_teams_menu_leaves_it_to_the_cards() -> None:
    for scope in menu.SCOPES:
        assert "privacy" not in [command.name for command in menu.commands(scope)]


def test_the_operator_sets_it_in_the_environment() -> None:
    settings = Settings(
        PASSERELLE_PRIVACY_URL=" https://cisss.example/confidentialite ",
        PASSERELLE_PRIVACY_CONTACT="Responsable PRP, prp@cisss.example",
    )
    assert settings.operator == OPERATOR
