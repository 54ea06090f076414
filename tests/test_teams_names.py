"""Teams names, through botbuilder against the fake connector (tests/fake_connector/): a person
added to the team later is named through the members API, a channel through the team's
channel list, and a renamed channel or team shows its new name (adapters/teams/names.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage import teams
from storage.models import Member
from tests.fake_connector import GET_MEMBER, GET_TEAM_CHANNELS, GET_TEAM_DETAILS
from tests.teams_activities import TENANT, fill, in_channel, members_changed, person, text_of
from tests.teams_rig import COORDINATOR, TEAM, Rig, set_up, user

PROJECTS = ("19:projets@thread.tacv2", "Projets communs")
ZOE = person("29:zoe", "Zoé Tremblay")


def quoted(name: str) -> str:
    """A name in guillemets, as French typography writes it (non-breaking spaces inside)."""
    return f"«\u00a0{name}\u00a0»"


def bare(activity: dict[str, Any]) -> dict[str, Any]:
    """As Teams sends a message in a channel: the team and channel by id, without names."""
    data = activity["channelData"]
    data["team"] = {"id": data["team"]["id"]}
    data["channel"] = {"id": data["channel"]["id"]}
    return activity


def renamed(rig: Rig, event: str, *, team: dict[str, str], channel: dict[str, str] | None) -> Any:
    """A conversationUpdate saying a channel or the team was renamed (Teams' shape)."""
    activity = members_changed(rig.connector.service_url, (TEAM[0], ""), COORDINATOR)
    activity["channelData"] = {"tenant": {"id": TENANT}, "team": team, "eventType": event}
    if channel is not None:
        activity["channelData"]["channel"] = channel
    return activity


async def display_name(rig: Rig, user_id: str) -> str:
    async with rig.engine.database.session() as session:
        member = await session.scalar(select(Member).where(Member.user_ref == user_id))
        assert member is not None
        return member.display_name


async def link_name(rig: Rig, channel_id: str) -> str:
    async with rig.engine.database.session() as session:
        link = await teams.channel_at(session, "teams", TENANT, channel_id)
        assert link is not None
        return link.name


async def named_success(rig: Rig, who: dict[str, Any], text: str) -> str:
    """`who` shares a named success; the channel's post of it, as text."""
    assert await rig.say(who, "réussite") in (200, 201)
    card_id, card = rig.last_form(who["id"], "success.submit")
    assert await rig.submit(who, card_id, fill(card, text=text, consent="named")) in (200, 201)
    await rig.deliver()
    (post,) = [text_of(c) for c in rig.connector.cards_to(TEAM[0]) if text in text_of(c)]
    return post


async def add_later(rig: Rig) -> None:
    """Zoé joins the Teams team after the setup: Teams sends her id only."""
    rig.connector.add_user(ZOE["id"], ZOE["name"])
    rig.connector.join_team(TEAM[0], ZOE["id"])
    activity = members_changed(
        rig.connector.service_url, TEAM, COORDINATOR, added=[{"id": "29:zoe"}]
    )
    assert await rig.post(activity) in (200, 201)


async def test_a_member_added_later_is_named_through_the_members_api(rig: Rig) -> None:
    await set_up(rig)
    await add_later(rig)
    (call,) = rig.connector.calls_of(GET_MEMBER)
    assert call.path.endswith("/members/29:zoe")
    assert await display_name(rig, "29:zoe") == "Zoé Tremblay"  # before she says anything
    post = await named_success(rig, ZOE, "Le comité a dit oui")
    assert "Zoé Tremblay" in post


async def test_a_name_the_api_cannot_give_comes_with_the_persons_next_message(rig: Rig) -> None:
    await set_up(rig)
    rig.connector.fail_next(GET_MEMBER, 404, code="MemberNotFoundInConversation")
    await add_later(rig)
    assert await display_name(rig, "29:zoe") == ""
    post = await named_success(rig, ZOE, "Un partenariat de plus")
    assert "Zoé Tremblay" in post
    assert await display_name(rig, "29:zoe") == "Zoé Tremblay"


async def test_the_general_channel_is_shown_by_the_teams_name_and_follows_a_rename(
    rig: Rig,
) -> None:
    await set_up(rig)  # the card submitted from "General"
    assert await link_name(rig, TEAM[0]) == "Partenaires Sud"
    team = {"id": TEAM[0], "name": "Partenaires Sud-Ouest"}
    assert await rig.post(renamed(rig, "teamRenamed", team=team, channel=None)) in (200, 201)
    assert await link_name(rig, TEAM[0]) == "Partenaires Sud-Ouest"


async def tension_preview(rig: Rig, who: dict[str, Any]) -> str:
    assert await rig.say(who, "tension") in (200, 201)
    card_id, card = rig.last_form(who["id"], "tension.preview")
    value = fill(card, text="Les décisions arrivent sans nous", theme="decisions")
    assert await rig.submit(who, card_id, value) in (200, 201)
    posted = next(p for p in rig.connector.posted(rig.dm(who["id"])) if p.id == card_id)
    (preview,) = rig.connector.cards_in(posted.activity)
    return text_of(preview)


async def test_a_channel_named_from_the_api_in_the_setup_card_and_tension_preview_then_renamed(
    rig: Rig,
) -> None:
    rig.connector.add_channel(TEAM[0], *PROJECTS)
    url = rig.connector.service_url
    asked = bare(in_channel(url, TEAM, PROJECTS, COORDINATOR, "configurer"))
    assert await rig.post(asked) in (200, 201)
    (posted,) = rig.connector.posted(PROJECTS[0])
    (card,) = rig.connector.cards_in(posted.activity)
    assert quoted("Projets communs") in text_of(card)
    assert PROJECTS[0] not in text_of(card)
    value = fill(card, name="Projets partagés", k="3")
    submitted = bare(in_channel(url, TEAM, PROJECTS, COORDINATOR, value=value, reply_to=posted.id))
    assert await rig.post(submitted) in (200, 201)
    assert await link_name(rig, PROJECTS[0]) == "Projets communs"
    # Asked once: the name is kept with the channel's reference afterwards.
    assert len(rig.connector.calls_of(GET_TEAM_CHANNELS)) == 1
    assert not rig.connector.calls_of(GET_TEAM_DETAILS)
    await rig.deliver()
    anne = user("29:anne")
    preview = await tension_preview(rig, anne)
    assert quoted("Projets communs") in preview and PROJECTS[0] not in preview

    rig.connector.rename_channel(TEAM[0], PROJECTS[0], "Projets 2027")
    channel = {"id": PROJECTS[0], "name": "Projets 2027"}
    event = renamed(rig, "channelRenamed", team={"id": TEAM[0]}, channel=channel)
    assert await rig.post(event) in (200, 201)
    assert await link_name(rig, PROJECTS[0]) == "Projets 2027"
    preview = await tension_preview(rig, anne)
    assert quoted("Projets 2027") in preview and "Projets communs" not in preview


async def test_the_general_channel_named_by_the_team_details_when_nothing_says_it(
    rig: Rig,
) -> None:
    general = (TEAM[0], "")
    asked = bare(in_channel(rig.connector.service_url, TEAM, general, COORDINATOR, "configurer"))
    assert await rig.post(asked) in (200, 201)
    (posted,) = rig.connector.posted(TEAM[0])
    (card,) = rig.connector.cards_in(posted.activity)
    assert quoted("Partenaires Sud") in text_of(card)  # Teams shows General by the team's name
    assert len(rig.connector.calls_of(GET_TEAM_DETAILS)) == 1
    assert not rig.connector.calls_of(GET_TEAM_CHANNELS)
