"""De-duplication shared by every process (`marks`): the mark itself on SQLite and PostgreSQL
(expiry, races, forgetting), Slack's and Teams' duplicates across two bridges on one
database, and two real `passerelle serve` processes on one fresh PostgreSQL database that
both receive the same signed Slack event and the same Teams activity: each is handled once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.slack import events
from adapters.slack.app import SlackBridge
from adapters.teams.app import TeamsBridge
from adapters.teams.botframework import BotFramework, Credentials
from adapters.ttl_cache import MarksUnavailable, SharedMarks
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived
from dialogs.i18n import Tr
from storage import marks
from storage.coordination import Mark
from storage.database import Database
from storage.sealing import Sealer
from tests.conftest import START, Clock
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.slack_signing import app_home_opened, event_callback, post_signed
from tests.teams_activities import TENANT, person, personal, post_activity
from tests.test_crash_durability import Server

SECRET = "shared-dedup-secret-0123456789-abcdefghijklm"
MINUTES_15 = dt.timedelta(minutes=15)
TEAM = "T0SHARED"


# ------------------------------------------------------------------ the marks
async def test_a_mark_is_first_once_until_it_expires(database: Database) -> None:
    async with database.session() as session, session.begin():
        assert await marks.first_time(session, "k" * 64, MINUTES_15, START)
        assert not await marks.first_time(session, "k" * 64, MINUTES_15, START)
        assert await marks.present(session, "k" * 64, START)
    later = START + MINUTES_15
    async with database.session() as session, session.begin():
        assert not await marks.present(session, "k" * 64, later)  # expired: absent
        assert await marks.first_time(session, "k" * 64, MINUTES_15, later)  # taken over
        assert not await marks.first_time(session, "k" * 64, MINUTES_15, later)
        await marks.forget(session, "k" * 64)
        assert await marks.first_time(session, "k" * 64, MINUTES_15, later)


async def test_expired_marks_are_purged(database: Database) -> None:
    async with database.session() as session, session.begin():
        for n in range(5):
            await marks.first_time(session, f"old{n}", dt.timedelta(minutes=n + 1), START)
        await marks.first_time(session, "young", dt.timedelta(hours=1), START)
    async with database.session() as session, session.begin():
        assert await marks.purge_expired(session, START + dt.timedelta(minutes=3)) == 3
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Mark)) == 3


@pytest.mark.parametrize("expired_before", [False, True])
async def test_racing_processes_mark_a_delivery_once(
    database: Database, database_url: str, expired_before: bool
) -> None:
    """Eight connection pools (eight processes' worth) mark the same key at the same moment,
    with no row yet or with an expired one to take over: exactly one is first."""
    key = "race" + "0" * 60
    if expired_before:
        async with database.session() as session, session.begin():
            await marks.first_time(session, key, dt.timedelta(seconds=1), START)
    now = START + dt.timedelta(minutes=1)
    pools = [Database(database_url) for _ in range(8)]
    gate = asyncio.Event()

    async def one(pool: Database) -> bool:
        async with pool.session() as session:
            await session.execute(select(1))  # connected before the gate opens
            await session.commit()
            await gate.wait()
            async with session.begin():
                return await marks.first_time(session, key, MINUTES_15, now)

    try:
        racing = [asyncio.ensure_future(one(pool)) for pool in pools]
        await asyncio.sleep(0)
        gate.set()
        results = await asyncio.gather(*racing)
    finally:
        for pool in pools:
            await pool.dispose()
    assert sorted(results) == [False] * 7 + [True]


async def test_shared_marks_batch_and_hash_their_keys(database: Database) -> None:
    clock = Clock()
    sealer = Sealer(SECRET)
    seen = SharedMarks(database, sealer, "slack delivery", MINUTES_15, clock)
    other = SharedMarks(database, Sealer(SECRET), "slack delivery", MINUTES_15, clock)
    names = ["event:Ev1", "event:Ev2", "event:Ev1", "view:V1:h:abc"]
    first = await asyncio.gather(*(seen.first_time(n) for n in names))
    assert first == [True, True, False, True]  # the same name twice in one batch: once
    assert not await other.first_time("event:Ev2")  # another process, the same secret
    async with database.session() as session:
        keys = set((await session.scalars(select(Mark.key))).all())
    assert keys == {seen.key(n) for n in names}
    assert all(len(k) == 64 and "Ev" not in k and "V1" not in k for k in keys)  # names nobody
    await seen.forget("event:Ev1")
    assert await other.first_time("event:Ev1")


async def test_an_unreachable_database_is_said_not_guessed(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'no.db'}")
    seen = SharedMarks(broken, Sealer(SECRET), "x", MINUTES_15, Clock())
    with pytest.raises(MarksUnavailable):
        await seen.first_time("event:Ev1")
    await broken.dispose()
    # aiosqlite stops the thread of a connection that failed to open without waiting for it,
    # and the thread then reports to this loop: it must end before the loop does, or it finds
    # the loop closed (a thread exception pytest pins on whichever test runs next).
    for thread in set(threading.enumerate()) - before:
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join)


# ------------------------------------------------------------------ two bridges, one database
def two_engines(database: Database) -> tuple[Engine, Engine]:
    clock = Clock()
    return (
        Engine(database, clock=clock, sealer=Sealer(SECRET)),
        Engine(database, clock=clock, sealer=Sealer(SECRET)),
    )


async def test_a_slack_delivery_reaching_two_bridges_is_handled_by_one(
    database: Database,
) -> None:
    """An event (acked at once) is marked in its work's task: one bridge does the work."""
    bridges = [
        SlackBridge(engine, signing_secret="s", bot_token="xoxb-1")
        for engine in two_engines(database)
    ]
    handled: list[int] = []

    async def work(n: int) -> None:
        handled.append(n)

    body = json.loads(event_callback(app_home_opened("U0ANNE", "D0ANNE"), event_id="Ev0SAME"))
    for n, bridge in enumerate(bridges):
        bridge._after_ack(work(n), body)
    for bridge in bridges:
        await bridge.settle()
    assert len(handled) == 1
    # Another event is another delivery; the same one again is still a repeat.
    other = json.loads(event_callback(app_home_opened("U0ANNE", "D0ANNE"), event_id="Ev0NEXT"))
    bridges[1]._after_ack(work(7), other)
    bridges[0]._after_ack(work(8), body)
    for bridge in bridges:
        await bridge.settle()
    assert handled[1:] == [7]


async def test_a_view_closed_on_one_process_is_known_to_the_other(database: Database) -> None:
    first, second = (
        SlackBridge(engine, signing_secret="s", bot_token="xoxb-1")
        for engine in two_engines(database)
    )

    async def ack(**_: Any) -> None:
        return None

    assert not await second._view_closed("V0CLOSED")
    await first.on_recording_closed(ack, {"view": {"id": "V0CLOSED"}})
    assert await second._view_closed("V0CLOSED")


async def test_a_teams_activity_reaching_two_bridges_is_handled_by_one(
    database: Database,
) -> None:
    """The mark is written in the engine's turn: the same activity on two bridges at once is
    one turn (on PostgreSQL the second waits for the first's commit, then does nothing); a
    turn that failed left no mark, so the connector's retry is handled."""
    bridges = [
        TeamsBridge(engine, BotFramework(Credentials(app_id="", password="")))
        for engine in two_engines(database)
    ]
    turns: list[int] = []
    for n, bridge in enumerate(bridges):
        dispatch = bridge.engine._dispatch

        async def counted(turn: Any, event: Any, n: int = n, dispatch: Any = dispatch) -> Any:
            turns.append(n)
            await asyncio.sleep(0.05)  # the other bridge's turn starts meanwhile
            return await dispatch(turn, event)

        bridge.engine._dispatch = counted  # type: ignore[method-assign]

    class Turn:
        def __init__(self, activity_id: str) -> None:
            self.activity = {"id": activity_id, "type": "message", "conversation": {"id": "a:1"}}

    actor = Actor("msteams", TENANT, "29:anne", display_name="Anne")
    answers = await asyncio.gather(
        *(
            bridge._engine(Turn("act-1"), CommandReceived(actor=actor, text="help"))  # type: ignore[arg-type]
            for bridge in bridges
        )
    )
    assert len(turns) == 1 and sorted(a is None for a in answers) == [False, True]

    # A turn that failed (the database went away) left no mark: the retry is a turn of its own.
    failing = bridges[0].engine

    async def broken(turn: Any, event: Any) -> Any:
        raise OSError("the database went away")

    failing._dispatch = broken  # type: ignore[method-assign]
    cards = await bridges[0]._engine(Turn("act-2"), CommandReceived(actor=actor, text="help"))  # type: ignore[arg-type]
    assert cards is not None and cards[0].title == Tr("fr")("outage.title")
    turns.clear()
    retried = await bridges[1]._engine(Turn("act-2"), CommandReceived(actor=actor, text="help"))  # type: ignore[arg-type]
    assert retried and turns == [1]
    assert (
        await bridges[0]._engine(Turn("act-2"), CommandReceived(actor=actor, text="help"))  # type: ignore[arg-type]
        is None
    )


# ------------------------------------------------------------------ two real processes
@pytest.fixture
async def servers() -> AsyncIterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        await server.stop()


async def until(condition: Any, what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_processes_handle_each_slack_event_and_teams_activity_once(
    database: Database, database_url: str, tmp_path: Path, servers: list[Server]
) -> None:
    async with FakeSlack() as slack, FakeConnector() as connector:
        for user in ("U0ANNE", "U0BEN", "U0CLEO"):
            slack.add_user(user, tz="America/Toronto", locale="fr-CA")
        connector.add_user("29:anne", "Anne")
        for n in range(2):
            server = Server(database_url, slack.env(), tmp_path / f"serve{n}.log")
            server.env["PASSERELLE_SECRET_KEY"] = SECRET
            servers.append(server)
        await asyncio.gather(*(s.start() for s in servers))

        def published(user: str) -> int:
            return sum(
                1 for c in slack.calls_to("views.publish") if c.params.get("user_id") == user
            )

        # Slack: the same signed event to both processes at once.
        same = event_callback(app_home_opened("U0ANNE", slack.dm_id("U0ANNE")))
        acks = await asyncio.gather(
            *(post_signed(f"{s.url}/slack/events", same, slack.signing_secret) for s in servers)
        )
        assert [a.status for a in acks] == [200, 200]
        # Then a different event to each: once they are published, so is anything the
        # duplicate could have started before them.
        for server, user in zip(servers, ("U0BEN", "U0CLEO"), strict=True):
            sentinel = event_callback(app_home_opened(user, slack.dm_id(user)))
            reply = await post_signed(f"{server.url}/slack/events", sentinel, slack.signing_secret)
            assert reply.status == 200
        await until(lambda: published("U0BEN") and published("U0CLEO"), "sentinels published")
        await until(lambda: published("U0ANNE") > 0, "home published")
        assert published("U0ANNE") == 1

        # Teams: the same activity to both processes at once; each answers inline.
        dm = connector.personal_conversation_id("29:anne", TENANT)
        activity = personal(connector.service_url, dm, person("29:anne", "Anne"), "help")
        statuses = await asyncio.gather(
            *(post_activity(f"{s.url}/api/messages", activity) for s in servers)
        )
        assert all(status < 300 for status in statuses), statuses
        assert len(connector.posted(dm)) == 1
    for n in range(2):
        assert "Traceback" not in (tmp_path / f"serve{n}.log").read_text()


@pytest.mark.parametrize(
    "body",
    [
        [],
        "event",
        {"type": "view_submission", "view": "V1"},
        {"type": "view_submission", "view": {"id": "V", "hash": "h", "state": {1: 2, "a": 3}}},
    ],
)
def test_a_malformed_payload_has_no_identity(body: Any) -> None:
    assert events.event_identity(body) is None


def test_what_a_request_carries_never_breaks_a_mark_or_a_signature() -> None:
    sealer = Sealer(SECRET)
    seen = SharedMarks(Database("sqlite+aiosqlite://"), sealer, "x", MINUTES_15, Clock())
    assert seen.key("event:\ud800") != seen.key("event:a")
    metadata = events.ModalMetadata("f\ud800", "C1", "n\udfff")
    raw = metadata.signed(sealer.tag, TEAM, "U\ud800")
    assert events.ModalMetadata.verified(raw, sealer.tag, TEAM, "U\ud800") == metadata
    with pytest.raises(events.ForgedMetadata):
        events.ModalMetadata.verified(raw, sealer.tag, TEAM, "U0OTHER")
    with pytest.raises(events.ForgedMetadata):
        events.ModalMetadata.verified('{"f": "x", "s": 7}', sealer.tag, TEAM, "U")
