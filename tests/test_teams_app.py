"""Teams end to end: the real botbuilder CloudAdapter in our aiohttp server, its real connector
client, and a fake Bot Framework connector (tests/fake_connector.py) that the activities'
serviceUrl points at. Local mode (no app id) here; tokens in test_teams_auth.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from adapters.teams.app import TeamsBridge
from adapters.teams.platform import TEAMS
from bot.outbox_worker import OutboxWorker
from bot.server import WORKER, build_app
from bot.settings import Settings
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage import teams
from storage.models import Member, Sealed
from tests.fake_connector import POST_ACTIVITY, FakeConnector
from tests.faults import commit_fails
from tests.teams_activities import (
    TENANT,
    fill,
    in_channel,
    members_changed,
    person,
    personal,
    post_activity,
    press,
    scale_names,
    text_of,
)
from tests.test_summary_readers import trust_declared_positions

TEAM = ("19:partners@thread.tacv2", "Partenaires Sud")
GENERAL = (TEAM[0], "General")
COORDINATOR = person("29:coord", "Coralie")
PEOPLE = {
    "29:anne": ("Anne", "community", "front_line"),
    "29:ben": ("Ben", "public", "manager"),
    "29:cleo": ("Cléo", "community", "manager"),
    "29:dave": ("Dave", "other", "front_line"),
    "29:eva": ("Eva", "public", "front_line"),
}


@dataclass
class Rig:
    connector: FakeConnector
    server: TestServer
    engine: Engine
    bridge: TeamsBridge
    worker: OutboxWorker

    @property
    def url(self) -> str:
        return str(self.server.make_url("/api/messages"))

    async def post(self, activity: dict[str, Any], **headers: str) -> int:
        return await post_activity(self.url, activity, headers)

    def dm(self, user_id: str) -> str:
        return self.connector.personal_conversation_id(user_id, TENANT)

    def cards_to(self, user_id: str) -> list[dict[str, Any]]:
        return self.connector.cards_to(self.dm(user_id))

    def last_form(self, user_id: str, action: str) -> tuple[str, dict[str, Any]]:
        """(activity id, card) of the person's latest card whose form submits `action`."""
        for posted in reversed(self.connector.posted(self.dm(user_id))):
            for card in self.connector.cards_in(posted.activity):
                for act in card.get("actions", []):
                    if act.get("data", {}).get("passerelle.action") == action:
                        return posted.id, card
        raise AssertionError(f"no {action} card for {user_id}")

    async def say(self, user: dict[str, Any], text: str) -> int:
        return await self.post(
            personal(self.connector.service_url, self.dm(user["id"]), user, text)
        )

    async def submit(self, user: dict[str, Any], card_id: str, value: dict[str, Any]) -> int:
        return await self.post(
            personal(
                self.connector.service_url,
                self.dm(user["id"]),
                user,
                value=value,
                reply_to=card_id,
            )
        )

    async def deliver(self) -> int:
        return await self.worker.drain()


def user(user_id: str) -> dict[str, Any]:
    return person(user_id, PEOPLE[user_id][0]) if user_id in PEOPLE else COORDINATOR


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        fake.add_user(COORDINATOR["id"], COORDINATOR["name"])
        for user_id, (name, _, _) in PEOPLE.items():
            fake.add_user(user_id, name)
        fake.add_team(TEAM[0], TEAM[1], members=[COORDINATOR["id"], *PEOPLE])
        yield fake


@pytest.fixture
async def rig(engine: Engine, connector: FakeConnector) -> AsyncIterator[Rig]:
    settings = Settings(PASSERELLE_SCHEDULER=False)  # type: ignore[call-arg]
    app = build_app(settings, engine.database, engine)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Rig(connector, server, engine, app[TEAMS], app[WORKER])
    finally:
        await server.close()


