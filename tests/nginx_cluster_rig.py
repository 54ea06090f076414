"""What the nginx cluster tests (tests/test_nginx_cluster.py) drive and read: the cluster's
environment, a Slack team and a Teams team set up through nginx, check-ins and tensions sent
through it, and the waits on the database and the logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from sqlalchemy import func, select

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.blocks import form_metadata, modal_view
from adapters.slack.events import ModalMetadata
from adapters.slack.replies import CALLBACK_ID
from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.checkins.models import Round
from dialogs.engine import Engine
from storage import intake, outbox, teams
from storage.database import Database
from storage.models import Member, OutboxMessage, Team
from storage.sealing import Sealer
from tests.checkin_rounds import checkin_cards
from tests.cluster import SECRET, UPSTREAM, Cluster
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.slack_signing import (
    TEAM_ID,
    interaction,
    signed_headers,
    view_submission,
)
from tests.teams_activities import (
    TENANT,
    fill,
    in_channel,
    members_changed,
    person,
    personal,
)

WITHIN = 40.0  # seconds for anything awaited (polled, never slept blindly)

SLACK_SLUG, SLACK_CHANNEL = "nord", "C0NORD"

SLACK_PEOPLE = 12  # U0N00000..: every third a manager (a summary reader)

TEAMS_TEAM = ("19:sud@thread.tacv2", "Partenaires Sud")

GENERAL = (TEAMS_TEAM[0], "General")

COORDINATOR = person("29:coord", "Coralie")

TEAMS_PEOPLE = {
    "29:anne": ("Anne", "community", "front_line"),
    "29:ben": ("Ben", "public", "manager"),
    "29:cleo": ("Cléo", "community", "manager"),
    "29:dave": ("Dave", "other", "front_line"),
}

TENSION_LIMIT = 2


def cluster_env(slack: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        **slack.env(),
        "PASSERELLE_SANDBOX": "false",
        "PASSERELLE_OUTBOX_INTERVAL": "0.2",
        "PASSERELLE_OUTBOX_LEASE": "10",
        **extra,
    }


async def until(check: Callable[[], Awaitable[Any]], what: str, within: float = WITHIN) -> Any:
    """Poll `check` until it returns something true (an event, not a blind sleep)."""
    deadline = time.monotonic() + within
    while not (found := await check()):
        assert time.monotonic() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.1)
    return found


async def post(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, str, str]:
    """(status, body, the process that answered) of a POST through nginx."""
    async with http.post(url, **kwargs) as answer:
        return answer.status, await answer.text(), answer.headers.get(UPSTREAM, "")


# ------------------------------------------------------------------ a whole round
async def seed_slack_team(engine: Engine, slack: FakeSlack, size: int = SLACK_PEOPLE) -> list[str]:
    """The Slack team `nord`: `size` onboarded members, every third a manager."""
    refs = [f"U0N{n:05d}" for n in range(size)]
    for ref in refs:
        slack.add_user(ref, tz="America/Toronto", locale="en-US")
    slack.add_channel(SLACK_CHANNEL, "nord", members=refs)
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug=SLACK_SLUG, name="Nord", now=engine.clock(), language="en",
            timezone="America/Toronto", quiet_start=0, quiet_end=0,
        )  # fmt: skip
        await teams.link_channel(session, team, "slack", TEAM_ID, SLACK_CHANNEL, "nord")
        for n, ref in enumerate(refs):
            session.add(
                Member(
                    team_id=team.id, platform="slack", workspace=TEAM_ID, user_ref=ref,
                    display_name=ref.lower(), sector=("public", "community")[n % 2],
                    position="manager" if n % 3 == 1 else "front_line", language="en",
                    timezone="America/Toronto", is_coordinator=n == 0, onboarded=True,
                )
            )  # fmt: skip
    return refs


def teams_cards(connector: FakeConnector, user_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(activity id, card) of every card in the person's 1:1 chat, oldest first."""
    dm = connector.personal_conversation_id(user_id, TENANT)
    return [(p.id, c) for p in connector.posted(dm) for c in connector.cards_in(p.activity)]


def with_action(card: dict[str, Any], action: str) -> bool:
    return any(
        a.get("data", {}).get("passerelle.action") == action for a in card.get("actions", [])
    )


def last_form(connector: FakeConnector, user_id: str, action: str) -> tuple[str, dict[str, Any]]:
    for card_id, card in reversed(teams_cards(connector, user_id)):
        if with_action(card, action):
            return card_id, card
    raise AssertionError(f"no {action} card for {user_id}")


def teams_person(user_id: str) -> dict[str, Any]:
    return person(user_id, TEAMS_PEOPLE[user_id][0]) if user_id in TEAMS_PEOPLE else COORDINATOR


class Through:
    """Requests through nginx, remembering which process answered each."""

    def __init__(self, http: aiohttp.ClientSession, cluster: Cluster, connector: FakeConnector):
        self.http, self.cluster, self.connector = http, cluster, connector
        self.upstreams: Counter[str] = Counter()

    async def activity(self, activity: dict[str, Any]) -> str:
        status, text, upstream = await post(
            self.http, f"{self.cluster.url}/api/messages", json=activity
        )
        assert status in (200, 201), (status, text)
        self.upstreams[upstream] += 1
        return upstream

    async def submit(self, user_id: str, card_id: str, value: dict[str, Any]) -> str:
        dm = self.connector.personal_conversation_id(user_id, TENANT)
        return await self.activity(
            personal(
                self.connector.service_url, dm, teams_person(user_id), value=value, reply_to=card_id
            )
        )

    async def say(self, user_id: str, text: str) -> str:
        dm = self.connector.personal_conversation_id(user_id, TENANT)
        return await self.activity(
            personal(self.connector.service_url, dm, teams_person(user_id), text)
        )


