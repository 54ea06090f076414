"""PostgreSQL stopped under load, with a real `passerelle serve` on a throwaway cluster.

A cluster of the test's own (tests/pg_cluster.py: its own port, never the shared one) serves
one real server process (the CLI, as in tests/test_crash_durability.py) with Slack (against
tests/fake_slack.py, every request signed), Teams in local mode (tests/fake_connector.py) and
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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import operator
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from adapters.intake import OUTAGE_RETRY, GroupCommit, IntakeWorker, utcnow
from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.blocks import form_metadata, modal_view
from adapters.slack.events import ModalMetadata
from adapters.slack.replies import CALLBACK_ID
from adapters.slack.routes import _outage
from adapters.teams.app import TeamsBridge
from adapters.teams.botframework import BotFramework, Credentials
from adapters.teams.routes import TeamsRoutes
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage import intake, migrate, rounds
from storage.database import Database
from storage.models import Intake, Member
from storage.sealing import Sealer
from tests.bot_framework_tokens import (
    ISSUER,
    TEST_OUTBOUND_TOKEN,
    FixedTokenCredentials,
    FixedTokenCredentialsFactory,
    OpenIdMetadataServer,
    bearer,
    mint,
)
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.pg_cluster import ThrowawayCluster
from tests.slack_signing import (
    TEAM_ID,
    event_callback,
    interaction,
    post_signed,
    slash_command,
    view_submission,
)
from tests.teams_activities import person, personal, post_activity
from tests.test_crash_durability import SECRET, Server, answers_for, seed

LONG = os.environ.get("PASSERELLE_OUTAGE_LONG", "") not in ("", "0")
OUTAGE_SECONDS = 20.0 if LONG else 6.0
BEFORE_SECONDS = 2.0  # load before the stop
AFTER_SECONDS = 3.0  # load after /healthz answers 200 again
SLACK_PEOPLE = 160 if LONG else 80
SANDBOX_PEOPLE = 40
TEAMS_PEOPLE = 4
RECORDED_WITHIN = 60.0  # seconds after the load, for every acknowledged submission
RETRY_PAUSE = 2.0  # a person told "not saved, send it again" does so this much later


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
                        figures.sandbox_answered.add(ref)
                        return
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


# --------------------------------------------------------------------------- Teams, off the loop
# botbuilder fetches the inbound signing keys and the outbound token with blocking calls: each
# is held here (a gate in another thread), and the server must answer another request
# meanwhile; then the gate opens and the held activity is answered as usual.
APP_ID = "0d6c1f0e-5b8a-4c41-9a57-outage000001"
ANNE = person("29:anne", "Anne")
PING_WITHIN = 5.0  # a failure guard, not a measure: a blocked loop never answers
# A held call gives up after this: then the loop was blocked (the test could not open the gate).
HOLD_LIMIT = 10.0


class Gate:
    """Opened by the test, from its event loop; `hold` blocks a thread until then."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.expired = False  # a hold gave up: nobody could open the gate in time

    def set(self) -> None:
        self.opened.set()

    def hold(self) -> None:
        if not self.opened.wait(HOLD_LIMIT):
            self.expired = True


class HeldTokenCredentials(FixedTokenCredentials):
    """Like MSAL asking Azure AD for a token: a blocking call, held until `gate` opens."""

    def __init__(self, app_id: str, oauth_scope: str | None, gate: Gate) -> None:
        super().__init__(app_id, TEST_OUTBOUND_TOKEN, oauth_scope)
        self.gate = gate
        self.asked = threading.Event()

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.asked.set()
        self.gate.hold()
        return super().get_access_token(force_refresh)


class HeldTokenFactory(FixedTokenCredentialsFactory):
    def __init__(self, app_id: str, gate: Gate) -> None:
        super().__init__(app_id)
        self.gate = gate
        self.asked = threading.Event()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        made = await super().create_credentials(
            app_id, oauth_scope, login_endpoint, validate_authority
        )
        if not isinstance(made, FixedTokenCredentials):
            return made
        held = HeldTokenCredentials(app_id, oauth_scope, self.gate)
        held.asked = self.asked
        return held


