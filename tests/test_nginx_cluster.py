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
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from dialogs.cards import Card
from dialogs.checkins.models import Round
from dialogs.engine import Engine
from dialogs.tensions.store import KIND as TENSION
from storage.database import Database
from storage.models import Member, OutboxMessage, Sealed, Team
from storage.sealing import Sealer
from tests.cluster import SECRET, Cluster
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.nginx_cluster_rig import (
    COORDINATOR,
    SLACK_PEOPLE,
    SLACK_SLUG,
    TEAMS_PEOPLE,
    TEAMS_TEAM,
    TENSION_LIMIT,
    WITHIN,
    Through,
    answered,
    checkin_card,
    cluster_env,
    drained,
    equal,
    last_form,
    post,
    round_of,
    seed_slack_team,
    set_up_teams,
    submit_slack_checkins,
    teams_cards,
    teams_person,
    tension,
    ticked_since,
    until,
    with_action,
)
from tests.slack_signing import (
    app_home_opened,
    event_callback,
    signed_headers,
)
from tests.teams_activities import (
    TENANT,
    add_roster,
    fill,
    person,
    personal,
    scale_names,
)

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        add_roster(fake, TEAMS_TEAM, TEAMS_PEOPLE, COORDINATOR)
        yield fake


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
            # No quiet hours, as for the Slack team: the round runs on the real clock, at
            # whatever hour the suite runs, and an ask held until morning would never drain.
            team_id = await session.scalar(select(Team.id).where(Team.slug == teams_slug))
            await session.execute(
                update(Team)
                .where(Team.id == team_id)
                .values(tension_weekly_limit=TENSION_LIMIT, quiet_start=0, quiet_end=0)
            )
            await session.execute(
                update(Member)
                .where(Member.team_id == team_id)
                .values(quiet_start=None, quiet_end=None)
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
            lambda: equal(answered(database, slack_round.id), (SLACK_PEOPLE, 0)), "Slack recorded"
        )
        await until(
            lambda: equal(answered(database, teams_round.id), (len(everyone), 0)), "Teams recorded"
        )
        async with database.session() as session:
            ballots = await session.scalar(
                select(func.count()).select_from(Sealed).where(Sealed.kind == "ballot")
            )
        assert ballots == SLACK_PEOPLE + len(everyone)

        # The weekly tension limit, across processes and a restart.
        codes = [
            await tension(through, connector, "29:anne", f"Tension numéro {n}") for n in (1, 2)
        ]
        await cluster.restart(1)
        codes += [
            await tension(through, connector, "29:anne", f"Tension numéro {n}") for n in (3, 4)
        ]
        async with database.session() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Sealed).where(Sealed.kind == TENSION)
            )
        assert stored == TENSION_LIMIT, f"{stored} tensions stored under a limit of {TENSION_LIMIT}"
        limit_title = "limit"
        refused = [a for a in codes if re.search(limit_title, a, re.IGNORECASE) or "limite" in a]
        assert len(refused) == len(codes) - TENSION_LIMIT, codes

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
