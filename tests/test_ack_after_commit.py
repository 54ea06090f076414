"""Teams and the sandbox record a submission inside the request: the engine's transaction
commits before the person is answered (Teams: the card replaced or a reply posted, then the
HTTP 200/201; the sandbox: its 303), so they need no intake. Proved here by holding the engine
(no answer of any kind leaves while it is held) and by looking, from another connection, at
the moment the answer leaves (the ballot is already committed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from adapters.teams import botframework
from adapters.teams.cards import activity_for
from bot.server import build_app
from bot.settings import Settings
from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from storage import teams
from storage.models import Member
from tests.checkin_rounds import open_checkin
from tests.engine_doors import held
from tests.fake_connector import FakeConnector
from tests.teams_activities import TENANT, fill, person, personal, post_activity

SLUG = "durable"
ANNE = person("29:anne", "Anne")


async def seed(engine: Engine, platform: str, workspace: str, refs: list[str]) -> tuple[int, Card]:
    """A team of `refs` on `platform` with a check-in round open: (round id, its card)."""
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug=SLUG, name="Durable", now=engine.clock(), language="fr",
            quiet_start=0, quiet_end=0,
        )  # fmt: skip
        await teams.link_channel(session, team, platform, workspace, "19:c@thread", "canal")
        for n, ref in enumerate(refs):
            session.add(
                Member(
                    team_id=team.id, platform=platform, workspace=workspace, user_ref=ref,
                    display_name=ref, sector=("public", "community")[n % 2],
                    position="front_line", language="fr", onboarded=True,
                )
            )  # fmt: skip
    return await open_checkin(engine, SLUG, team.id)


async def status(engine: Engine, round_id: int, ref: str) -> str | None:
    """What another connection sees now: only what was committed."""
    async with engine.database.session() as session:
        member = await session.scalar(select(Member).where(Member.user_ref == ref))
        assert member is not None
        return await rounds.status_of(session, round_id, member.id)


def settings(**env: object) -> Settings:
    return Settings(**{"PASSERELLE_SCHEDULER": False, **env})  # type: ignore[arg-type]


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        fake.add_user(ANNE["id"], ANNE["name"])
        yield fake


async def test_teams_answers_a_submission_only_after_its_commit(
    engine: Engine, connector: FakeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    round_id, card = await seed(engine, "teams", TENANT, [ANNE["id"], "29:ben", "29:cleo"])
    app = build_app(settings(), engine.database, engine)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/api/messages"))
    dm = connector.personal_conversation_id(ANNE["id"], TENANT)
    try:
        # A first message: the bot answers in the 1:1 chat (a card to reply to).
        assert await post_activity(url, personal(connector.service_url, dm, ANNE, "aide")) in (
            200,
            201,
        )
        (posted, *_) = connector.posted(dm)
        # Every answer to the person, at the moment it leaves: what is committed then.
        at_answer: list[str | None] = []
        for name in ("update", "send"):
            original = getattr(botframework.TurnHandle, name)

            async def answering(self: Any, *args: Any, _original: Any = original) -> Any:
                at_answer.append(await status(engine, round_id, ANNE["id"]))
                return await _original(self, *args)

            monkeypatch.setattr(botframework.TurnHandle, name, answering)
        adaptive = activity_for(card)["attachments"][0]["content"]
        answers = {i.name: "4" for i in card.inputs() if i.kind == "scale"}
        activity = personal(
            connector.service_url, dm, ANNE, value=fill(adaptive, **answers), reply_to=posted.id
        )
        started, release = held(engine)
        request = asyncio.ensure_future(post_activity(url, activity))
        await asyncio.wait_for(started.wait(), timeout=30)
        # A negative needs a window: time enough for an early answer to show, if there were one.
        await asyncio.sleep(0.2)
        assert not request.done() and at_answer == []  # no 200, no card while the engine works
        assert await status(engine, round_id, ANNE["id"]) == rounds.ASKED
        release.set()
        assert await asyncio.wait_for(request, timeout=30) in (200, 201)
        assert at_answer and set(at_answer) == {rounds.ANSWERED}  # committed before any answer
    finally:
        await server.close()


async def test_the_sandbox_answers_a_submission_only_after_its_commit(engine: Engine) -> None:
    round_id, card = await seed(engine, "sandbox", "", ["anne", "ben", "cleo"])
    app = build_app(settings(PASSERELLE_SANDBOX=True), engine.database, engine)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    form = {"as": "anne", "action": "checkin.submit", "ctx.team": SLUG, "ctx.round": str(round_id)}
    form |= {i.name: "4" for i in card.inputs() if i.kind == "scale"}
    started, release = held(engine)
    handle = engine.handle
    at_return: list[str | None] = []

    async def noting(event: Any, **options: Any) -> Any:
        cards = await handle(event, **options)
        at_return.append(await status(engine, round_id, "anne"))  # before the adapter goes on
        return cards

    engine.handle = noting  # type: ignore[method-assign]
    try:
        async with aiohttp.ClientSession() as http:
            request = asyncio.ensure_future(
                http.post(server.make_url("/sandbox/submit"), data=form, allow_redirects=False)
            )
            await asyncio.wait_for(started.wait(), timeout=30)
            await asyncio.sleep(0.2)
            assert not request.done()  # no answer while the engine works
            assert await status(engine, round_id, "anne") == rounds.ASKED
            release.set()
            response = await asyncio.wait_for(request, timeout=30)
            assert response.status == 303
            response.release()
        assert at_return == [rounds.ANSWERED]  # committed when the engine returned, before 303
    finally:
        await server.close()