async def set_up(rig: Rig, k: str = "3") -> str:
    """The bot added to the team, the setup card filled in the channel: the team exists."""
    url = rig.connector.service_url
    added = members_changed(url, TEAM, COORDINATOR, added=[{"id": rig.connector.bot_id}])
    assert await rig.post(added) in (200, 201)
    (posted,) = rig.connector.posted(TEAM[0])
    (card,) = rig.connector.cards_in(posted.activity)
    assert card["version"] == "1.5"
    value = fill(card, name="Partenaires Sud", k=k)
    submitted = in_channel(url, TEAM, GENERAL, COORDINATOR, value=value, reply_to=posted.id)
    assert await rig.post(submitted) in (200, 201)
    (replaced,) = rig.connector.posted(TEAM[0])  # the card itself became the confirmation
    (done,) = rig.connector.cards_in(replaced.activity)
    assert "actions" not in done and "Partenaires Sud" in text_of(done)
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "teams", TENANT, TEAM[0])
        assert channel is not None
        team = await teams.team_by_id(session, channel.team_id)
        assert team is not None
        return team.slug


async def onboarded(rig: Rig) -> str:
    slug = await set_up(rig)
    await rig.deliver()
    for user_id, (_, sector, position) in PEOPLE.items():
        card_id, card = rig.last_form(user_id, "profile.save")
        value = fill(card, sector=sector, position=position)
        assert await rig.submit(user(user_id), card_id, value) in (200, 201)
    card_id, card = rig.last_form(COORDINATOR["id"], "profile.save")
    value = fill(card, sector="public", position="coordinator")
    assert await rig.submit(COORDINATOR, card_id, value) in (200, 201)
    return slug


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


# ------------------------------------------------------------------ reliability
async def test_a_redelivered_activity_is_handled_once(rig: Rig) -> None:
    await onboarded(rig)
    activity = personal(rig.connector.service_url, rig.dm("29:anne"), user("29:anne"), "help")
    assert await rig.post(activity) in (200, 201)
    assert await rig.post(activity) in (200, 201)
    answers = [
        p for p in rig.connector.posted(rig.dm("29:anne")) if p.reply_to_id == activity["id"]
    ]
    assert len(answers) == 1


async def test_the_retry_of_a_turn_whose_commit_failed_is_answered(rig: Rig) -> None:
    """The turn's COMMIT fails (the database went away then, and stays away until the
    activity is answered, so nothing can be undone): the person is told so, and the
    activity's mark, written in that transaction, went with it: the connector's retry of the
    same activity is answered (with the mark committed on its own before the turn, it was
    ignored for 15 minutes). A repeat of the turn that committed is not."""
    await onboarded(rig)
    activity = personal(rig.connector.service_url, rig.dm("29:anne"), user("29:anne"), "help")

    def answers() -> list[str]:
        return [
            json.dumps(rig.connector.cards_in(p.activity), ensure_ascii=False)
            for p in rig.connector.posted(rig.dm("29:anne"))
            if p.reply_to_id == activity["id"]
        ]

    # The turn reads the person's memberships first (the mark's INSERT comes before it).
    with commit_fails(rig.engine.database, "SELECT members.", then_away=True) as fault:
        assert await rig.post(activity) in (200, 201)
    assert fault.struck == 1
    (told,) = answers()
    assert Tr("fr")("outage.title") in told
    assert await rig.post(activity) in (200, 201)  # the connector's retry
    assert await rig.post(activity) in (200, 201)  # and a repeat of it
    told, helped = answers()
    assert Tr("fr")("outage.title") not in helped and "Passerelle" in helped


async def test_a_card_sent_while_the_database_is_away_is_said_to_be_still_there(rig: Rig) -> None:
    """A card's Submit during an outage: the card stays in the conversation, so the answer
    says what was entered is still there to send again (a typed command: "try again")."""
    await rig.engine.jobs.run("checkin", await onboarded(rig))
    await rig.deliver()
    card_id, card = rig.last_form("29:anne", "checkin.submit")
    value = fill(card, **{name: "4" for name in scale_names(card)})
    with commit_fails(rig.engine.database, "SELECT", then_away=True):
        assert await rig.submit(user("29:anne"), card_id, value) in (200, 201)
    said = [
        json.dumps(rig.connector.cards_in(p.activity), ensure_ascii=False)
        for p in rig.connector.posted(rig.dm("29:anne"))
    ]
    assert Tr("fr")("outage.form") in said[-1]
    assert Tr("fr")("outage.retry") not in said[-1]


