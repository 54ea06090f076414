"""Passerelle in the Microsoft 365 Agents Playground (the real npm package, offline), driven
through its page in headless Chromium: a member asks for the open check-in, answers it on the
Adaptive Card, and the card is replaced by the thanks; the ballot is recorded once.

The Playground plays Teams in local mode: no app id, no token, its own connector at
`serviceUrl`. Its person is "Alex Wilber" (`user-id-0`) in a fixed tenant; the test makes them a
member of a partnership team with an open round before the page opens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import expect

from bot.server import build_app
from bot.settings import Settings
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from storage import teams
from tests.chromium import require_chromium
from tests.loopback_app import on_loopback
from tests.playground import (
    Playground,
    choose,
    newest_card,
    playground_page,
    require_playground,
    run_playground,
    send_message,
    submit,
)

pytestmark = pytest.mark.browser
TENANT = "00000000-0000-0000-0000-0000000000001"  # the Playground's default tenant
ALEX = Actor("teams", TENANT, "user-id-0", "Alex Wilber", locale="en-US")
CHANNEL = Place("teams", TENANT, "team-id", "General")


async def partnership_with_open_round(engine: Engine) -> tuple[int, int]:
    """Alex coordinates a team linked to the Playground's team; a check-in is open."""
    setup = {
        "name": "Playground partners",
        "language": "en",
        "timezone": "America/Toronto",
        "checkin_weekday": "1",
        "checkin_hour": "10",
        "checkin_every_weeks": "2",
        "k": "3",
    }
    (form,) = await engine.handle(CommandReceived(ALEX, "setup", CHANNEL))
    assert form.form is not None  # the card is bound to Alex, who asked for it
    await engine.handle(FormSubmitted(ALEX, "setup.save", form.form.context, setup, CHANNEL))
    profile = {
        "sector": "community",
        "position": "coordinator",
        "language": "en",
        "timezone": "America/Toronto",
        "paused_until": "",
        "quiet_start": "20",
        "quiet_end": "8",
    }
    async with engine.database.session() as session:
        channel = await teams.channel_at(session, "teams", TENANT, "team-id")
        assert channel is not None
        team = await teams.team_by_id(session, channel.team_id)
        assert team is not None
        slug = team.slug
    await engine.handle(FormSubmitted(ALEX, "profile.save", {"team": slug}, profile))
    await engine.jobs.run("checkin", slug)
    async with engine.database.session() as session:
        round_ = await rounds.open_round_of(session, channel.team_id)
        assert round_ is not None
        (member,) = await teams.active_members(session, channel.team_id)
        return round_.id, member.id


@pytest.fixture
async def endpoint(engine: Engine) -> AsyncIterator[str]:
    require_playground()
    require_chromium()
    app = build_app(Settings(PASSERELLE_SCHEDULER=False), engine.database, engine)
    async with on_loopback(app) as url:
        yield f"{url}/api/messages"


@pytest.fixture
async def playground(endpoint: str) -> AsyncIterator[Playground]:
    async with run_playground(endpoint) as running:
        yield running


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_checkin_answered_in_the_playground(engine: Engine, playground: Playground) -> None:
    round_id, member_id = await partnership_with_open_round(engine)
    async with playground_page(playground) as page:
        await send_message(page, "checkin")
        card = newest_card(page, "Send my answers")
        await expect(card.get_by_role("radiogroup").first).to_be_visible()
        groups = card.get_by_role("radiogroup")
        count = await groups.count()
        assert count >= 4
        for index in range(count):
            await choose(groups.nth(index), "3")
        await submit(card, "Send my answers")
        thanks = newest_card(page, "Thank you!")
        await expect(thanks).to_be_visible()
        # Replaced in place: no card with the form is left to submit twice.
        await expect(newest_card(page, "Send my answers")).to_have_count(0)
    async with engine.database.session() as session:
        assert await rounds.status_of(session, round_id, member_id) == rounds.ANSWERED
