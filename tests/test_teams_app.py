"""Teams end to end: the real botbuilder CloudAdapter in our aiohttp server, its real connector
client, and a fake Bot Framework connector (tests/fake_connector/) that the activities'
serviceUrl points at. Local mode (no app id)
here: the journey, channels and people; redelivery and failures in
test_teams_reliability.py; tokens in test_teams_auth.py."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from dialogs.checkins import round_store as rounds
from storage import teams
from storage.models import Member, Sealed
from tests.teams_activities import (
    TENANT,
    fill,
    in_channel,
    members_changed,
    person,
    personal,
    press,
    scale_names,
    text_of,
)
from tests.teams_rig import COORDINATOR, GENERAL, PEOPLE, TEAM, Rig, onboarded, set_up, user
from tests.test_summary_readers import trust_declared_positions


# ------------------------------------------------------------------ the journey
async def test_setup_links_the_team_and_onboards_its_roster(rig: Rig) -> None:
    await set_up(rig)
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "teams", TENANT, TEAM[0])
        assert channel is not None
        members = await teams.active_members(session, channel.team_id)
    by_ref = {m.user_ref: m for m in members}
    assert set(by_ref) == {COORDINATOR["id"], *PEOPLE}  # the bot is not a member
    assert by_ref[COORDINATOR["id"]].is_coordinator
    assert await rig.deliver() == len(PEOPLE) + 1  # a welcome each
    created = rig.connector.created
    assert {c["members"][0]["id"] for c in created} >= set(PEOPLE)  # 1:1 chats opened
    for user_id in PEOPLE:
        (welcome,) = rig.cards_to(user_id)
        assert any(a["data"]["passerelle.action"] == "profile.save" for a in welcome["actions"])


async def test_checkin_answered_on_the_card_by_everyone_then_summary(rig: Rig) -> None:
    slug = await onboarded(rig)
    result = await rig.engine.jobs.run("checkin", slug)
    assert result.count == len(PEOPLE) + 1
    await rig.deliver()
    everyone = [COORDINATOR["id"], *PEOPLE]
    for n, user_id in enumerate(everyone):
        card_id, card = rig.last_form(user_id, "checkin.submit")
        assert len(scale_names(card)) >= 4
        for element in card["body"]:
            if element.get("id") in scale_names(card):
                assert element["style"] == "expanded"  # radio buttons
        answers = {name: str((n + i) % 5 + 1) for i, name in enumerate(scale_names(card))}
        value = fill(card, **answers)
        assert await rig.submit(user(user_id), card_id, value) in (200, 201)
        replaced = next(p for p in rig.connector.posted(rig.dm(user_id)) if p.id == card_id)
        (thanks,) = rig.connector.cards_in(replaced.activity)
        assert "actions" not in thanks  # the card cannot be submitted again
    # The same card submitted twice (sent before it was replaced): recorded once.
    assert await rig.submit(user(user_id), card_id, value) in (200, 201)
    async with rig.engine.database.session() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Sealed).where(Sealed.kind == "ballot")
        )
    assert stored == sum(1 for _ in everyone)  # one sealed ballot each
    await trust_declared_positions(rig.engine.database)  # managers declared themselves
    await rig.engine.jobs.run("close", slug)
    await rig.deliver()
    async with rig.engine.database.session() as session:
        (round_,) = await rounds.rounds_of(session, 1)
        assert (round_.asked_count, round_.answered_count) == (6, 6)
    for manager in ("29:ben", "29:cleo"):
        summary = rig.cards_to(manager)[-1]
        body = json.dumps(summary, ensure_ascii=False)
        assert "6" in text_of(summary)
        assert '"type": "Image"' in body and "data:image/png;base64," in body


SMUGGLED = "Les décisions arrivent sans nous <at>Ben</at> **fort** [ici](https://x.io)"


async def test_tension_previewed_confirmed_then_published_in_the_batch(rig: Rig) -> None:
    slug = await onboarded(rig)
    anne = user("29:anne")
    assert await rig.say(anne, "tension") in (200, 201)
    card_id, card = rig.last_form("29:anne", "tension.preview")
    assert await rig.submit(anne, card_id, fill(card, text=SMUGGLED, theme="decisions"))
    posted = next(p for p in rig.connector.posted(rig.dm("29:anne")) if p.id == card_id)
    (preview,) = rig.connector.cards_in(posted.activity)  # the preview replaced the form
    confirm = press(preview, "tension.confirm")
    assert await rig.submit(anne, card_id, confirm) in (200, 201)
    await rig.deliver()
    assert not rig.connector.messages_to(TEAM[0])[1:]  # nothing at the moment of writing
    await rig.engine.jobs.run("batch", slug)
    await rig.deliver()
    published = [c for c in rig.connector.cards_to(TEAM[0]) if "arrivent sans nous" in text_of(c)]
    assert len(published) == 1
    (card,) = published
    # Shown literally (TextRun): no mention entity, no markdown rendering, no link.
    raw = json.dumps(card, ensure_ascii=False)
    assert "msteams" not in raw and '"type": "TextBlock"' not in raw
    (posted_activity,) = [
        a for a in rig.connector.messages_to(TEAM[0]) if "arrivent sans nous" in json.dumps(a)
    ]
    assert not posted_activity.get("entities")


async def test_success_and_reflexive_prompt_posted_in_the_channel(rig: Rig) -> None:
    slug = await onboarded(rig)
    dave = user("29:dave")
    assert await rig.say(dave, "success") in (200, 201)
    card_id, card = rig.last_form("29:dave", "success.submit")
    value = fill(card, text="Access unblocked for families", consent="named")
    assert await rig.submit(dave, card_id, value) in (200, 201)
    await rig.deliver()
    await rig.engine.jobs.run("batch", slug)
    await rig.deliver()
    channel = " ".join(text_of(c) for c in rig.connector.cards_to(TEAM[0]))
    assert "Access unblocked for families" in channel
    assert await rig.say(COORDINATOR, "reflexive") in (200, 201)
    card_id, card = rig.last_form(COORDINATOR["id"], "reflexive.save")
    value = fill(card, prompt="X1", date="2026-12-03", time="13:30", lead="24")
    assert await rig.submit(COORDINATOR, card_id, value) in (200, 201)
    await rig.engine.jobs.run("reflexive-invite", slug)
    await rig.deliver()
    eva = user("29:eva")
    card_id, card = rig.last_form("29:eva", "reflexive.pre")
    assert await rig.submit(eva, card_id, fill(card, text="We never talk about funding."))
    await rig.engine.jobs.run("reflexive", slug)
    await rig.deliver()
    channel = " ".join(text_of(c) for c in rig.connector.cards_to(TEAM[0]))
    assert "We never talk about funding." in channel


# ------------------------------------------------------------------ channels, people
async def test_a_command_in_the_channel_is_answered_privately(rig: Rig) -> None:
    await onboarded(rig)
    before = len(rig.connector.messages_to(TEAM[0]))
    activity = in_channel(rig.connector.service_url, TEAM, GENERAL, user("29:anne"), "tension")
    assert await rig.post(activity) in (200, 201)
    rig.last_form("29:anne", "tension.preview")  # the form, in her 1:1 chat
    channel = rig.connector.messages_to(TEAM[0])[before:]
    assert len(channel) == 1 and "actions" not in rig.connector.cards_in(channel[0])[0]


async def test_people_added_and_removed_join_and_leave(rig: Rig) -> None:
    await set_up(rig)
    rig.connector.add_user("29:fred", "Fred")
    url = rig.connector.service_url
    fred = person("29:fred", "Fred")
    assert await rig.post(members_changed(url, TEAM, COORDINATOR, added=[fred])) in (200, 201)
    removed = members_changed(url, TEAM, COORDINATOR, removed=[user("29:dave")])
    assert await rig.post(removed) in (200, 201)
    async with rig.engine.database.session() as session:
        rows = (await session.scalars(select(Member))).all()
    active = {m.user_ref for m in rows if m.active}
    assert "29:fred" in active and "29:dave" not in active
    await rig.deliver()
    assert rig.cards_to("29:fred")  # Fred's welcome


async def test_time_zone_comes_from_the_activity(rig: Rig) -> None:
    await set_up(rig)
    async with rig.engine.database.session() as session:
        ben = await session.scalar(select(Member).where(Member.user_ref == "29:ben"))
        assert ben is not None and ben.timezone is None  # from the roster: unknown yet
    activity = personal(
        rig.connector.service_url,
        rig.dm("29:ben"),
        user("29:ben"),
        "help",
        timezone="America/Winnipeg",
    )
    assert await rig.post(activity) in (200, 201)
    async with rig.engine.database.session() as session:
        ben = await session.scalar(select(Member).where(Member.user_ref == "29:ben"))
        assert ben is not None and ben.timezone == "America/Winnipeg"
