"""`kill -9` of one of two `passerelle serve` processes (behind nginx, one PostgreSQL), in the
middle of the work (issue 11): nothing is lost, and nothing is sent twice beyond what the
killed process had in flight (counted, printed, bounded).

- A fan-out: a check-in round of FANOUT members on Teams (the fake connector) drained by both
  processes' outbox workers; process 0 is killed once a third is delivered. The messages it had
  claimed wait out their lease (PASSERELLE_OUTBOX_LEASE, short here) and the survivor sends
  them. Every member gets the card; duplicates <= the killed worker's claimed, unsent rows.
- A burst of Slack check-in submissions through nginx: process 0 is killed when half are
  acknowledged. Every acknowledged submission is recorded (the intake is durable, any process
  records it); the ones that got no acknowledgement (nginx's 502: the person sees an error)
  are submitted again, as a person would, and recorded; each member once. Thanks shown twice
  (views.update) <= the intake rows that were leased at the kill.

PASSERELLE_KILL9_FANOUT (default 500) and PASSERELLE_KILL9_BURST (default 120) set the sizes.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.teams import conversations
from dialogs.engine import Engine
from storage import outbox, teams
from storage.database import Database
from storage.models import Intake, Member, OutboxMessage, Sealed
from storage.sealing import Sealer
from tests.cluster import SECRET, Cluster
from tests.fake_connector import BOT_ID, BOT_NAME, SEND_TO_CONVERSATION, FakeConnector
from tests.fake_slack import FakeSlack
from tests.nginx_cluster_rig import (
    answered,
    checkin_card,
    round_of,
    seed_slack_team,
    shown_modal,
    until,
)
from tests.slack_signing import interaction, signed_headers, view_submission
from tests.teams_activities import TENANT

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

FANOUT = int(os.environ.get("PASSERELLE_KILL9_FANOUT", "500"))
BURST = int(os.environ.get("PASSERELLE_KILL9_BURST", "120"))
LEASE = "5"  # seconds: how long the killed worker's claimed messages wait for the survivor
WITHIN = 120.0
CHANNEL = "19:kill@thread.tacv2"


def env(**extra: str) -> dict[str, str]:
    return {"PASSERELLE_SANDBOX": "false", "PASSERELLE_OUTBOX_LEASE": LEASE, **extra}


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        yield fake


async def seed_teams(engine: Engine, connector: FakeConnector) -> tuple[str, list[str]]:
    """A Teams team of FANOUT onboarded members; its channel's reference (how the sender reaches
    the tenant's connector to open each 1:1 chat)."""
    people = [f"29:k{n:05d}" for n in range(FANOUT)]
    for user_id in people:
        connector.add_user(user_id, user_id[3:])
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug="kill", name="Kill", now=engine.clock(), language="en",
            timezone="America/Toronto", quiet_start=0, quiet_end=0,
        )  # fmt: skip
        await teams.link_channel(session, team, "teams", TENANT, CHANNEL, "General")
        reference = {
            "bot": {"id": BOT_ID, "name": BOT_NAME},
            "conversation": {"id": CHANNEL, "conversationType": "channel", "tenantId": TENANT},
            "channelId": "msteams",
            "serviceUrl": connector.service_url,
        }
        await conversations.remember(
            session, tenant=TENANT, kind=conversations.CHANNEL, key=CHANNEL,
            service_url=connector.service_url, reference=reference,
        )  # fmt: skip
        for n, user_id in enumerate(people):
            session.add(
                Member(
                    team_id=team.id, platform="teams", workspace=TENANT, user_ref=user_id,
                    display_name=user_id, sector=("public", "community")[n % 2],
                    position="front_line", language="en", timezone="America/Toronto",
                    is_coordinator=n == 0, onboarded=True,
                )
            )  # fmt: skip
    return "kill", people


async def statuses(database: Database) -> Counter[str]:
    async with database.session() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return Counter({status: count for status, count in rows.all()})


async def test_kill9_during_a_fan_out_loses_nothing_and_repeats_only_what_was_in_flight(
    database: Database, database_url: str, tmp_path: Path, connector: FakeConnector
) -> None:
    engine = Engine(database, sealer=Sealer(SECRET))
    slug, people = await seed_teams(engine, connector)
    extra = {"PASSERELLE_SCHEDULER": "true", "PASSERELLE_OUTBOX_INTERVAL": "0.2"}
    async with Cluster(database_url, tmp_path, 2, env(**extra)) as cluster:
        result = await engine.jobs.run("checkin", slug)
        assert result.count == FANOUT
        began = time.monotonic()

        async def a_third() -> bool:
            return len(connector.calls_of(SEND_TO_CONVERSATION)) >= FANOUT // 3

        await until(a_third, "a third of the fan-out delivered", WITHIN)
        victim = cluster.processes[0]
        await cluster.kill(0)
        killed_at = time.monotonic()
        async with database.session() as session:
            in_flight = int(
                await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.status == outbox.SENDING,
                        OutboxMessage.claimed_by.like(f"%:{victim.pids[-1]}:%"),
                    )
                )
                or 0
            )
        delivered_at_kill = len(connector.calls_of(SEND_TO_CONVERSATION))

        async def all_sent() -> bool:
            return (await statuses(database)) == Counter({outbox.SENT: FANOUT})

        await until(all_sent, "every message marked sent", WITHIN)
        finished = time.monotonic()
        received: Counter[str] = Counter()
        for user_id in people:
            dm = connector.personal_conversation_id(user_id, TENANT)
            received[user_id] = len(connector.posted(dm))
        missing = [u for u in people if received[u] == 0]
        twice = sum(n - 1 for n in received.values() if n > 1)
        print(
            f"\nfan-out of {FANOUT}, kill -9 of 1 of 2 processes after {delivered_at_kill}"
            f" deliveries ({killed_at - began:.1f} s): in flight (claimed by it, unsent)"
            f" {in_flight}, sent twice {twice}, missing {len(missing)}; all sent"
            f" {finished - killed_at:.1f} s after the kill (lease {LEASE} s)"
        )
        assert missing == []
        assert twice <= in_flight, (twice, in_flight)
        assert "Traceback" not in cluster.processes[1].log.read_text()


