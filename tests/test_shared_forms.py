"""Two Slack processes on one database behave as one, end to end (two real Bolt apps in two
aiohttp servers sharing a database and a secret, one fake Slack): a form that came back with
what someone typed opens on the other process and records what was typed; a view closed on
one is known to the other; the ack's language comes from the database; a tension's
"confirm" delivered twice never hides its one-time code; a modal whose `private_metadata`
we did not sign is refused, nothing changed (the forged `setup` of the authorization audit)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from adapters.slack.events import ModalMetadata
from dialogs.engine import Engine
from storage import intake, teams
from storage.coordination import FormDraft
from storage.database import Database
from storage.models import Intake, Member, Sealed, Team
from storage.sealing import SealBroken, Sealer
from tests.conftest import Clock
from tests.engine_doors import held
from tests.fake_slack import FakeSlack
from tests.slack_rig import (
    CHANNEL,
    COORDINATOR,
    PEOPLE,
    Rig,
    acked_at_once,
    add_people,
    defaults,
    last_with_button,
    onboarded,
    rig_for,
    set_up,
    shown,
)
from tests.slack_signing import (
    TEAM_ID,
    action,
    block_actions,
    interaction,
    post_signed,
    view_closed,
    view_submission,
)

SECRET = "shared-forms-secret-0123456789-abcdefghijkl"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        add_people(fake)
        fake.add_channel(CHANNEL, "partenariat", members=[COORDINATOR, *PEOPLE])
        fake.add_channel("C0OTHER", "ailleurs", members=["U0EVA"])
        yield fake


@pytest.fixture
async def rigs(database: Database, slack: FakeSlack) -> AsyncIterator[tuple[Rig, Rig]]:
    """Two processes: their own engine, bridge, intake worker and HTTP server; one database
    and one secret."""
    clock = Clock()
    started = []
    try:
        for _ in range(2):
            engine = Engine(database, clock=clock, sealer=Sealer(SECRET))
            started.append(await rig_for(engine, slack))
        yield started[0], started[1]
    finally:
        for rig in started:
            await rig.server.close()


async def settle(*rigs: Rig) -> None:
    """Until every delivery in the intake is recorded and answered, by whichever process's
    worker claimed it (the other one's poll may win a row that this one acked). The intake
    seen empty means its last row's recorder had claimed it, so the settles after that wait
    for its answer."""
    database = rigs[0].engine.database
    while True:
        async with database.session() as session:
            waiting = await intake.count(session)
        for rig in rigs:
            await rig.bridge.settle()
        if not waiting:
            return


async def linked_team(database: Database, channel: str = CHANNEL) -> Team | None:
    async with database.session() as session:
        found = await teams.channel_at(session, "slack", TEAM_ID, channel)
        return await teams.team_by_id(session, found.team_id) if found else None


async def test_a_form_opened_on_one_process_and_submitted_through_another_records_what_was_typed(
    rigs: tuple[Rig, Rig], database: Database
) -> None:
    a, b = rigs
    await set_up(a)
    await a.command(COORDINATOR, "profile", channel=a.slack.dm_id(COORDINATOR))
    view = a.slack.last_view
    # A date picker sends only dates: a past one is what the engine refuses here.
    typed = {"sector": "community", "position": "manager", "paused_until": "2020-01-31"}
    started, release = held(a.engine)
    payload = view_submission(view, {**defaults(view), **typed}, user_id=COORDINATOR)
    reply = await post_signed(a.url, interaction(payload), a.slack.signing_secret)
    recording = acked_at_once(reply)
    a.slack.answer_submission(payload["view"], reply.json())
    await asyncio.wait_for(started.wait(), timeout=60)
    # The person closes the "recording" view; Slack's view_closed reaches the other process.
    closed = view_closed(shown(a.slack, view), user_id=COORDINATOR)
    assert (await b.post(interaction(closed))).status == 200
    release.set()
    await settle(a, b)
    # Process A refused the date and, knowing the view was closed, sent the form back by DM
    # with what was typed (kept sealed): the modal was left alone.
    assert shown(a.slack, view)["callback_id"] == recording["callback_id"]
    message = last_with_button(a.slack, COORDINATOR)
    async with database.session() as session:
        ((draft_id, blob),) = (await session.execute(select(FormDraft.key, FormDraft.blob))).all()
    for secret in (b"2020-01-31", COORDINATOR.encode(), TEAM_ID.encode()):
        assert secret not in blob
    # Neither the server's key nor anything derived from the person opens or names it.
    with pytest.raises(SealBroken):
        a.engine.sealer.open(f"form draft {draft_id}", blob)
    # "Open the form" through process B: what was typed is there...
    assert (await b.click(COORDINATOR, message, "open_form")).status == 200
    again = b.slack.last_view
    assert {k: defaults(again)[k] for k in typed} == typed
    # ...and, the date corrected, what was typed is recorded.
    acked_at_once(await b.submit(again, COORDINATOR, paused_until=""))
    await settle(a, b)
    async with database.session() as session:
        member = await session.scalar(select(Member).where(Member.user_ref == COORDINATOR))
    assert member is not None and (member.sector, member.position) == ("community", "manager")


async def test_the_ack_speaks_the_members_stored_language_on_every_process(
    rigs: tuple[Rig, Rig], database: Database
) -> None:
    a, b = rigs
    await onboarded(a)
    async with database.session() as session, session.begin():
        await session.execute(
            update(Member).where(Member.user_ref == "U0BEN").values(language="fr")
        )
    for rig in (a, b):  # Slack says en-US; the member chose French: both processes agree
        await rig.command("U0BEN", "tension")
        form = rig.slack.last_view
        reply = await rig.submit(form, "U0BEN", text="Une tension.", theme="decisions")
        assert acked_at_once(reply)["title"]["text"] == "Merci"
        too_long = "x" * 5000
        errors = (await rig.submit(form, "U0BEN", strict=False, text=too_long)).json()
        assert errors["response_action"] == "errors"
        assert "5000" in errors["errors"]["text"] and "caractères" in errors["errors"]["text"]


def confirm_click(slack: FakeSlack, view: dict[str, Any], user: str) -> bytes:
    current = shown(slack, view)
    (action_id,) = [
        e["action_id"]
        for block in current["blocks"]
        for e in block.get("elements", [])
        if str(e.get("action_id", "")).startswith("passerelle:tension.confirm")
    ]
    return interaction(
        block_actions([action(current["blocks"], action_id)], user_id=user, view=current)
    )


async def sealed_tensions(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Sealed)) or 0)


@pytest.mark.parametrize("twice", ["same delivery to both", "double click"])
async def test_a_confirmed_tension_shows_its_code_whatever_comes_twice(
    rigs: tuple[Rig, Rig], database: Database, twice: str
) -> None:
    a, b = rigs
    await onboarded(a)
    await a.command("U0BEN", "tension")
    form = a.slack.last_view
    acked_at_once(await a.submit(form, "U0BEN", text="Les décisions tardent.", theme="decisions"))
    await settle(a, b)  # the preview is shown by whichever worker recorded the submission
    before = await sealed_tensions(database)
    if twice == "same delivery to both":
        body = confirm_click(a.slack, form, "U0BEN")
        replies = await asyncio.gather(
            *(post_signed(r.url, body, r.slack.signing_secret) for r in (a, b))
        )
    else:  # two clicks on the preview (two trigger ids), one to each process
        first, second = (confirm_click(a.slack, form, "U0BEN") for _ in range(2))
        replies = [await post_signed(a.url, first, a.slack.signing_secret)]
        await settle(a, b)
        replies.append(await post_signed(b.url, second, b.slack.signing_secret))
    assert [r.status for r in replies] == [200, 200]
    await settle(a, b)
    assert await sealed_tensions(database) == before + 1
    final = json.dumps(shown(a.slack, form), ensure_ascii=False)
    assert "follow-up code" in final and "already" not in final.lower(), final


@pytest.mark.parametrize("when", ["at once", "after the answer"])
async def test_a_submission_delivered_twice_is_recorded_once_and_its_answer_stays(
    rigs: tuple[Rig, Rig], database: Database, when: str
) -> None:
    """The same modal submission (same view, hash and values) reaches both processes: at
    once (a load balancer's retry), or again once the first's answer shows (Slack's resend
    after a timeout). One intake row, one mark, both in one transaction; the repeat's ack is
    a note under the first input, which never replaces the modal, so the first's answer (the
    tension's preview, with its confirm button) is what the person sees."""
    a, b = rigs
    await onboarded(a)
    await a.command("U0BEN", "tension")
    form = a.slack.last_view
    filled = {**defaults(form), "text": "Les décisions tardent.", "theme": "decisions"}
    payload = view_submission(form, filled, user_id="U0BEN")
    body = interaction(payload)
    if when == "at once":
        replies = await asyncio.gather(
            *(post_signed(r.url, body, r.slack.signing_secret) for r in (a, b))
        )
    else:
        replies = [await post_signed(a.url, body, a.slack.signing_secret)]
        a.slack.answer_submission(payload["view"], replies[0].json())
        await settle(a, b)
        replies.append(await post_signed(b.url, body, b.slack.signing_secret))
    answers = [r.json() for r in replies]
    kinds = sorted(str(answer["response_action"]) for answer in answers)
    assert kinds == ["errors", "update"], answers
    for answer in answers:  # as Slack applies them, in the order they came back
        a.slack.answer_submission(payload["view"], answer)
    (repeat,) = [x for x in answers if x["response_action"] == "errors"]
    assert "already received" in json.dumps(repeat).lower(), repeat  # U0BEN: en-US
    await settle(a, b)
    assert a.bridge.intake.duplicates + b.bridge.intake.duplicates == 1
    final = json.dumps(shown(a.slack, form), ensure_ascii=False)
    assert "tension.confirm" in final, final  # the preview, ready to confirm
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Intake)) == 0


