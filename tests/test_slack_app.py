"""Slack end to end: the real Bolt app in our aiohttp server, the real AsyncWebClient, a fake
Slack Web API (tests/fake_slack/) and requests signed exactly as Slack signs them.
The journey here; the rig: tests/slack_rig.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from adapters.slack.acks import RECORDING_CALLBACK_ID
from dialogs.cards import Paragraph
from dialogs.checkins import round_store as rounds
from dialogs.events import Actor, FormSubmitted
from storage import teams
from tests.engine_doors import held
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    PEOPLE,
    PROFILES,
    Rig,
    acked_at_once,
    in_intake,
    linked,
    onboarded,
    open_form,
    rig_fixture,
    scales,
    set_up,
    shown,
    slack_fixture,
    team_slug,
    texts,
)
from tests.slack_signing import (
    TEAM_ID,
    action,
    block_actions,
    interaction,
    post_signed,
)
from tests.test_summary_readers import trust_declared_positions


# ------------------------------------------------------------------ the journey
async def test_setup_links_the_channel_and_onboards_its_members(rig: Rig) -> None:
    await set_up(rig)
    async with rig.engine.database.session() as session:
        channel = await teams.channel_at(session, "slack", TEAM_ID, CHANNEL)
        assert channel is not None
        members = await teams.active_members(session, channel.team_id)
    by_ref = {m.user_ref: m for m in members}
    assert set(by_ref) == {COORDINATOR, *PEOPLE}  # no bot
    assert by_ref[COORDINATOR].is_coordinator
    assert by_ref["U0CLEO"].timezone == "Europe/Paris"
    assert by_ref["U0BEN"].language == "en" and by_ref["U0CLEO"].language == "fr"
    await rig.deliver()
    for user in PEOPLE:
        assert rig.slack.messages_to(user), user  # the welcome, with the profile form


async def test_a_channel_linked_by_code_onboards_its_members(rig: Rig) -> None:
    """`/passerelle setup CODE` in a second channel: its members join the team and are
    welcomed, as after a setup (a linked channel's people are not left out)."""
    await set_up(rig)
    rig.slack.add_user("U0FAY", "fay", tz="America/Toronto", locale="fr-CA")
    rig.slack.add_channel("C0SECOND", "deuxieme", members=[COORDINATOR, "U0FAY", "U0OTHERBOT"])
    slug = await team_slug(rig)
    coordinator = Actor("slack", TEAM_ID, COORDINATOR)
    (card,) = await rig.engine.handle(FormSubmitted(coordinator, "setup.link_code", {"team": slug}))
    [code] = [b.text for b in card.blocks if isinstance(b, Paragraph) and b.text.count("-") == 2]
    reply = await rig.command(COORDINATOR, f"setup {code}", channel="C0SECOND")
    assert reply.status == 200
    async with rig.engine.database.session() as session:
        linked = await teams.channel_at(session, "slack", TEAM_ID, "C0SECOND")
        assert linked is not None
        members = {m.user_ref for m in await teams.active_members(session, linked.team_id)}
    assert "U0FAY" in members and "U0OTHERBOT" not in members
    await rig.deliver()
    assert rig.slack.messages_to("U0FAY")  # the welcome, with the profile form


async def test_checkin_answered_in_the_modal_then_summary_with_chart(rig: Rig) -> None:
    await onboarded(rig)
    slug = await team_slug(rig)
    result = await rig.engine.jobs.run("checkin", slug)
    assert result.count == len(PROFILES)
    await rig.deliver()
    for n, user in enumerate(PROFILES):
        view = await open_form(rig, user)
        answers: dict[str, Any] = {
            name: str((n + i) % 5 + 1) for i, name in enumerate(scales(view))
        }
        reply = await rig.submit(view, user, **answers)
        acked_at_once(reply)
        thanks = shown(rig.slack, view)  # the thanks, in the modal (not kept in the DMs)
        assert "submit" not in thanks and thanks["callback_id"] != RECORDING_CALLBACK_ID
        assert thanks["title"]["text"] in ("Merci\u00a0!", "Thank you!"), thanks["title"]
    # The same modal submitted twice (a double click): recorded once.
    twice = await rig.submit(view, user, **answers)
    assert twice.status == 200
    await trust_declared_positions(rig.engine.database)  # managers declared themselves
    await rig.engine.jobs.run("close", slug)
    await rig.deliver()
    managers = ["U0BEN", "U0CLEO"]
    for user in managers:
        *_, summary, chart = rig.slack.messages_to(user)
        assert "6" in texts(summary), texts(summary)
        assert chart.files and not chart.blocks
    uploads = rig.slack.calls_to("files.completeUploadExternal")
    assert uploads and all(c.ok for c in uploads)
    charts = list(rig.slack.files.values())
    assert charts and all(f.completed and f.alt_txt and f.content for f in charts)
    assert all(f.content.startswith(b"\x89PNG") for f in charts if f.content)
    async with rig.engine.database.session() as session:
        (round_,) = await rounds.rounds_of(session, 1)
        assert (round_.asked_count, round_.answered_count) == (6, 6)


SMUGGLED = "Les décisions <!channel> arrivent sans nous <@U0BEN> *fort* <https://x.io|ici>"


async def test_tension_preview_confirm_then_published_in_the_batch(rig: Rig) -> None:
    await onboarded(rig)
    slug = await team_slug(rig)
    await rig.command("U0ANNE", "tension")
    form = rig.slack.last_view
    reply = await rig.submit(form, "U0ANNE", text=SMUGGLED, theme="decisions")
    acked_at_once(reply)
    preview = shown(rig.slack, form)  # the preview replaces the form
    assert "passerelle:tension.confirm:" in json.dumps(preview)
    confirm = block_actions(
        [action(preview["blocks"], next_confirm(preview))],
        user_id="U0ANNE",
        view=preview,
    )
    reply = await rig.post(interaction(confirm))
    assert reply.status == 200
    *_, preview_shown, confirmed = rig.slack.calls_to("views.update")
    assert preview_shown.params["view_id"] == confirmed.params["view_id"] == form["id"]
    assert preview_shown.ok and confirmed.ok, confirmed.response
    assert "passerelle:tension.confirm:" not in json.dumps(shown(rig.slack, form))
    await rig.deliver()
    assert not rig.slack.messages_in(CHANNEL)  # never at the moment of writing
    await rig.engine.jobs.run("batch", slug)
    await rig.deliver()
    (posted,) = rig.slack.messages_in(CHANNEL)
    body = texts(posted)
    assert "arrivent sans nous" in body
    for markup in ("<!channel>", "<@U0BEN>", "<https://", "*fort*"):
        assert markup not in body, markup


async def test_a_button_that_submits_is_committed_before_its_ack(rig: Rig) -> None:
    """Confirming a tension is a submission: in the intake before the ack, then recorded."""
    await onboarded(rig)
    await rig.command("U0ANNE", "tension")
    form = rig.slack.last_view
    acked_at_once(await rig.submit(form, "U0ANNE", text="Trop de réunions.", theme="decisions"))
    preview = shown(rig.slack, form)
    started, release = held(rig.engine)
    confirm = block_actions(
        [action(preview["blocks"], next_confirm(preview))], user_id="U0ANNE", view=preview
    )
    reply = await asyncio.wait_for(post_signed(rig.url, interaction(confirm)), timeout=60)
    assert reply.status == 200
    await asyncio.wait_for(started.wait(), timeout=60)
    assert await in_intake(rig.engine) == 1  # committed before the ack
    assert "passerelle:tension.confirm:" in json.dumps(shown(rig.slack, form))
    release.set()
    await rig.bridge.settle()
    assert await in_intake(rig.engine) == 0
    assert "passerelle:tension.confirm:" not in json.dumps(shown(rig.slack, form))


def next_confirm(view: dict[str, Any]) -> str:
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id", "").startswith("passerelle:tension.confirm:"):
                return str(element["action_id"])
    raise AssertionError("no confirm button")


async def test_success_and_reflexive_prompt_posted_in_the_channel(rig: Rig) -> None:
    await onboarded(rig)
    slug = await team_slug(rig)
    await rig.command("U0DAVE", "success")
    reply = await rig.submit(
        rig.slack.last_view, "U0DAVE", text="Access unblocked @here", consent="named"
    )
    acked_at_once(reply)
    await rig.deliver()
    await rig.engine.jobs.run("batch", slug)
    await rig.deliver()
    channel = " ".join(texts(m) for m in rig.slack.messages_in(CHANNEL))
    assert "Access unblocked" in channel and "@here" not in channel
    await rig.command(COORDINATOR, "reflexive")
    view = rig.slack.last_view
    reply = await rig.submit(
        view, COORDINATOR, prompt="X1", date="2026-12-03", time="13:30", lead="24"
    )
    acked_at_once(reply)
    await rig.engine.jobs.run("reflexive-invite", slug)
    await rig.deliver()
    invite = await open_form(rig, "U0EVA")
    reply = await rig.submit(invite, "U0EVA", text="We never talk about funding.")
    assert reply.status == 200
    await rig.engine.jobs.run("reflexive", slug)
    await rig.deliver()
    channel = " ".join(texts(m) for m in rig.slack.messages_in(CHANNEL))
    assert "We never talk about funding." in channel
