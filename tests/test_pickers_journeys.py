"""The pickers end to end (issue 13): each form that asks a date, a time, a number or a time
zone, filled on a platform as its client sends it, and recorded. On SQLite and PostgreSQL.

- Teams (botbuilder against the fake connector): the settings card's k is an `Input.Number`
  3-50 and its zone a filtered `Input.ChoiceSet`; the reflexive schedule's date and time are
  `Input.Date` and `Input.Time`.
- The sandbox (its HTTP form post): the welcome form's pause is `<input type="date">`, its zone
  a `<select>` with `<optgroup>`; the calendar's numbers are `<input type="number">`.
- Typed text (a console, a card sent before the pickers): "Montréal", "13h30",
  "3 décembre 2026" are understood; "(N caractères au plus)" is gone from number fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.demo import seed
from bot.server import build_app
from bot.settings import Settings
from dialogs.cards import TextInput
from dialogs.engine import Engine
from dialogs.reflexive.models import ReflexiveSchedule
from storage import teams
from storage.models import Member, Team
from tests.helpers import say, seeded, submit_card, text_of
from tests.teams_activities import fill
from tests.teams_rig import COORDINATOR, Rig, onboarded


def inputs_of(card: dict[str, object]) -> dict[str, dict[str, object]]:
    body = card.get("body")
    assert isinstance(body, list)
    return {e["id"]: e for e in body if str(e.get("type", "")).startswith("Input.")}


async def team_by_slug(engine: Engine, slug: str) -> Team:
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, slug)
        assert team is not None
        return team


async def test_teams_settings_take_k_as_a_number_and_the_zone_by_city(rig: Rig) -> None:
    slug = await onboarded(rig)
    assert await rig.say(COORDINATOR, "settings") in (200, 201)
    card_id, card = rig.last_form(COORDINATOR["id"], "settings.save")
    fields = inputs_of(card)
    k = fields["k"]
    assert (k["type"], k["min"], k["max"], k["value"]) == ("Input.Number", 3, 50, 3)
    assert "caractères" not in str(k["label"]) and "characters" not in str(k["label"])
    zone = fields["timezone"]
    assert (zone["type"], zone["style"]) == ("Input.ChoiceSet", "filtered")
    choices = zone["choices"]
    assert isinstance(choices, list)
    assert any(c["value"] == "Europe/Brussels" for c in choices)
    # Teams sends what the person picked: the number as text, the zone's IANA name.
    value = fill(card, k="7", timezone="Europe/Brussels", tension_weekly_limit="4")
    assert await rig.submit(COORDINATOR, card_id, value) in (200, 201)
    team = await team_by_slug(rig.engine, slug)
    assert (team.k, team.timezone, team.tension_weekly_limit) == (7, "Europe/Brussels", 4)


async def test_teams_reflexive_schedule_uses_the_date_and_time_inputs(rig: Rig) -> None:
    await onboarded(rig)
    assert await rig.say(COORDINATOR, "reflexive") in (200, 201)
    card_id, card = rig.last_form(COORDINATOR["id"], "reflexive.save")
    fields = inputs_of(card)
    assert fields["date"]["type"] == "Input.Date" and fields["time"]["type"] == "Input.Time"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(fields["date"]["value"]))
    assert fields["time"]["value"] == "13:30"
    value = fill(card, prompt="X1", date="2027-02-04", time="09:15", lead="24")
    assert await rig.submit(COORDINATOR, card_id, value) in (200, 201)
    async with rig.engine.database.session() as session:
        stored = await session.scalar(select(ReflexiveSchedule.first_local))
    assert stored == dt.datetime(2027, 2, 4, 9, 15)


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    assert await seed(engine)
    app = build_app(Settings(PASSERELLE_SCHEDULER=False), engine.database, engine)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def member(engine: Engine, user_ref: str) -> Member:
    async with engine.database.session() as session:
        found = await session.scalar(select(Member).where(Member.user_ref == user_ref))
        assert found is not None
        return found


async def test_sandbox_welcome_posts_the_pickers_values(
    client: TestClient[web.Request, web.Application], engine: Engine
) -> None:
    page = await (await client.get("/sandbox", params={"as": "camille"})).text()
    assert re.search(r'<input type="date" id="m\d+-f\d+" name="paused_until" value="">', page)
    assert re.search(
        r'<select id="m\d+-f\d+" name="timezone" required><optgroup label="Canada">', page
    )
    assert '<option value="America/Toronto" selected>Montréal, Toronto, Ottawa, Québec' in page
    data = {
        "as": "camille",
        "action": "profile.save",
        "ctx.team": "demo",
        "sector": "public",
        "position": "front_line",
        "language": "fr",
        "timezone": "America/Halifax",
        "paused_until": "2099-01-31",
        "quiet_start": "20",
        "quiet_end": "8",
    }
    response = await client.post("/sandbox/submit", data=data)
    assert response.status == 200
    camille = await member(engine, "camille")
    assert (camille.timezone, camille.paused_until) == ("America/Halifax", dt.date(2099, 1, 31))


async def test_sandbox_calendar_numbers_are_number_fields(
    client: TestClient[web.Request, web.Application],
) -> None:
    await client.post("/sandbox/command", data={"as": "emilie", "text": "horaire"})
    page = await (await client.get("/sandbox", params={"as": "emilie"})).text()
    assert "celles de l’équipe (Montréal)" in page  # the team's zone by its city
    window = re.search(r'<input type="number"[^>]*name="response_window_hours"[^>]*>', page)
    assert window is not None
    assert 'min="4"' in window[0] and 'max="336"' in window[0]
    assert re.search(
        r'<input type="number"[^>]*name="checkin_every_weeks"[^>]*min="1" max="8"', page
    )
    assert "caractères au plus" not in page.split('name="response_window_hours"')[0][-400:]


async def test_typed_text_is_understood_where_there_is_no_picker(engine: Engine) -> None:
    await seeded(engine)
    profile = (await say(engine, "camille", "profil"))[0]
    values = {
        b.name: getattr(b, "default", None) or "" for b in profile.inputs() if hasattr(b, "name")
    }
    values |= {"timezone": "Montreal", "paused_until": "31 décembre 2099"}
    assert "⚠" not in text_of(await submit_card(engine, "camille", profile, values))
    camille = await member(engine, "camille")
    assert (camille.timezone, camille.paused_until) == ("America/Toronto", dt.date(2099, 12, 31))

    form = (await say(engine, "emilie", "reflexif"))[0]
    intro = text_of([form])
    assert "(Montréal)" in intro and "America/Toronto" not in intro
    assert {b.name: b.picker for b in form.inputs() if isinstance(b, TextInput)} == {
        "custom": "text",
        "date": "date",
        "time": "time",
    }
    typed = {"prompt": "X1", "custom": "", "date": "3 décembre 2026", "time": "13h30"}
    typed |= {"recurrence": "once", "lead": "24", "channel": "all"}
    saved = await submit_card(engine, "emilie", form, typed)
    assert "⚠" not in text_of(saved)
    async with engine.database.session() as session:
        stored = await session.scalar(select(ReflexiveSchedule.first_local))
    assert stored == dt.datetime(2026, 12, 3, 13, 30)


async def test_a_wrong_typed_time_is_refused_with_an_example_and_kept(engine: Engine) -> None:
    await seeded(engine)
    form = (await say(engine, "emilie", "reflexif"))[0]
    typed = {"prompt": "X1", "custom": "", "date": "2026-12-03", "time": "treize heures"}
    typed |= {"recurrence": "once", "lead": "24", "channel": "all"}
    (again,) = await submit_card(engine, "emilie", form, typed)
    assert "13 h 30" in text_of([again]) and "Heure de la rencontre" in text_of([again])
    kept = next(b for b in again.inputs() if b.name == "time")
    assert kept.default == "treize heures"
