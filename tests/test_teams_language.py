"""Which language Teams speaks, through botbuilder against the fake connector: in a 1:1 chat
the person's (their saved language, else their client's locale), in a channel the team's,
and before a team exists the installer's client locale, even when the conversationUpdate that
installs the app carries none (adapters/teams/language.py)."""

from __future__ import annotations

from typing import Any

from dialogs.i18n import Tr
from tests.teams_activities import fill, in_channel, members_changed, personal, text_of
from tests.teams_rig import COORDINATOR, GENERAL, TEAM, Rig, set_up, user

EN, FR = Tr("en"), Tr("fr")


def installed(rig: Rig, **extra: Any) -> dict[str, Any]:
    """The app added to the team (Teams sends no `locale` with it)."""
    url = rig.connector.service_url
    activity = members_changed(url, TEAM, COORDINATOR, added=[{"id": rig.connector.bot_id}])
    assert "locale" not in activity
    return activity | extra


def channel_card(rig: Rig) -> dict[str, Any]:
    (posted, *_) = rig.connector.posted(TEAM[0])
    (card,) = rig.connector.cards_in(posted.activity)
    return card


async def test_the_setup_card_speaks_the_installers_client_language(rig: Rig) -> None:
    # Coralie's Teams is in English: her 1:1 chat with the bot said so before she installs.
    dm = rig.dm(COORDINATOR["id"])
    hello = personal(rig.connector.service_url, dm, COORDINATOR, "help", locale="en-US")
    assert await rig.post(hello) in (200, 201)
    assert await rig.post(installed(rig)) in (200, 201)
    card = channel_card(rig)
    assert text_of(card).startswith(EN("setup.title"))


async def test_a_client_info_entity_tells_the_installers_language(rig: Rig) -> None:
    entity = {"type": "clientInfo", "locale": "en-CA", "country": "CA", "platform": "Web"}
    assert await rig.post(installed(rig, entities=[entity])) in (200, 201)
    assert text_of(channel_card(rig)).startswith(EN("setup.title"))


async def test_an_installer_nobody_knows_gets_the_default_french(rig: Rig) -> None:
    assert await rig.post(installed(rig)) in (200, 201)
    assert text_of(channel_card(rig)).startswith(FR("setup.title"))


async def test_in_a_channel_the_teams_language_in_the_1_1_chat_the_persons(rig: Rig) -> None:
    await set_up(rig)  # a French team
    await rig.deliver()
    before = len(rig.connector.posted(TEAM[0]))
    anne = user("29:anne")
    url = rig.connector.service_url
    asked = in_channel(url, TEAM, GENERAL, anne, "profil", locale="en-US")
    assert await rig.post(asked) in (200, 201)
    (note,) = rig.connector.posted(TEAM[0])[before:]
    (card,) = rig.connector.cards_in(note.activity)
    assert FR("msteams.sent_privately") in text_of(card)  # everyone in the channel reads it
    profile = rig.cards_to("29:anne")[-1]
    assert "My profile" in text_of(profile)  # hers: her client's English


async def test_a_saved_language_wins_over_the_client_locale_in_the_1_1_chat(rig: Rig) -> None:
    await set_up(rig)
    await rig.deliver()
    anne = user("29:anne")
    card_id, card = rig.last_form("29:anne", "profile.save")
    value = fill(card, sector="community", position="front_line", language="en")
    assert await rig.submit(anne, card_id, value) in (200, 201)
    assert await rig.say(anne, "aide") in (200, 201)  # her client is in French (fr-CA)
    help_card = rig.cards_to("29:anne")[-1]
    assert text_of(help_card).startswith(EN("help.title", team="Partenaires Sud"))


async def test_team_created_is_said_in_the_team_s_language_in_the_channel(rig: Rig) -> None:
    # Coralie's Teams is in English; she creates a French team: the channel reads French, and
    # her own welcome, in her 1:1 chat, is in her English.
    dm = rig.dm(COORDINATOR["id"])
    hello = personal(rig.connector.service_url, dm, COORDINATOR, "help", locale="en-US")
    assert await rig.post(hello) in (200, 201)
    assert await rig.post(installed(rig)) in (200, 201)
    (posted,) = rig.connector.posted(TEAM[0])
    (card,) = rig.connector.cards_in(posted.activity)
    assert text_of(card).startswith(EN("setup.title"))
    value = fill(card, name="Partenaires Sud", k="3", language="fr")
    url = rig.connector.service_url
    submitted = in_channel(
        url, TEAM, GENERAL, COORDINATOR, value=value, reply_to=posted.id, locale="en-US"
    )
    assert await rig.post(submitted) in (200, 201)
    (replaced,) = rig.connector.posted(TEAM[0])
    (done,) = rig.connector.cards_in(replaced.activity)
    assert text_of(done).startswith(FR("setup.done_title"))
    await rig.deliver()
    _, welcome = rig.last_form(COORDINATOR["id"], "profile.save")
    assert text_of(welcome).startswith(EN("welcome.title", team="Partenaires Sud"))