class HeldMetadataServer(OpenIdMetadataServer):
    """The OpenID metadata document, held until `gate` opens (served from its own thread)."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate
        self.asked = threading.Event()

    async def _metadata(self, request: web.Request) -> web.Response:
        self.asked.set()
        await asyncio.to_thread(self.gate.hold)
        return await super()._metadata(request)


async def teams_server(tmp_path: Path, framework: BotFramework) -> tuple[TestServer, Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'teams.db'}")
    await migrate.upgrade(database)
    app = web.Application()
    app.router.add_routes(TeamsRoutes(TeamsBridge(Engine(database), framework)).routes())

    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    app.router.add_get("/ping", ping)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, database


async def answered_while_held(
    server: TestServer,
    activity: dict[str, Any],
    headers: dict[str, str],
    held: threading.Event,
    gate: Gate,
) -> int:
    """POST `activity`; once the blocking call it needs is held, /ping must still answer;
    then the gate opens: the activity's status."""
    url = str(server.make_url("/api/messages"))
    posting = asyncio.ensure_future(post_activity(url, activity, headers))
    try:
        assert await asyncio.to_thread(held.wait, 30), "the blocking call never came"
        async with aiohttp.ClientSession() as http:
            timeout = aiohttp.ClientTimeout(total=PING_WITHIN)
            async with http.get(str(server.make_url("/ping")), timeout=timeout) as answer:
                assert answer.status == 200 and await answer.text() == "pong"
        assert not posting.done()  # the activity was still waiting for the held call
    finally:
        gate.set()
    status = await posting
    assert not gate.expired, "the event loop was blocked while the call was held"
    return status


async def test_teams_signing_keys_are_fetched_off_the_event_loop(tmp_path: Path) -> None:
    gate = Gate()
    metadata = HeldMetadataServer(gate)
    async with metadata, FakeConnector(require_token=TEST_OUTBOUND_TOKEN) as connector:
        connector.add_user(ANNE["id"], ANNE["name"])
        framework = BotFramework(
            Credentials(app_id=APP_ID, password="secret"),
            auth_overrides={
                "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": metadata.metadata_url,
                "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER,
                "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": metadata.metadata_url,
            },
            credentials_factory=FixedTokenCredentialsFactory(APP_ID),
        )
        server, database = await teams_server(tmp_path, framework)
        try:
            conversation = connector.personal_conversation_id(ANNE["id"])
            activity = personal(connector.service_url, conversation, ANNE, "help")
            token = bearer(mint(APP_ID, connector.service_url))
            status = await answered_while_held(server, activity, token, metadata.asked, gate)
            assert status in (200, 201)
            assert connector.posted(conversation)  # answered once the keys came
        finally:
            await server.close()
            await database.dispose()


async def test_teams_outbound_token_is_fetched_off_the_event_loop(tmp_path: Path) -> None:
    gate = Gate()
    factory = HeldTokenFactory(APP_ID, gate)
    async with (
        OpenIdMetadataServer() as metadata,
        FakeConnector(require_token=TEST_OUTBOUND_TOKEN) as connector,
    ):
        connector.add_user(ANNE["id"], ANNE["name"])
        framework = BotFramework(
            Credentials(app_id=APP_ID, password="secret"),
            auth_overrides={
                "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": metadata.metadata_url,
                "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER,
                "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": metadata.metadata_url,
            },
            credentials_factory=factory,
        )
        server, database = await teams_server(tmp_path, framework)
        try:
            conversation = connector.personal_conversation_id(ANNE["id"])
            activity = personal(connector.service_url, conversation, ANNE, "help")
            token = bearer(mint(APP_ID, connector.service_url))
            status = await answered_while_held(server, activity, token, factory.asked, gate)
            assert status in (200, 201)
            sent = [c for c in connector.calls if c.kind == "reply_to_activity"]
            assert sent and all(c.token == TEST_OUTBOUND_TOKEN for c in sent)
        finally:
            await server.close()
            await database.dispose()