async def test_connector_errors_are_retried_then_sent(rig: Rig, clock: Any) -> None:
    slug = await onboarded(rig)
    # Three passing errors: retried here, with backoff (Retry-After for the 429).
    for status in (429, 412, 502):
        rig.connector.fail_next(POST_ACTIVITY, status, retry_after=0 if status == 429 else None)
    # Then one message meets a 504 four times: the outbox takes it back and sends it later.
    rig.connector.fail_next(POST_ACTIVITY, 504, times=4)
    await rig.engine.jobs.run("checkin", slug)
    await rig.deliver()
    clock.advance(seconds=30)
    await rig.deliver()
    for user_id in [COORDINATOR["id"], *PEOPLE]:
        forms = [
            c
            for c in rig.cards_to(user_id)
            if any(
                a["data"].get("passerelle.action") == "checkin.submit" for a in c.get("actions", [])
            )
        ]
        assert len(forms) == 1, user_id  # everyone got it, once
    rejected = [c.status for c in rig.connector.rejected]
    assert sorted(rejected) == [412, 429, 502, 504, 504, 504, 504]


async def test_a_person_who_removed_the_app_is_unreachable_not_retried(rig: Rig) -> None:
    slug = await onboarded(rig)
    rig.connector.uninstall("29:eva")
    await rig.engine.jobs.run("checkin", slug)
    await rig.deliver()
    async with rig.engine.database.session() as session:
        eva = await session.scalar(select(Member).where(Member.user_ref == "29:eva"))
        assert eva is not None and eva.unreachable
    refused = [c for c in rig.connector.rejected if c.status == 403]
    assert len(refused) == 1  # once, not retried
    assert await rig.deliver() == 0


async def test_malformed_requests_get_400_or_415_never_500(rig: Rig) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            rig.url, data=b"{not json", headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400
        async with session.post(rig.url, json={"no": "type"}) as r:
            assert r.status == 400
        async with session.post(rig.url, data=b"x", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415
        async with session.post(rig.url, json=[1, 2]) as r:
            assert r.status == 400
    bad_bearer = personal(rig.connector.service_url, rig.dm("29:anne"), user("29:anne"), "help")
    assert await rig.post(bad_bearer, Authorization="Bearer not-a-jwt") == 401
    # Local mode takes no token at all, even a well-formed one: nothing is fetched to check it.
    assert await rig.post(bad_bearer, Authorization="Bearer aaa.bbb.ccc") == 401
    assert not rig.connector.calls


async def test_a_vanished_chat_is_opened_again_and_the_message_sent(rig: Rig) -> None:
    slug = await onboarded(rig)
    opened = len(rig.connector.created)
    rig.connector.fail_next(POST_ACTIVITY, 404, code="ConversationNotFound")
    await rig.engine.jobs.run("checkin", slug)
    await rig.deliver()
    assert len(rig.connector.created) == opened + 1  # one 1:1 chat opened anew
    for user_id in [COORDINATOR["id"], *PEOPLE]:
        rig.last_form(user_id, "checkin.submit")  # nobody missed the round


@pytest.mark.parametrize(
    "service_url",
    ["", "https://smba.trafficmanager.net/amer/", "http://10.0.0.5:80/", "not a url", None],
)
async def test_local_mode_answers_only_a_connector_on_this_machine(
    rig: Rig, service_url: str | None
):
    """Without an app id nothing is authenticated: an activity naming any other connector is
    refused before the bot could call out to it (and nothing is recorded)."""
    activity = personal(rig.connector.service_url, rig.dm(COORDINATOR["id"]), COORDINATOR, "aide")
    activity["serviceUrl"] = service_url
    assert await rig.post(activity) == 400
    async with rig.engine.database.session() as session:
        assert not (await session.scalars(select(Member))).all()
    # The same activity from the local connector is answered.
    activity["serviceUrl"] = rig.connector.service_url
    assert await rig.post(activity) in (200, 201)
    assert rig.connector.posted(rig.dm(COORDINATOR["id"]))