async def set_up_teams(through: Through, connector: FakeConnector, database: Database) -> str:
    """The bot added to the Teams team, the setup card filled: the team exists, onboarded."""
    url = connector.service_url
    await through.activity(
        members_changed(url, TEAMS_TEAM, COORDINATOR, added=[{"id": connector.bot_id}])
    )
    (posted,) = connector.posted(TEAMS_TEAM[0])
    (card,) = connector.cards_in(posted.activity)
    value = fill(card, name="Partenaires Sud", k="3")
    await through.activity(
        in_channel(url, TEAMS_TEAM, GENERAL, COORDINATOR, value=value, reply_to=posted.id)
    )
    async with database.session() as session:
        channel = await teams.channel_at(session, "teams", TENANT, TEAMS_TEAM[0])
        assert channel is not None
        team = await session.get(Team, channel.team_id)
        assert team is not None
        slug = team.slug
    everyone = [COORDINATOR["id"], *TEAMS_PEOPLE]

    async def welcomed() -> bool:  # the processes' outbox workers send the welcomes
        return all(
            any(with_action(c, "profile.save") for _, c in teams_cards(connector, u))
            for u in everyone
        )

    await until(welcomed, "every Teams member welcomed")
    for user_id in everyone:
        _, sector, position = TEAMS_PEOPLE.get(user_id, ("", "public", "coordinator"))
        card_id, card = last_form(connector, user_id, "profile.save")
        await through.submit(user_id, card_id, fill(card, sector=sector, position=position))
    return slug


async def undelivered(database: Database) -> int:
    async with database.session() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status != outbox.SENT)
        )
    return int(found or 0)


async def drained(database: Database) -> None:
    await until(lambda: zero(undelivered(database)), "the outbox drained")


async def zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def round_of(database: Database, slug: str) -> Round:
    async with database.session() as session:
        team = await teams.team_by_slug(session, slug)
        assert team is not None
        (round_,) = await rounds.rounds_of(session, team.id)
        return round_


async def answered(database: Database, round_id: int) -> tuple[int, int]:
    async with database.session() as session:
        done = await rounds.members_with_status(session, round_id, rounds.ANSWERED)
        return len(done), await intake.count(session)


async def checkin_card(database: Database, round_id: int) -> Card:
    async with database.session() as session:
        (card,) = await checkin_cards(session, round_id, 1)
    return card


def shown_modal(slack: FakeSlack, sealer: Sealer, card: Card, ref: str) -> dict[str, Any]:
    """The check-in modal as the fake holds it for `ref` (as if views.open had shown it)."""
    assert card.form is not None
    metadata = ModalMetadata(form_metadata(card.form))
    # Metadata signed for its person where the server asks for it (forged private_metadata).
    sign = getattr(metadata, "signed", None)
    encoded = sign(sealer.tag, TEAM_ID, ref) if sign is not None else metadata.encode()
    return slack.add_view(modal_view(card, private_metadata=encoded, callback_id=CALLBACK_ID))


async def submit_slack_checkins(
    http: aiohttp.ClientSession, cluster: Cluster, slack: FakeSlack, card: Card, refs: list[str]
) -> Counter[str]:
    names = [i.name for i in card.inputs() if i.kind == "scale"]
    upstreams: Counter[str] = Counter()
    for n, ref in enumerate(refs):
        answers = {name: str((n + k) % 5 + 1) for k, name in enumerate(names)}
        shown = shown_modal(slack, Sealer(SECRET), card, ref)
        body = interaction(view_submission(shown, answers, user_id=ref))
        status, text, upstream = await post(
            http, f"{cluster.url}/slack/events", data=body,
            headers=signed_headers(body, slack.signing_secret),
        )  # fmt: skip
        assert status == 200, text
        assert json.loads(text)["view"]["callback_id"] == RECORDING_CALLBACK_ID
        upstreams[upstream] += 1
    return upstreams


async def tension(through: Through, connector: FakeConnector, user_id: str, text: str) -> str:
    """Write a tension on Teams through nginx; the title of the card that answers the confirm."""
    await through.say(user_id, "tension")
    card_id, card = last_form(connector, user_id, "tension.preview")
    await through.submit(user_id, card_id, fill(card, text=text, theme="decisions"))
    preview = next(c for i, c in teams_cards(connector, user_id) if i == card_id)
    confirm = next(
        a["data"] for a in preview["actions"] if a["data"]["passerelle.action"] == "tension.confirm"
    )
    await through.submit(user_id, card_id, confirm)
    answer = next(c for i, c in teams_cards(connector, user_id) if i == card_id)
    return json.dumps(answer, ensure_ascii=False)


TICK_STARTED = re.compile(r"^(\S+ \S+) INFO apscheduler\S*: Running job \"Calendar\._tick", re.M)


def ticked_since(cluster: Cluster, moment: float) -> bool:
    """Whether every process logged the start of a calendar tick after `moment` (time.time())."""
    for process in cluster.processes:
        starts = TICK_STARTED.findall(process.log.read_text(errors="replace"))
        stamps = [dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f").timestamp() for s in starts]
        if not any(stamp > moment for stamp in stamps):
            return False
    return True


async def equal(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected
