"""Where a platform gave no name (a person, a channel), cards use neutral words: never an empty
"From:" and never a raw channel id."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dialogs.administration.team_forms import setup_card
from dialogs.cards import Paragraph
from dialogs.events import Actor, Place
from dialogs.i18n import Tr
from dialogs.successes import store
from dialogs.successes.sharing import channel_card
from storage.sealing import Sealer

RAW_ID = "19:8f2c5e0a@thread.tacv2"


def _texts(blocks: Any) -> list[str]:
    return [b.text for b in blocks if isinstance(b, Paragraph)]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("name", ["", None])
def test_a_named_success_without_a_name_reads_as_someone_in_the_team(
    language: str, name: str | None
) -> None:
    tr = Tr(language)
    team: Any = SimpleNamespace(name="Équipe")
    success: Any = SimpleNamespace(consent=store.NAMED, author_name=name, text="Bravo")
    texts = _texts(channel_card(tr, team, [success]).blocks)
    assert tr("batch.success_head", who=tr("success.anonymous")) in texts


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_channel_without_a_name_is_never_shown_by_its_id(language: str) -> None:
    tr = Tr(language)
    actor = Actor("teams", "tenant", "29:ana", "Ana", None, language)
    unnamed = Place("teams", "tenant", RAW_ID, "")
    texts = _texts(setup_card(tr, unnamed, actor, Sealer.ephemeral()).blocks)
    assert texts[0] == tr("setup.intro_unnamed")
    assert not any(RAW_ID in text for text in texts)
    named = Place("teams", "tenant", RAW_ID, "Projet jeunesse")
    texts = _texts(setup_card(tr, named, actor, Sealer.ephemeral()).blocks)
    assert texts[0] == tr("setup.intro", channel="Projet jeunesse")
