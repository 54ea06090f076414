"""Slack workspaces and channels over time: reinstalled, uninstalled, suspended and resumed, the
bot added to or missing from a channel, a restart, an unreachable person, and the pace left to
the outbox (end to end, the rig: tests/slack_rig.py)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack.forms import FormCards
from dialogs.engine import Engine
from storage import outbox, teams
from storage.models import SuspendedWorkspace
from tests.fake_slack import FakeSlack
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    PEOPLE,
    PROFILES,
    Rig,
    acked_at_once,
    defaults,
    onboarded,
    open_form,
    rig_fixture,
    rig_for,
    scales,
    set_up,
    shown,
    slack_fixture,
    team_slug,
)
from tests.slack_signing import (
    TEAM_ID,
    member_joined_channel,
)


async def install(rig: Rig, code: str, token: str) -> None:
    """The OAuth install, as an admin's browser goes through it."""
    rig.slack.register_oauth_code(
        code, team_id=TEAM_ID, bot_token=token, bot_user_id=rig.slack.bot_user_id
    )
    base = str(rig.server.make_url(""))
    rig.slack.oauth_redirect_uri = f"{base}/slack/oauth_redirect"
    async with aiohttp.ClientSession() as browser:
        start = await browser.get(f"{base}/slack/install", allow_redirects=False)
        assert start.status == 302, await start.text()
        cookie = start.headers["Set-Cookie"].split(";")[0]
        consent = await browser.get(start.headers["Location"], allow_redirects=False)
        assert consent.status == 302
        done = await browser.get(consent.headers["Location"], headers={"Cookie": cookie})
        assert done.status == 200, await done.text()


async def suspended(engine: Engine) -> set[str]:
    async with engine.database.session() as session:
        rows = (await session.scalars(select(SuspendedWorkspace))).all()
    return {r.workspace for r in rows}


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_revoked_then_reinstalled_workspace_loses_nothing(
    engine: Engine, slack: FakeSlack, clock: Any
) -> None:
    rig = await rig_for(engine, slack, oauth=True)
    try:
        await install(rig, "code-1", "xoxb-first")
        await set_up(rig)
        assert slack.calls_to("views.open")[-1].token == "xoxb-first"
        # The token is revoked: the sender suspends the workspace, the messages stay pending.
        slack.revoke("xoxb-first")
        assert await rig.deliver() >= 1
        assert await suspended(engine) == {TEAM_ID}
        async with engine.database.session() as session:
            pending = (await outbox.counts(session)).get("pending", 0)
        assert pending == len(PROFILES)  # the welcomes, the coordinator's included
        assert await rig.deliver() == 0  # nothing is claimed while suspended
        # Slack's own notice suspends too (idempotent).
        reply = await rig.event({"type": "tokens_revoked", "tokens": {"bot": ["U0PASSBOT"]}})
        assert reply.status == 200
        assert await suspended(engine) == {TEAM_ID}
        # A re-install resumes: everything pending is sent with the new token.
        await install(rig, "code-2", "xoxb-second")
        assert await suspended(engine) == set()
        clock.advance(seconds=2)
        assert await rig.deliver() == len(PROFILES)
        for user in PEOPLE:
            (_welcome,) = slack.messages_to(user)
        assert {c.token for c in slack.calls_to("chat.postMessage")[-len(PROFILES) :]} == {
            "xoxb-second"
        }
    finally:
        await rig.server.close()


async def test_app_uninstalled_suspends_the_workspace(rig: Rig) -> None:
    reply = await rig.event({"type": "app_uninstalled"})
    assert reply.status == 200
    assert await suspended(rig.engine) == {TEAM_ID}


async def test_leaving_the_channel_leaves_the_team(rig: Rig) -> None:
    await set_up(rig)
    left = {**member_joined_channel("U0DAVE", CHANNEL), "type": "member_left_channel"}
    assert (await rig.event(left)).status == 200
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        refs = {m.user_ref for m in await teams.active_members(session, channel.team_id)}
    assert "U0DAVE" not in refs and "U0ANNE" in refs


async def test_the_bot_added_to_a_channel_offers_setup_to_whoever_added_it(rig: Rig) -> None:
    rig.slack.add_channel("C0OTHER", "autre", members=[COORDINATOR])
    joined = member_joined_channel(rig.slack.bot_user_id, "C0OTHER", inviter=COORDINATOR)
    assert (await rig.event(joined)).status == 200
    (offer,) = rig.slack.ephemerals_for(COORDINATOR)
    assert offer.channel == "C0OTHER" and "open_form" in json.dumps(offer.blocks)


