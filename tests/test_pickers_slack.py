"""The pickers through the real Slack app (issue 13): signed slash commands and view
submissions against the strict fake, on SQLite and PostgreSQL.

The setup modal asks k with a `number_input` (3-50) and the zone with a `static_select` grouped
by region; the calendar asks its numbers with `number_input`s bounded by the model; the
profile's pause is a `datepicker`. Each is submitted as Slack sends it and recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from adapters.slack.block_limits import VIEW_BLOCKS
from storage import teams
from storage.models import Member, Team
from tests.block_kit_checks import check_blocks
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    Rig,
    acked_at_once,
    rig_fixture,
    slack_fixture,
)
from tests.slack_signing import TEAM_ID


def element(view: dict[str, Any], name: str) -> dict[str, Any]:
    block = next(b for b in view["blocks"] if b.get("block_id") == name)
    found: dict[str, Any] = block["element"]
    return found


async def the_team(rig: Rig) -> Team:
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        team = await teams.team_by_id(session, channel.team_id)
        assert team is not None
        return team


async def test_setup_calendar_and_profile_through_slacks_pickers(rig: Rig) -> None:
    assert (await rig.command(COORDINATOR, "setup")).status == 200
    setup = rig.slack.last_view
    check_blocks(setup["blocks"], VIEW_BLOCKS)  # as the fake stored it: Block Kit's limits
    k = element(setup, "k")
    assert k == {
        "type": "number_input",
        "action_id": "k",
        "is_decimal_allowed": False,
        "initial_value": "5",
        "min_value": "3",
        "max_value": "50",
    }
    zone = element(setup, "timezone")
    labels = [g["label"]["text"] for g in zone["option_groups"]]
    assert labels[0] == "Canada" and "Afrique" in labels
    acked_at_once(
        await rig.submit(
            setup, COORDINATOR, name="Partenariat Est", k="6", timezone="America/Winnipeg"
        )
    )
    team = await the_team(rig)
    assert (team.k, team.timezone) == (6, "America/Winnipeg")

    assert (await rig.command(COORDINATOR, "schedule")).status == 200
    calendar = rig.slack.last_view
    check_blocks(calendar["blocks"], VIEW_BLOCKS)  # as the fake stored it: Block Kit's limits
    window = element(calendar, "response_window_hours")
    assert (window["type"], window["min_value"], window["max_value"]) == (
        "number_input",
        "4",
        "336",
    )
    acked_at_once(
        await rig.submit(calendar, COORDINATOR, response_window_hours="96", checkin_every_weeks="3")
    )
    team = await the_team(rig)
    assert (team.response_window_hours, team.checkin_every_weeks) == (96, 3)

    assert (
        await rig.command(COORDINATOR, "profile", channel=rig.slack.dm_id(COORDINATOR))
    ).status == 200
    profile = rig.slack.last_view
    check_blocks(profile["blocks"], VIEW_BLOCKS)  # as the fake stored it: Block Kit's limits
    assert element(profile, "paused_until")["type"] == "datepicker"
    acked_at_once(
        await rig.submit(
            profile,
            COORDINATOR,
            sector="public",
            position="coordinator",
            paused_until="2099-03-01",
        )
    )
    async with rig.engine.database.session() as session:
        member = await session.scalar(select(Member).where(Member.user_ref == COORDINATOR))
    assert member is not None and member.paused_until == dt.date(2099, 3, 1)