async def test_a_hanging_connector_call_leaves_the_event_loop_free(tmp_path: Path) -> None:
    gate = Gate()
    held = threading.Event()
    connector = FakeConnector()
    serve = connector._serve

    async def slow(request: web.Request) -> web.Response:  # on the connector's own loop
        if request.method == "POST" and "/activities" in request.path:
            held.set()
            await asyncio.to_thread(gate.hold)
        return await serve(request)

    connector._serve = slow  # type: ignore[method-assign]
    async with connector:
        connector.add_user(ANNE["id"], ANNE["name"])
        server, database = await teams_server(tmp_path, BotFramework(Credentials()))
        try:
            conversation = connector.personal_conversation_id(ANNE["id"])
            activity = personal(connector.service_url, conversation, ANNE, "help")
            status = await answered_while_held(server, activity, {}, held, gate)
            assert status in (200, 201)
            assert connector.posted(conversation)
        finally:
            await server.close()
            await database.dispose()


# --------------------------------------------------------------------------- the intake worker
async def test_a_database_outage_is_not_counted_against_a_row(database: Database) -> None:
    """A handler that fails because the database is away leaves its row uncounted and due
    again at once (not backed off, never pushed towards the hourly retry); a failure of the
    row's own is counted."""
    sealer = Sealer.ephemeral()
    outage = True
    seen: list[str] = []

    async def handler(intake_id: str, payload: Any) -> None:
        seen.append(intake_id)
        if outage:
            raise ConnectionRefusedError(111, "Connect call failed")
        raise ValueError("a bug of this row's own")

    worker = IntakeWorker(database, sealer, {"slack": handler}, concurrency=1)
    commit = GroupCommit(database, sealer)
    await commit.put("slack", {"n": 1})
    start, SECOND = utcnow(), dt.timedelta(seconds=1)
    for n in range(intake.MAX_ATTEMPTS + 2):  # more outages than attempts allowed
        # Each drain a little later than the last one's retry (OUTAGE_RETRY): due again.
        worker.clock = functools.partial(operator.add, start, n * (OUTAGE_RETRY + SECOND))
        assert await worker.drain_once() == 1
    assert worker.outages == intake.MAX_ATTEMPTS + 2 and worker.failed == 0
    async with database.session() as session:
        (row,) = (await session.scalars(select(Intake))).all()
    assert row.attempts == 0  # the outages were not the row's
    outage = False
    worker.clock = lambda: start + dt.timedelta(minutes=1)
    assert await worker.drain_once() == 1
    async with database.session() as session:
        (row,) = (await session.scalars(select(Intake))).all()
    assert worker.failed == 1 and row.attempts == 1


def test_slack_is_answered_when_bolt_fails_for_want_of_the_database() -> None:
    """With OAuth, Bolt reads the installation before any listener: when that fails (500),
    the route answers what Slack can show (adapters/slack/routes.py `_outage`)."""
    view = {"type": "modal", "blocks": [{"type": "input", "block_id": "q1", "element": {}}]}
    submitted = _outage(interaction({"type": "view_submission", "view": view}))
    assert submitted.status == 200
    errors = json.loads(submitted.text or "")["errors"]
    assert "base de données" in errors["q1"] and "database" in errors["q1"]
    command = _outage(slash_command("help", "U1", "C1"))
    assert json.loads(command.text or "")["response_type"] == "ephemeral"
    assert _outage(event_callback({"type": "app_home_opened", "user": "U1"})).status == 503
    assert _outage(b"\xff\xfe").status == 200
