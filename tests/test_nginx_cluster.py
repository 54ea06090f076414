"""Two or three real `passerelle serve` processes behind a real nginx on one PostgreSQL behave
as one (issue 11): the deployment of docs/operations.md, on loopback (tests/cluster.py).

- The same Slack event delivered twice (a retry), and the same Teams activity posted twice,
  reaching two processes (nginx's round robin; `X-Upstream` says which), are handled once.
- A whole round, three processes each running the calendar's tick and an outbox worker: a
  Teams team set up and onboarded through nginx, a Slack team already there; each check-in
  message sent exactly once (counted at the fake Slack and the fake connector), every
  submission recorded once (each Teams one posted twice), a member who reaches the weekly
  tension limit across processes and a restart is refused exactly at the limit, each round
  closed once (the processes' logs) and each summary sent once to each reader.

PostgreSQL only: several processes share one database only there (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.blocks import form_metadata, modal_view
from adapters.slack.events import ModalMetadata
from adapters.slack.replies import CALLBACK_ID
from dialogs.cards import Card
from dialogs.engine import Engine
from storage import intake, outbox, rounds, teams
from storage.database import Database
from storage.models import Member, OutboxMessage, Round, Sealed, Team
from storage.sealing import Sealer
from storage.tensions import KIND as TENSION
from tests.cluster import SECRET, UPSTREAM, Cluster
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.slack_signing import (
    TEAM_ID,
    app_home_opened,
    event_callback,
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
    scale_names,
)

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

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


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        fake.add_user(COORDINATOR["id"], COORDINATOR["name"])
        for user_id, (name, _, _) in TEAMS_PEOPLE.items():
            fake.add_user(user_id, name)
        fake.add_team(TEAMS_TEAM[0], TEAMS_TEAM[1], members=[COORDINATOR["id"], *TEAMS_PEOPLE])
        yield fake


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


# ------------------------------------------------------------------ retries, once
async def test_a_retry_and_a_repeated_activity_reaching_two_processes_are_handled_once(
    database: Database,
    database_url: str,
    tmp_path: Any,
    slack: FakeSlack,
    connector: FakeConnector,
) -> None:
    slack.add_user("U0HOME1", tz="America/Toronto", locale="en-US")
    slack.add_user("U0HOME2", tz="America/Toronto", locale="en-US")
    env = cluster_env(slack, PASSERELLE_SCHEDULER="false")
    async with Cluster(database_url, tmp_path, 2, env) as cluster, aiohttp.ClientSession() as http:
        events = f"{cluster.url}/slack/events"
        body = event_callback(app_home_opened("U0HOME1", slack.dm_id("U0HOME1")))
        first = await post(
            http, events, data=body, headers=signed_headers(body, slack.signing_secret)
        )
        retry = await post(
            http, events, data=body, headers=signed_headers(body, slack.signing_secret, retry_num=1)
        )
        assert (first[0], retry[0]) == (200, 200), (first, retry)
        assert first[2] != retry[2], "nginx sent both deliveries to one process"
        await slack.wait_for("views.publish", 1, within=WITHIN)
        # A later event on the process that had the retry, through the same path: once its
        # App Home is published, that process has long done whatever it does with the retry.
        other = event_callback(app_home_opened("U0HOME2", slack.dm_id("U0HOME2")))
        barrier = cluster.by_address(retry[2]).url + "/slack/events"
        async with http.post(
            barrier, data=other, headers=signed_headers(other, slack.signing_secret)
        ) as answer:
            assert answer.status == 200

        def published(user: str) -> int:
            return sum(1 for c in slack.calls_to("views.publish") if c.params["user_id"] == user)

        await until(lambda: asyncio.sleep(0, published("U0HOME2")), "the barrier's App Home")
        assert published("U0HOME1") == 1, "the Slack retry was handled by both processes"

        # Teams: the same activity (same id) posted twice, reaching both processes.
        anne = person("29:anne", "Anne")
        dm = connector.personal_conversation_id("29:anne", TENANT)
        activity = personal(connector.service_url, dm, anne, "help")
        answers = [await post(http, f"{cluster.url}/api/messages", json=activity) for _ in "ab"]
        assert {status for status, _, _ in answers} <= {200, 201}, answers
        assert answers[0][2] != answers[1][2], "nginx sent both activities to one process"
        replies = connector.posted(dm)
        assert len(replies) == 1, f"the same Teams activity was answered {len(replies)} times"
        assert "Traceback" not in cluster.logs()


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
    await until(lambda: _zero(undelivered(database)), "the outbox drained")


async def _zero(count: Awaitable[int]) -> bool:
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
        payload = (
            await session.execute(
                select(OutboxMessage.payload)
                .where(OutboxMessage.idem_key.like(f"%checkin:{round_id}:%"))
                .limit(1)
            )
        ).scalar_one()
    return Card.model_validate(payload)


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


async def test_a_whole_round_through_nginx_on_three_processes(
    database: Database,
    database_url: str,
    tmp_path: Any,
    slack: FakeSlack,
    connector: FakeConnector,
) -> None:
    engine = Engine(database, sealer=Sealer(SECRET))
    refs = await seed_slack_team(engine, slack)
    env = cluster_env(
        slack,
        PASSERELLE_SCHEDULER="true",
        PASSERELLE_TICK_SECONDS="1",
        PASSERELLE_LOG_LEVEL="INFO",  # the tick's "tick close for <team>" lines are counted
        PASSERELLE_OUTBOX_BATCH="4",  # a process holds 4 at a time: the fan-out is shared
    )
    async with Cluster(database_url, tmp_path, 3, env) as cluster, aiohttp.ClientSession() as http:
        through = Through(http, cluster, connector)
        teams_slug = await set_up_teams(through, connector, database)
        async with database.session() as session, session.begin():
            await session.execute(
                update(Team)
                .where(Team.slug == teams_slug)
                .values(tension_weekly_limit=TENSION_LIMIT)
            )
        await drained(database)
        sent_before = len(slack.calls_to("chat.postMessage"))

        # Check-ins, fanned out by the three processes' outbox workers.
        for slug in (SLACK_SLUG, teams_slug):
            await engine.jobs.run("checkin", slug)
        slack_round, teams_round = [await round_of(database, s) for s in (SLACK_SLUG, teams_slug)]
        await drained(database)
        assert len(slack.calls_to("chat.postMessage")) - sent_before == SLACK_PEOPLE
        for ref in refs:
            assert len(slack.messages_to(ref)) == 1, f"{ref} got {len(slack.messages_to(ref))}"
        everyone = [COORDINATOR["id"], *TEAMS_PEOPLE]
        for user_id in everyone:
            forms = [
                c for _, c in teams_cards(connector, user_id) if with_action(c, "checkin.submit")
            ]
            assert len(forms) == 1, f"{user_id} got {len(forms)} check-in cards"
        async with database.session() as session:
            workers = set(
                (await session.scalars(select(OutboxMessage.claimed_by).distinct())).all()
            )
        assert len(workers) >= 2, workers  # the fan-out was shared

        # Every submission through nginx; each Teams card posted twice (a repeat).
        spread = await submit_slack_checkins(
            http, cluster, slack, await checkin_card(database, slack_round.id), refs
        )
        assert len(spread) == 3, spread
        for n, user_id in enumerate(everyone):
            card_id, card = last_form(connector, user_id, "checkin.submit")
            answers = {name: str((n + k) % 5 + 1) for k, name in enumerate(scale_names(card))}
            value = fill(card, **answers)
            activity = personal(
                connector.service_url, connector.personal_conversation_id(user_id, TENANT),
                teams_person(user_id), value=value, reply_to=card_id,
            )  # fmt: skip
            first, second = await through.activity(activity), await through.activity(activity)
            assert first != second
        await until(
            lambda: _equal(answered(database, slack_round.id), (SLACK_PEOPLE, 0)), "Slack recorded"
        )
        await until(
            lambda: _equal(answered(database, teams_round.id), (len(everyone), 0)), "Teams recorded"
        )
        async with database.session() as session:
            ballots = await session.scalar(
                select(func.count()).select_from(Sealed).where(Sealed.kind == "ballot")
            )
        assert ballots == SLACK_PEOPLE + len(everyone)

        # The weekly tension limit, across processes and a restart.
        answers = [
            await tension(through, connector, "29:anne", f"Tension numéro {n}") for n in (1, 2)
        ]
        await cluster.restart(1)
        answers += [
            await tension(through, connector, "29:anne", f"Tension numéro {n}") for n in (3, 4)
        ]
        async with database.session() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Sealed).where(Sealed.kind == TENSION)
            )
        assert stored == TENSION_LIMIT, f"{stored} tensions stored under a limit of {TENSION_LIMIT}"
        limit_title = "limit"
        refused = [a for a in answers if re.search(limit_title, a, re.IGNORECASE) or "limite" in a]
        assert len(refused) == len(answers) - TENSION_LIMIT, answers

        # Closes: due now; every process's tick sees it.
        readers_slack = [ref for n, ref in enumerate(refs) if n % 3 == 1 or n == 0]
        # Managers declared themselves; each team's coordinator confirms them as readers
        # (tests/test_summary_readers.py covers how). Coordinators read anyway.
        confirmed = [*readers_slack, "29:ben", "29:cleo"]
        async with database.session() as session, session.begin():
            await session.execute(
                update(Member).where(Member.user_ref.in_(confirmed)).values(reads_summaries=True)
            )
        before = {ref: len(slack.messages_to(ref)) for ref in readers_slack}
        teams_before = {u: len(teams_cards(connector, u)) for u in ("29:ben", "29:cleo")}
        async with database.session() as session, session.begin():
            past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            await session.execute(update(Round).values(closes_at=past))

        async def closed() -> bool:
            found = [await round_of(database, s) for s in (SLACK_SLUG, teams_slug)]
            return all(r.closed for r in found)

        await until(closed, "both rounds closed by a tick")
        seen = time.time()
        # Every tick that could still close a round again began before `seen`; once each
        # process has begun a tick after it (one tick at a time per process), they are done.
        await until(lambda: asyncio.sleep(0, ticked_since(cluster, seen)), "a tick after the close")
        await drained(database)
        logs = cluster.logs()
        for slug in (SLACK_SLUG, teams_slug):
            closes = re.findall(rf"tick close for {slug}: jobs\.closed", logs)
            assert len(closes) == 1, f"{slug} closed {len(closes)} times"
        async with database.session() as session:
            summaries = (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.idem_key.like("summary:%"))
                )
            ).all()
        titles = {Card.model_validate(m.payload).title for m in summaries}
        # One row per reader: the Slack readers (their coordinator among them), Ben and Cléo,
        # and the Teams team's coordinator.
        assert len(summaries) == len(readers_slack) + len(teams_before) + 1, [
            (m.address, m.idem_key) for m in summaries
        ]

        def repeated(texts: list[str]) -> list[str]:
            """A summary sent twice arrives as the same message(s) twice (a card may take
            several Slack messages: the chart, then the text)."""
            shown = [text for text in texts if any(title in text for title in titles)]
            assert shown, "no summary"
            return [text for text, n in Counter(shown).items() if n > 1]

        for ref in readers_slack:
            new = [
                json.dumps(m.blocks, ensure_ascii=False) + m.text for m in slack.messages_to(ref)
            ]
            assert repeated(new[before[ref] :]) == [], f"{ref} got the summary twice"
        for user_id, count in teams_before.items():
            cards = [json.dumps(c, ensure_ascii=False) for _, c in teams_cards(connector, user_id)]
            assert repeated(cards[count:]) == [], f"{user_id} got the summary twice"
        assert len(through.upstreams) == 3, through.upstreams
        assert "Traceback" not in logs, logs[logs.index("Traceback") - 2000 :][:6000]


TICK_STARTED = re.compile(r"^(\S+ \S+) INFO apscheduler\S*: Running job \"Calendar\._tick", re.M)


def ticked_since(cluster: Cluster, moment: float) -> bool:
    """Whether every process logged the start of a calendar tick after `moment` (time.time())."""
    for process in cluster.processes:
        starts = TICK_STARTED.findall(process.log.read_text(errors="replace"))
        stamps = [dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f").timestamp() for s in starts]
        if not any(stamp > moment for stamp in stamps):
            return False
    return True


async def _equal(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected
