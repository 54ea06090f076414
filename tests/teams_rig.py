"""Our server with its Teams bridge, before a fake connector that knows a team of five and its
coordinator: the ``rig`` of the Teams end-to-end tests, and the setup they start from.

A pytest plugin (tests/conftest.py lists it); a module that defines its own ``rig`` uses that."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from adapters.teams.app import TeamsBridge
from adapters.teams.platform import TEAMS
from bot.outbox_worker import OutboxWorker
from bot.server import WORKER, build_app
from bot.settings import Settings
from dialogs.engine import Engine
from storage import teams
from tests.fake_connector import FakeConnector
from tests.teams_activities import (
    TENANT,
    add_roster,
    fill,
    in_channel,
    members_changed,
    person,
    personal,
    post_activity,
    text_of,
)

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


@contextlib.asynccontextmanager
async def _connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        add_roster(fake, TEAM, PEOPLE, COORDINATOR)
        yield fake


@pytest.fixture
async def rig(engine: Engine) -> AsyncIterator[Rig]:
    """The app with its Teams bridge, before a fake connector that knows the team."""
    async with _connector() as connector:
        settings = Settings(PASSERELLE_SCHEDULER=False)
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