# ------------------------------------------------------------------ forged private_metadata
def forged_setup(rig: Rig, view: dict[str, Any], metadata: str) -> bytes:
    """The setup modal as opened, submitted with its private_metadata replaced."""
    shown_view = {**shown(rig.slack, view), "private_metadata": metadata}
    values = {**defaults(view), "name": "Prise de contrôle"}
    return interaction(view_submission(shown_view, values, user_id="U0ANNE"))


@pytest.mark.parametrize("how", ["unsigned", "signed with another key", "signed for another"])
async def test_a_setup_modal_with_forged_metadata_is_refused_and_changes_nothing(
    rigs: tuple[Rig, Rig], database: Database, how: str
) -> None:
    """U0ANNE opens `setup` in her channel and sends it back naming C0OTHER, a channel she
    is not in: refused with a clear message, no team, nobody onboarded, nothing in the
    intake."""
    a, _ = rigs
    await a.command("U0ANNE", "setup")
    view = a.slack.last_view
    original = ModalMetadata.decode(view["private_metadata"])
    elsewhere = ModalMetadata(original.reference, "C0OTHER", "ailleurs")
    metadata = {
        "unsigned": elsewhere.encode(),
        "signed with another key": elsewhere.signed(Sealer.ephemeral().tag, TEAM_ID, "U0ANNE"),
        "signed for another": elsewhere.signed(Sealer(SECRET).tag, TEAM_ID, "U0EVA"),
    }[how]
    reply = await a.post(forged_setup(a, view, metadata))
    answer = reply.json()
    assert answer["response_action"] == "update"
    assert answer["view"]["title"]["text"] == "Formulaire refusé", answer
    assert "submit" not in answer["view"]
    await settle(a)
    assert await linked_team(database, "C0OTHER") is None
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Team)) == 0
        assert await session.scalar(select(func.count()).select_from(Member)) == 0
        assert await session.scalar(select(func.count()).select_from(Intake)) == 0


