"""Teams end to end when things go wrong: redelivered activities, failed commits, connector
errors and a removed app, malformed requests, a vanished chat, a foreign connector (local
mode; the rig: tests/teams_rig.py)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from dialogs.i18n import Tr
from storage.models import Member
from tests.fake_connector import POST_ACTIVITY
from tests.faults import commit_fails
from tests.teams_activities import (
    fill,
    personal,
    scale_names,
)
from tests.teams_rig import COORDINATOR, PEOPLE, Rig, onboarded, user


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
) -> None:
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