async def test_a_form_posted_before_a_restart_still_opens(rig: Rig) -> None:
    await onboarded(rig)
    await rig.engine.jobs.run("checkin", await team_slug(rig))
    await rig.deliver()
    engine = rig.engine  # a new process: nothing in its memory
    rig.bridge.forms = FormCards(engine.database, engine.clock)
    view = await open_form(rig, "U0ANNE")
    assert scales(view)
    answers: dict[str, Any] = dict.fromkeys(scales(view), "4")
    reply = await rig.submit(view, "U0ANNE", **answers)
    acked_at_once(reply)
    assert "submit" not in shown(rig.slack, view)  # thanks: recorded


async def test_a_refused_submission_comes_back_with_what_was_typed(rig: Rig) -> None:
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    reply = await rig.submit(view, COORDINATOR, name="Partenariat Est", k="2")
    acked_at_once(reply)
    again = shown(rig.slack, view)  # the same form, with a warning and what was typed
    assert "⚠" in json.dumps(again, ensure_ascii=False)
    assert again["submit"] and again["callback_id"] == "passerelle_form"
    assert defaults(again)["name"] == "Partenariat Est"
    assert defaults(again)["k"] == "2"
    async with rig.engine.database.session() as session:
        assert await teams.channel_at(session, "slack", TEAM_ID, CHANNEL) is None


async def test_the_sender_gives_up_on_an_unreachable_person(rig: Rig) -> None:
    from dialogs.cards import notice
    from dialogs.ports import Delivery, DeliveryFailed

    card = notice("Bonjour", "Un message")
    with pytest.raises(DeliveryFailed) as failed:
        await rig.bridge.sender.send(Delivery("slack", TEAM_ID, "direct", "U0NOBODY", card))
    assert failed.value.unreachable
    with pytest.raises(DeliveryFailed) as failed:
        await rig.bridge.sender.send(Delivery("slack", TEAM_ID, "channel", "C0GONE", card))
    assert failed.value.unreachable


async def test_one_workspace_resumes_when_its_token_works_again(
    engine: Engine, slack: FakeSlack
) -> None:
    rig = await rig_for(engine, slack)
    try:
        assert (await rig.event({"type": "tokens_revoked", "tokens": {}})).status == 200
        assert await suspended(engine) == {TEAM_ID}
    finally:
        await rig.server.close()
    restarted = await rig_for(engine, slack)  # a restart with a working SLACK_BOT_TOKEN
    try:
        assert await suspended(engine) == set()
    finally:
        await restarted.server.close()


async def test_setup_without_the_bot_in_the_channel_asks_to_invite_it(rig: Rig) -> None:
    rig.slack.fail_next("conversations.members", status=200, error="not_in_channel")
    await set_up(rig)
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None  # the team is created all the same
        members = await teams.active_members(session, channel.team_id)
    assert {m.user_ref for m in members} == {COORDINATOR}
    told = json.dumps([m.blocks for m in rig.slack.messages_to(COORDINATOR)], ensure_ascii=False)
    assert "tapez /invite dans le canal et choisissez Passerelle" in told
    # Once the bot is in the channel, its members join the team.
    joined = member_joined_channel(rig.slack.bot_user_id, CHANNEL, inviter=COORDINATOR)
    assert (await rig.event(joined)).status == 200
    async with rig.engine.database.session() as session:
        members = await teams.active_members(session, channel.team_id)
    assert {m.user_ref for m in members} == {COORDINATOR, *PEOPLE}


# ------------------------------------------------------------------ pace
# (the shared, learned pace itself: tests/test_adaptive_pacing.py)
async def test_a_429_is_left_to_the_outbox_and_costs_no_attempt(rig: Rig) -> None:
    from dialogs.cards import notice
    from dialogs.ports import Delivery, DeliveryFailed

    rig.slack.fail_next("chat.postMessage", 429, retry_after=7)
    card = notice("Bonjour", "Un message")
    with pytest.raises(DeliveryFailed) as failed:
        await rig.bridge.sender.send(Delivery("slack", TEAM_ID, "direct", "U0ANNE", card))
    assert failed.value.retry_after == 7 and not failed.value.unreachable