async def test_the_genuine_setup_modal_still_goes_through(
    rigs: tuple[Rig, Rig], database: Database
) -> None:
    a, b = rigs
    await a.command(COORDINATOR, "setup")
    view = a.slack.last_view
    # Signed by process A, submitted through process B (the same secret): accepted.
    acked_at_once(await b.submit(view, COORDINATOR, name="Partenariat Est"))
    await settle(a, b)
    team = await linked_team(database)
    assert team is not None and team.name == "Partenariat Est"


async def test_a_button_in_a_modal_with_forged_metadata_is_refused(
    rigs: tuple[Rig, Rig], database: Database
) -> None:
    a, _ = rigs
    await onboarded(a)
    await a.command("U0BEN", "tension")
    form = a.slack.last_view
    acked_at_once(await a.submit(form, "U0BEN", text="Les décisions tardent.", theme="decisions"))
    before = await sealed_tensions(database)
    current = shown(a.slack, form)
    forged = ModalMetadata.decode(current["private_metadata"])
    a.slack.views[form["id"]] = {**current, "private_metadata": forged.encode()}  # unsigned
    assert (await a.post(confirm_click(a.slack, form, "U0BEN"))).status == 200
    await settle(a)
    assert await sealed_tensions(database) == before
    refusal = a.slack.messages_to("U0BEN")[-1]
    assert "Form refused" in json.dumps(refusal.blocks) + refusal.text
