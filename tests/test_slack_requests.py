"""What Slack sends and how the app answers it: replies by DM, input errors at once, form keys,
direct messages, retried events, the home tab, forged, stale, unsigned and malformed requests,
and a 429 (end to end, the rig: tests/slack_rig.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest

from adapters.slack.block_values import decode_form_reference
from adapters.slack.forms import DRAFT
from storage import outbox, teams
from tests.engine_doors import counting
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    PEOPLE,
    Rig,
    acked_at_once,
    defaults,
    last_with_button,
    linked,
    onboarded,
    open_form,
    rig_fixture,
    set_up,
    shown,
    slack_fixture,
    submit_held,
    texts,
)
from tests.slack_signing import (
    TEAM_ID,
    app_home_opened,
    event_callback,
    interaction,
    member_joined_channel,
    new_event_id,
    post_signed,
    slash_command,
    view_closed,
)


@pytest.mark.parametrize("notified", [True, False], ids=["view_closed", "update_refused"])
async def test_the_reply_goes_by_dm_when_the_modal_was_closed(rig: Rig, notified: bool) -> None:
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    reply, release = await submit_held(rig, view, COORDINATOR, name="Partenariat Est", k="2")
    acked_at_once(reply)
    rig.slack.close_view(view["id"])
    updates = len(rig.slack.calls_to("views.update"))
    if notified:  # the "recording" view asks Slack to say when it is closed
        closed = view_closed(shown(rig.slack, view), user_id=COORDINATOR)
        assert (await post_signed(rig.url, interaction(closed))).status == 200
    release.set()
    await rig.bridge.settle()
    tried = rig.slack.calls_to("views.update")[updates:]
    assert len(tried) == (0 if notified else 1)
    assert all(call.error == "not_found" for call in tried)
    # The form came back by DM with its warning and what was typed: nothing is lost.
    (message,) = rig.slack.messages_to(COORDINATOR)
    assert "⚠" in texts(message)
    again = await open_form(rig, COORDINATOR)
    assert defaults(again)["name"] == "Partenariat Est" and defaults(again)["k"] == "2"
    assert not await linked(rig)


async def test_input_errors_are_answered_at_once_without_the_engine(rig: Rig) -> None:
    await onboarded(rig)
    await rig.command("U0BEN", "tension")
    form = rig.slack.last_view
    seen = counting(rig.engine)
    limit = next(b["element"]["max_length"] for b in form["blocks"] if b.get("block_id") == "text")
    for text, expected in (("   \n ", "cannot be empty"), ("x" * (limit + 1), f"{limit}")):
        reply = await rig.submit(form, "U0BEN", strict=False, text=text, theme="decisions")
        answer = reply.json()
        assert answer["response_action"] == "errors", answer
        assert set(answer["errors"]) == {"text"}
        assert expected in answer["errors"]["text"], answer
    assert seen == []  # the engine was not asked
    assert shown(rig.slack, form)["callback_id"] == "passerelle_form"  # the form stays
    # Corrected, the same modal (same id and hash after `errors`) goes through.
    reply = await rig.submit(form, "U0BEN", text="Les décisions arrivent tard.", theme="decisions")
    acked_at_once(reply)
    assert len(seen) == 1
    assert "passerelle:tension.confirm:" in json.dumps(shown(rig.slack, form))


async def test_a_form_filled_in_by_someone_opens_only_with_the_key_in_their_message(
    rig: Rig,
) -> None:
    await rig.command(COORDINATOR, "setup")
    view = rig.slack.last_view
    _, release = await submit_held(rig, view, COORDINATOR, name="Secret Est", k="2")
    rig.slack.close_view(view["id"])
    release.set()
    await rig.bridge.settle()
    # The form came back by DM; its button carries the draft's id and key.
    message = last_with_button(rig.slack, COORDINATOR)
    [button] = [
        element
        for block in message.blocks
        for element in block.get("elements", [])
        if element.get("action_id") == "open_form"
    ]
    mine = await rig.bridge.forms.card(button["value"])
    assert mine is not None and "Secret Est" in mine.model_dump_json()
    # Without the key (the modal's own reference) or with another key, nothing opens.
    assert await rig.bridge.forms.card(json.loads(view["private_metadata"])["f"]) is None
    action, context = decode_form_reference(button["value"])
    draft_id, _, _ = context[DRAFT].partition(".")
    forged = {**context, DRAFT: f"{draft_id}.{'A' * 43}="}
    assert await rig.bridge.forms.card(json.dumps({"a": action, "c": forged})) is None


async def test_a_direct_message_is_one_call_and_its_channel_is_remembered(rig: Rig) -> None:
    await set_up(rig)
    await rig.deliver()
    assert rig.slack.calls_to("conversations.open") == []
    posts = [c for c in rig.slack.calls_to("chat.postMessage") if c.ok]
    assert {str(c.params["channel"]) for c in posts} == {COORDINATOR, *PEOPLE}  # user ids
    for user in PEOPLE:
        assert rig.bridge.sender.dm_channel(TEAM_ID, user) == rig.slack.dm_id(user)


async def test_a_retried_event_is_processed_once(rig: Rig) -> None:
    await set_up(rig)
    rig.slack.add_user("U0NEW", tz="Europe/Paris", locale="fr-FR")
    rig.slack.channels[CHANNEL].members.append("U0NEW")
    seen = counting(rig.engine)
    body = event_callback(member_joined_channel("U0NEW", CHANNEL), event_id=new_event_id())
    first = await rig.post(body)
    again = await rig.post(body, retry_num=1)
    assert first.status == again.status == 200
    assert len(seen) == 1
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        refs = {m.user_ref for m in await teams.active_members(session, channel.team_id)}
    assert "U0NEW" in refs


async def test_home_tab_is_published(rig: Rig) -> None:
    await set_up(rig)
    reply = await rig.event(app_home_opened(COORDINATOR, rig.slack.dm_id(COORDINATOR)))
    assert reply.status == 200
    (published,) = rig.slack.calls_to("views.publish")
    assert published.ok, published.response
    assert rig.slack.home_views


async def test_forged_stale_and_unsigned_requests_get_401(rig: Rig) -> None:
    seen = counting(rig.engine)
    rig.slack.calls.clear()  # the start-up auth.test
    body = slash_command("setup", COORDINATOR, CHANNEL)
    forged = await post_signed(rig.url, body, "not-the-secret")
    stale = await post_signed(rig.url, body, timestamp=int(time.time()) - 600)
    async with aiohttp.ClientSession() as http, http.post(rig.url, data=body) as unsigned:
        unsigned_status = unsigned.status
    assert (forged.status, stale.status, unsigned_status) == (401, 401, 401)
    await rig.bridge.settle()
    assert seen == [] and rig.slack.calls == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"payload=%7Bnot-json", b"payload=", b"\xff\xfe\x00", b"[1, 2]", b"{}"],
)
async def test_malformed_signed_bodies_get_400_or_are_ignored_never_500(
    rig: Rig, body: bytes
) -> None:
    reply = await rig.post(body)
    assert reply.status < 500, (reply.status, reply.text)
    assert reply.status in (400, 404), reply.status


async def test_a_429_reschedules_the_message_then_it_is_sent(rig: Rig, clock: Any) -> None:
    await set_up(rig)
    rig.slack.fail_next("chat.postMessage", 429, retry_after=30)
    await rig.deliver()
    # One 429, and then the workspace is left alone: the other welcomes wait, unsent, instead
    # of each earning a 429 of its own.
    assert len(rig.slack.rejected_calls_to("chat.postMessage")) == 1
    async with rig.engine.database.session() as session:
        by_status = await outbox.counts(session)
    assert by_status.get("pending") == 6, by_status  # all wait for the Retry-After
    clock.advance(seconds=20)
    assert await rig.deliver() == 0
    clock.advance(seconds=11)
    assert await rig.deliver() == 6
    assert len(rig.slack.rejected_calls_to("chat.postMessage")) == 1
    async with rig.engine.database.session() as session:
        by_status = await outbox.counts(session)
    assert set(by_status) == {"sent"}, by_status
    for user in PEOPLE:
        assert rig.slack.messages_to(user), user