async def test_kill9_during_a_burst_of_submissions_loses_nothing_acknowledged(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    engine = Engine(database, sealer=Sealer(SECRET))
    async with FakeSlack() as slack:
        refs = await seed_slack_team(engine, slack, size=BURST)
        await engine.jobs.run("checkin", "nord")
        round_ = await round_of(database, "nord")
        card = await checkin_card(database, round_.id)
        assert card.form is not None
        names = [i.name for i in card.inputs() if i.kind == "scale"]
        views = {ref: shown_modal(slack, engine.sealer, card, ref) for ref in refs}

        def body(n: int, ref: str) -> bytes:
            answers = {name: str((n + k) % 5 + 1) for k, name in enumerate(names)}
            return interaction(view_submission(views[ref], answers, user_id=ref))

        extra = {**slack.env(), "PASSERELLE_SCHEDULER": "false"}
        async with Cluster(database_url, tmp_path, 2, env(**extra)) as cluster:
            url = f"{cluster.url}/slack/events"
            acked: list[str] = []
            refused: list[str] = []
            half = asyncio.Event()
            gate = asyncio.Semaphore(20)
            timeout = aiohttp.ClientTimeout(total=10)

            async def submit(http: aiohttp.ClientSession, n: int, ref: str) -> None:
                async with gate:
                    data = body(n, ref)
                    headers = signed_headers(data, slack.signing_secret)
                    try:
                        async with http.post(url, data=data, headers=headers) as answer:
                            text = await answer.text()
                            ok = answer.status == 200 and _recording(text)
                    except aiohttp.ClientError:
                        ok = False
                    (acked if ok else refused).append(ref)
                    if len(acked) >= BURST // 2:
                        half.set()

            async def killer() -> int:
                await half.wait()
                await cluster.kill(0)
                async with database.session() as session:
                    leased = await session.scalar(
                        select(func.count())
                        .select_from(Intake)
                        .where(Intake.lease_until.is_not(None))
                    )
                return int(leased or 0)

            async with aiohttp.ClientSession(timeout=timeout) as http:
                kill = asyncio.create_task(killer())
                await asyncio.gather(*(submit(http, n, ref) for n, ref in enumerate(refs)))
                leased = await kill
                # What got no acknowledgement, its author submits again (Slack shows an error).
                again = list(refused)
                refused.clear()
                await asyncio.gather(*(submit(http, refs.index(r), r) for r in again))
            assert refused == [], refused
            assert sorted(acked) == sorted(refs)

            async def recorded() -> bool:
                return await answered(database, round_.id) == (BURST, 0)

            await until(recorded, "every acknowledged submission recorded", WITHIN)
            async with database.session() as session:
                ballots = await session.scalar(
                    select(func.count()).select_from(Sealed).where(Sealed.kind == "ballot")
                )
            updates = Counter(
                str(c.params.get("view_id")) for c in slack.calls_to("views.update") if c.ok
            )
            thanked_twice = sum(n - 1 for n in updates.values() if n > 1)
            print(
                f"\nburst of {BURST} submissions, kill -9 of 1 of 2 processes at {BURST // 2}"
                f" acks: not acknowledged (submitted again) {len(again)}, intake rows leased"
                f" at the kill {leased}, ballots {ballots}, thanks shown twice {thanked_twice}"
            )
            assert ballots == BURST  # each member once: nothing lost, nothing twice
            assert thanked_twice <= leased, (thanked_twice, leased)
            assert "Traceback" not in cluster.processes[1].log.read_text()


def _recording(text: str) -> bool:
    """Acknowledged: the "recording" view, or, for a resend of a submission committed just
    before the kill (its ack lost with the process), "already received" under an input."""
    try:
        answer = json.loads(text)
    except ValueError:
        return False
    if not isinstance(answer, dict):
        return False
    if answer.get("response_action") == "errors":
        notes = [str(note) for note in (answer.get("errors") or {}).values()]
        return any("Déjà reçu" in n or "Already received" in n for n in notes)
    view = answer.get("view")
    return isinstance(view, dict) and view.get("callback_id") == RECORDING_CALLBACK_ID
