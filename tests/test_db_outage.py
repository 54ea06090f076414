"""PostgreSQL stopped under load, with a real `passerelle serve` on a throwaway cluster.

A cluster of the test's own (tests/pg_cluster.py: its own port, never the shared one) serves
one real server process (the CLI, as in tests/test_crash_durability.py) with Slack (against
tests/fake_slack/, every request signed), Teams in local mode (tests/fake_connector/) and
the sandbox. While people submit check-ins on Slack and the sandbox and send Teams commands,
PostgreSQL is stopped (`pg_ctl stop -m fast`) for OUTAGE_SECONDS (6 s; 20 s with
PASSERELLE_OUTAGE_LONG=1) and started again. Counted and printed:

- 5xx: a 503 that says "try again" (the sandbox's page, Teams for the connector to retry,
  /healthz) is counted apart from any other 5xx (aim 0; asserted);
- Slack acks over 3 s (Slack would have shown an error), acks that said "not saved, send it
  again" (the person sends again a second later, as people do), and acknowledged submissions
  ("recording" view) that are never recorded, or whose view never shows the real answer
  (aim 0; asserted);
- the time from PostgreSQL's restart to the first 200 on /healthz, the same process (no
  restart; asserted) serving throughout.

A submission's de-duplication mark is committed with its intake row (adapters/intake.py), so
a resend after a failed commit is recorded; a resend whose first copy WAS committed (an ack
that took over 3 s, for instance) is answered "already received" under the first input and
counted as acknowledged by its first copy. Asserted: no modal closed as a repeat without
its submission recorded (it happened with the mark in a transaction of its own before the
intake's: 6 of 80 once on a loaded machine).

The Teams calls kept off the event loop: tests/test_db_outage_teams.py; the intake worker and
Bolt without a database: tests/test_db_outage_intake.py.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.blocks import form_metadata, modal_view
from adapters.slack.events import ModalMetadata
from adapters.slack.replies import CALLBACK_ID
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage import intake, migrate
from storage.database import Database
from storage.models import Member
from storage.sealing import Sealer
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.pg_cluster import ThrowawayCluster
from tests.slack_signing import (
    TEAM_ID,
    interaction,
    post_signed,
    view_submission,
)
from tests.teams_activities import person, personal
from tests.test_crash_durability import SECRET, Server, answers_for, seed
from tests.test_sandbox_http import newest_entry

LONG = os.environ.get("PASSERELLE_OUTAGE_LONG", "") not in ("", "0")

OUTAGE_SECONDS = 20.0 if LONG else 6.0

BEFORE_SECONDS = 2.0  # load before the stop

AFTER_SECONDS = 3.0  # load after /healthz answers 200 again

SLACK_PEOPLE = 160 if LONG else 80

SANDBOX_PEOPLE = 40

TEAMS_PEOPLE = 4

RECORDED_WITHIN = 60.0  # seconds after the load, for every acknowledged submission

RETRY_PAUSE = 2.0  # a person told "not saved, send it again" does so this much later

# The error card's title, as the sandbox page shows it (HTML-escaped), in either language.
INTERNAL_ERROR_TITLES = {
    html.escape(Tr(language)("errors.internal_title")) for language in ("fr", "en")
}


@dataclass
class Figures:
    statuses: Counter[str] = field(default_factory=Counter)  # "<surface> <status>"
    slack_slow_acks: int = 0
    slack_told_to_retry: int = 0
    slack_repeats: int = 0  # "already received": the first copy was committed
    slack_acked: dict[str, str] = field(default_factory=dict)  # person -> view id
    slack_closed: dict[str, str] = field(default_factory=dict)  # acked empty: a repeat
    sandbox_answered: set[str] = field(default_factory=set)
    healthz_during_outage: Counter[int] = field(default_factory=Counter)
    recovery_seconds: float = -1.0
    slow_at: list[int] = field(default_factory=list)  # seconds since the load began
    outage_at: tuple[float, float] = (0.0, 0.0)

    def count(self, surface: str, status: int | str) -> None:
        self.statuses[f"{surface} {status}"] += 1

    def other_5xx(self) -> int:
        told = {"sandbox 503", "teams 503"}
        return sum(
            n
            for key, n in self.statuses.items()
            if key.split()[1].startswith("5") and key not in told
        )


@pytest.fixture
async def cluster() -> AsyncIterator[ThrowawayCluster]:
    async with ThrowawayCluster() as made:
        yield made


async def test_postgresql_stopped_under_load(cluster: ThrowawayCluster, tmp_path: Path) -> None:
    database = Database(cluster.url)
    await migrate.upgrade(database)
    engine = Engine(database, sealer=Sealer(SECRET))
    figures = Figures()
    slack_refs = [f"U0O{n:05d}" for n in range(SLACK_PEOPLE)]
    sandbox_refs = [f"person-{n:03d}" for n in range(SANDBOX_PEOPLE)]
    async with FakeSlack() as slack, FakeConnector() as connector:
        for ref in slack_refs:
            slack.add_user(ref, tz="America/Toronto", locale="en-US")
        slack.add_channel("C0SLACK", "slack", members=slack_refs)
        slack_round, slack_card = await seed(engine, "slack", TEAM_ID, slack_refs, slug="slack")
        sandbox_round, sandbox_card = await seed(
            engine, "sandbox", "", sandbox_refs, slug="sandbox"
        )
        teams_people = [person(f"29:outage-{n}", f"Person {n}") for n in range(TEAMS_PEOPLE)]
        for who in teams_people:
            connector.add_user(who["id"], who["name"], aad_object_id=who["aadObjectId"])
        assert slack_card.form is not None
        metadata = ModalMetadata(form_metadata(slack_card.form))
        server = Server(
            cluster.url, {**slack.env(), "PASSERELLE_SANDBOX": "true"}, tmp_path / "serve.log"
        )
        await server.start()
        pid = server.process.pid if server.process else None
        started = time.monotonic()
        window = BEFORE_SECONDS + OUTAGE_SECONDS + 2.0
        load_over = asyncio.Event()

        async with aiohttp.ClientSession() as http:

            async def one_slack(n: int, ref: str) -> None:
                await asyncio.sleep(window * n / SLACK_PEOPLE)
                signed = metadata.signed(engine.sealer.tag, TEAM_ID, ref)
                view = slack.add_view(
                    modal_view(slack_card, private_metadata=signed, callback_id=CALLBACK_ID)
                )
                body = interaction(view_submission(view, answers_for(slack_card, n), user_id=ref))
                while True:
                    try:
                        ack = await post_signed(
                            f"{server.url}/slack/events", body, slack.signing_secret, session=http
                        )
                    except TimeoutError:
                        figures.slow_at.append(round(time.monotonic() - started))
                        figures.slack_slow_acks += 1  # Slack shows an error: they send again
                        figures.count("slack", "timeout")
                        await asyncio.sleep(RETRY_PAUSE)
                        continue
                    figures.count("slack", ack.status)
                    answer = ack.json() if ack.status == 200 and ack.text else {}
                    if (answer.get("view") or {}).get("callback_id") == RECORDING_CALLBACK_ID:
                        figures.slack_acked[ref] = view["id"]
                        return
                    if ack.status == 200 and not ack.text:
                        # Taken for a repeat of a delivery already in hand: the modal closes.
                        figures.slack_closed[ref] = view["id"]
                        return
                    assert ack.status == 200 and answer.get("response_action") == "errors", ack
                    said = json.dumps(answer, ensure_ascii=False)
                    if any(Tr(language)("slack.repeated") in said for language in ("en", "fr")):
                        # Its first copy was committed (that ack came too late): recorded.
                        figures.slack_acked[ref] = view["id"]
                        figures.slack_repeats += 1
                        return
                    figures.slack_told_to_retry += 1
                    await asyncio.sleep(RETRY_PAUSE)

            async def one_sandbox(n: int, ref: str) -> None:
                await asyncio.sleep(window * n / SANDBOX_PEOPLE)
                form = {"as": ref, "action": "checkin.submit", "ctx.team": "sandbox"}
                form |= {"ctx.round": str(sandbox_round), **answers_for(sandbox_card, n)}
                while True:
                    url = f"{server.url}/sandbox/submit"
                    async with http.post(url, data=form, allow_redirects=False) as answer:
                        text = await answer.text()
                    figures.count("sandbox", answer.status)
                    if answer.status == 303:
                        # What the person reads next: received, or "something went wrong,
                        # nothing was recorded" (a failure the engine could not tell from an
                        # outage, the database back by the time the page looked), or the
                        # page itself cannot be shown yet: then again (an answer already
                        # recorded is only said to be so).
                        async with http.get(f"{server.url}{answer.headers['Location']}") as page:
                            shown = await page.text() if page.status == 200 else ""
                        said = newest_entry(shown) if 'id="conversation"' in shown else ""
                        if said and not any(title in said for title in INTERNAL_ERROR_TITLES):
                            figures.sandbox_answered.add(ref)
                            return
                        figures.count("sandbox", "unclear")
                        await asyncio.sleep(RETRY_PAUSE)
                        continue
                    assert answer.status == 503 and "Passerelle" in text, (answer.status, text)
                    await asyncio.sleep(RETRY_PAUSE)

            async def teams_talk(who: dict[str, Any]) -> None:
                conversation = connector.personal_conversation_id(who["id"])
                while not load_over.is_set():
                    activity = personal(connector.service_url, conversation, who, "help")
                    async with http.post(f"{server.url}/api/messages", json=activity) as answer:
                        await answer.read()
                    figures.count("teams", answer.status)
                    await asyncio.sleep(0.3)

            async def outage() -> None:
                await asyncio.sleep(BEFORE_SECONDS)
                await cluster.stop()
                stopped = time.monotonic()
                figures.outage_at = (stopped - started, 0.0)
                while time.monotonic() - stopped < OUTAGE_SECONDS:
                    async with http.get(f"{server.url}/healthz") as answer:
                        figures.healthz_during_outage[answer.status] += 1
                    await asyncio.sleep(0.5)
                await cluster.start()
                back = time.monotonic()
                figures.outage_at = (figures.outage_at[0], back - started)
                while True:
                    async with http.get(f"{server.url}/healthz") as answer:
                        if answer.status == 200:
                            figures.recovery_seconds = time.monotonic() - back
                            break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(AFTER_SECONDS)

            talkers = [asyncio.ensure_future(teams_talk(who)) for who in teams_people]
            await asyncio.gather(
                outage(),
                *(one_slack(n, ref) for n, ref in enumerate(slack_refs)),
                *(one_sandbox(n, ref) for n, ref in enumerate(sandbox_refs)),
            )
            load_over.set()
            await asyncio.gather(*talkers)

        # Every acknowledged Slack submission is recorded, and its view shows the answer.
        deadline = time.monotonic() + RECORDED_WITHIN
        while True:
            async with database.session() as session:
                answered = set(await rounds.members_with_status(session, slack_round, "answered"))
                waiting = await intake.count(session)
                sandbox_done = set(
                    await rounds.members_with_status(session, sandbox_round, "answered")
                )
                people = {
                    m.id: m.user_ref
                    for m in (await session.scalars(select(Member))).all()
                }  # fmt: skip
            recorded = {people[i] for i in answered}
            lost = set(figures.slack_acked) - recorded
            # A resend taken for a repeat closes the modal: lost if its first copy was never
            # committed (see the module's docstring).
            closed_lost = set(figures.slack_closed) - recorded
            if (not lost and not closed_lost and not waiting) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        still_recording = [
            ref
            for ref, view_id in figures.slack_acked.items()
            if slack.views[view_id].get("callback_id") == RECORDING_CALLBACK_ID
        ]
        sandbox_recorded = {people[i] for i in sandbox_done}
        outage_cards = sum(
            "base de données" in str(card) or "database" in str(card)
            for posts in connector.activities.values() for post in posts
            for card in connector.cards_in(post.activity)
        )  # fmt: skip
        alive = server.process is not None and server.process.returncode is None
        await server.stop()
    await database.dispose()

    print(
        f"\nPostgreSQL stopped {OUTAGE_SECONDS:.0f} s under load "
        f"({time.monotonic() - started:.1f} s in all):"
        f"\n  statuses: {dict(sorted(figures.statuses.items()))}"
        f"\n  5xx other than a deliberate 503 'try again': {figures.other_5xx()}"
        f"\n  /healthz during the outage: {dict(figures.healthz_during_outage)}"
        f"\n  Slack: {len(figures.slack_acked)} acknowledged ('recording'), "
        f"{figures.slack_told_to_retry} told 'not saved, send again', "
        f"{figures.slack_slow_acks} acks over 3 s, {len(figures.slack_closed)} taken for "
        f"a repeat (modal closed), {figures.slack_repeats} answered 'already received'; "
        f"recorded {len(recorded)}, "
        f"acknowledged but lost {len(lost)}, closed as a repeat but never recorded "
        f"{len(closed_lost)}, views still 'recording' {len(still_recording)}, "
        f"left in the intake {waiting}"
        f"\n  acks over 3 s sent at (s): {sorted(Counter(figures.slow_at).items())}, "
        f"PostgreSQL away from {figures.outage_at[0]:.1f} s to {figures.outage_at[1]:.1f} s"
        f"\n  sandbox: {len(figures.sandbox_answered)} answered (303), "
        f"{figures.statuses['sandbox 503']} told 'try again' (503), "
        f"recorded {len(sandbox_recorded)}"
        f"\n  Teams: {figures.statuses['teams 503']} answered 503 (retry), "
        f"{outage_cards} cards 'database unavailable'"
        f"\n  recovered (first /healthz 200 after PostgreSQL's restart): "
        f"{figures.recovery_seconds:.2f} s, same process: {alive} (pid {pid})"
    )
    assert alive, "the server died"
    assert figures.recovery_seconds >= 0
    assert figures.other_5xx() == 0, figures.statuses
    assert figures.healthz_during_outage[503] > 0, figures.healthz_during_outage
    # Everyone got through in the end.
    assert len(figures.slack_acked) + len(figures.slack_closed) == SLACK_PEOPLE
    assert not lost and not waiting, (sorted(lost), waiting)
    assert not closed_lost, sorted(closed_lost)
    assert not still_recording, still_recording
    assert figures.sandbox_answered <= sandbox_recorded, figures.sandbox_answered - sandbox_recorded
