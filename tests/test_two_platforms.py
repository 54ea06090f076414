"""One partnership on Slack and Teams at once: one team, one anonymity pool, one round.

The team is created in a Slack channel; its coordinator asks for a link code; a Teams
coordinator runs `setup <code>` in their team's channel. Everyone, on either platform, is
asked in the same round, counted in the same summary, and sees the same published tension."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dialogs.cards import Paragraph
from dialogs.checkins import round_store as rounds
from dialogs.events import Actor, FormSubmitted
from storage import teams
from tests.fake_connector import FakeConnector
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    PROFILES,
    Rig,
    acked_at_once,
    onboarded,
    open_form,
    rig_fixture,
    scales,
    slack_fixture,
    team_slug,
    texts,
)
from tests.slack_signing import TEAM_ID
from tests.teams_activities import (
    TENANT,
    add_roster,
    fill,
    in_channel,
    members_changed,
    person,
    personal,
    post_activity,
    scale_names,
    text_of,
)
from tests.test_summary_readers import trust_declared_positions

TEAMS_TEAM = ("19:est@thread.tacv2", "Partenaires Est")
TEAMS_PEOPLE = {
    "29:gaby": ("Gaby", "community", "coordinator"),
    "29:hugo": ("Hugo", "community", "front_line"),
    "29:ines": ("Inès", "public", "manager"),
}


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        add_roster(fake, TEAMS_TEAM, TEAMS_PEOPLE)
        yield fake


async def post(rig: Rig, activity: dict[str, Any]) -> int:
    return await post_activity(str(rig.server.make_url("/api/messages")), activity)


def teams_person(user_id: str) -> dict[str, Any]:
    return person(user_id, TEAMS_PEOPLE[user_id][0])


async def link_code(rig: Rig) -> str:
    """The Slack coordinator's link code (the settings card's button)."""
    slug = await team_slug(rig)
    actor = Actor("slack", TEAM_ID, COORDINATOR)
    (card,) = await rig.engine.handle(FormSubmitted(actor, "setup.link_code", {"team": slug}))
    codes = [b.text for b in card.blocks if isinstance(b, Paragraph) and b.text.count("-") == 2]
    assert len(codes) == 1, card
    return codes[0]


def teams_cards(connector: FakeConnector, user_id: str) -> list[tuple[str, dict[str, Any]]]:
    conversation = connector.personal_conversation_id(user_id, TENANT)
    return [
        (p.id, card)
        for p in connector.posted(conversation)
        for card in connector.cards_in(p.activity)
    ]


def last_form(connector: FakeConnector, user_id: str, action: str) -> tuple[str, dict[str, Any]]:
    for card_id, card in reversed(teams_cards(connector, user_id)):
        if any(
            a.get("data", {}).get("passerelle.action") == action for a in card.get("actions", [])
        ):
            return card_id, card
    raise AssertionError(f"no {action} for {user_id}")


async def submit(
    rig: Rig, connector: FakeConnector, user_id: str, card_id: str, value: dict[str, Any]
) -> None:
    conversation = connector.personal_conversation_id(user_id, TENANT)
    activity = personal(
        connector.service_url, conversation, teams_person(user_id), value=value, reply_to=card_id
    )
    assert await post(rig, activity) in (200, 201)


async def test_one_team_across_slack_and_teams_through_a_whole_round(
    rig: Rig, connector: FakeConnector
) -> None:
    await onboarded(rig)  # the Slack side: team created in the channel, six profiles
    slug = await team_slug(rig)
    code = await link_code(rig)
    url = connector.service_url
    gaby = teams_person("29:gaby")
    # The bot added to the Teams team, then `@Passerelle setup <code>` in its channel.
    assert await post(rig, members_changed(url, TEAMS_TEAM, gaby, added=[{"id": connector.bot_id}]))
    general = (TEAMS_TEAM[0], "General")
    assert await post(rig, in_channel(url, TEAMS_TEAM, general, gaby, f"setup {code}")) in (
        200,
        201,
    )
    linked = [text_of(c) for c in connector.cards_to(TEAMS_TEAM[0])]
    assert any("Partenariat Est" in t for t in linked), linked
    async with rig.engine.database.session() as session:
        channels = await teams.channels_of(session, 1)
        members = await teams.active_members(session, 1)
    assert {c.platform for c in channels} == {"slack", "teams"}
    assert {m.platform for m in members} == {"slack", "teams"}
    assert len(members) == len(PROFILES) + len(TEAMS_PEOPLE)
    assert await rig.deliver() >= len(TEAMS_PEOPLE)  # the Teams welcomes
    for user_id, (_, sector, position) in TEAMS_PEOPLE.items():
        card_id, card = last_form(connector, user_id, "profile.save")
        await submit(rig, connector, user_id, card_id, fill(card, sector=sector, position=position))
    # The same code does not work twice.
    again = in_channel(url, TEAMS_TEAM, ("19:other@thread.tacv2", "Other"), gaby, f"setup {code}")
    assert await post(rig, again) in (200, 201)
    async with rig.engine.database.session() as session:
        assert len(await teams.channels_of(session, 1)) == 2

    # One round for everyone.
    everyone = len(PROFILES) + len(TEAMS_PEOPLE)
    result = await rig.engine.jobs.run("checkin", slug)
    assert result.count == everyone
    await rig.deliver()
    for n, user in enumerate(PROFILES):
        view = await open_form(rig, user)
        answers: dict[str, Any] = {
            name: str((n + i) % 5 + 1) for i, name in enumerate(scales(view))
        }
        acked_at_once(await rig.submit(view, user, **answers))
    for n, user_id in enumerate(TEAMS_PEOPLE):
        card_id, card = last_form(connector, user_id, "checkin.submit")
        answers = {name: str((n + i) % 5 + 1) for i, name in enumerate(scale_names(card))}
        await submit(rig, connector, user_id, card_id, fill(card, **answers))
    # A tension written on Teams, published in both channels.
    hugo = teams_person("29:hugo")
    conversation = connector.personal_conversation_id("29:hugo", TENANT)
    assert await post(rig, personal(url, conversation, hugo, "tension")) in (200, 201)
    card_id, card = last_form(connector, "29:hugo", "tension.preview")
    await submit(
        rig,
        connector,
        "29:hugo",
        card_id,
        fill(card, text="Nos ordres du jour arrivent la veille."),
    )
    (_, preview), *_ = [(i, c) for i, c in teams_cards(connector, "29:hugo") if i == card_id]
    confirm = next(
        a["data"] for a in preview["actions"] if a["data"]["passerelle.action"] == "tension.confirm"
    )
    await submit(rig, connector, "29:hugo", card_id, confirm)
    await trust_declared_positions(rig.engine.database)  # managers declared themselves
    await rig.engine.jobs.run("close", slug)
    await rig.engine.jobs.run("batch", slug)
    await rig.deliver()
    async with rig.engine.database.session() as session:
        (round_,) = await rounds.rounds_of(session, 1)
    assert (round_.asked_count, round_.answered_count) == (everyone, everyone)
    slack_channel = " ".join(texts(m) for m in rig.slack.messages_in(CHANNEL))
    teams_channel = " ".join(text_of(c) for c in connector.cards_to(TEAMS_TEAM[0]))
    assert "Nos ordres du jour arrivent la veille." in slack_channel
    assert "Nos ordres du jour arrivent la veille." in teams_channel
    # Summaries for the readers of both platforms, counting everyone.
    ines = [text_of(c) for _, c in teams_cards(connector, "29:ines")]
    assert any(f"{everyone}" in t for t in ines[-3:]), ines[-3:]
    slack_summary = " ".join(texts(m) for m in rig.slack.messages_to("U0BEN"))
    assert f"{everyone}" in slack_summary
