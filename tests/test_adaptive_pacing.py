"""The shared, learned pace on a real database (SQLite and PostgreSQL): storage.send_paces,
adapters.pacing.DatabaseStore, the outbox worker's holds, and the Teams sender per tenant."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import pytest

from adapters.pacing import DatabaseStore, Pacer
from adapters.teams import conversations
from adapters.teams import sender as teams_sender
from adapters.teams.botframework import ConnectorError
from adapters.teams.sender import TeamsSender
from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card, Paragraph
from dialogs.ports import Delivery, DeliveryFailed
from storage import outbox, send_paces
from storage.database import Database
from storage.send_paces import Rule, State
from tests.conftest import Clock

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
RULE = Rule(interval=0.5, fastest=0.1, slowest=8.0, probe_after=4, faster=0.5, slower=2.0)
CARD = Card(title="Bonjour", blocks=[Paragraph(text="un message")])


async def reserve(database: Database, now: dt.datetime, **options: Any) -> send_paces.Slot:
    async with database.session() as session, session.begin():
        return await send_paces.reserve(session, "slack", "T1/chat", now, RULE, **options)


async def state(
    database: Database, scope: str = "T1/chat", platform: str = "slack"
) -> State | None:
    async with database.session() as session:
        return await send_paces.find(session, platform, scope)


async def known(database: Database) -> State:
    """The pace of the default scope, which the test has set."""
    found = await state(database)
    assert found is not None
    return found


async def test_reservations_follow_the_same_arithmetic_on_both_databases(
    database: Database,
) -> None:
    slots = [(await reserve(database, T0)).at for _ in range(3)]
    assert slots == [T0, T0 + dt.timedelta(seconds=0.5), T0 + dt.timedelta(seconds=1)]
    assert (await reserve(database, T0)).busy
    async with database.session() as session, session.begin():
        until = await send_paces.penalize(session, "slack", "T1/chat", T0, RULE, 30)
    assert until == T0 + dt.timedelta(seconds=30)
    far = await reserve(database, T0, latest=T0 + dt.timedelta(seconds=10))
    assert not far.reserved and far.at == until  # not taken: the caller puts its message back
    later = await reserve(database, until)
    assert later.reserved and later.at == until


async def test_the_interval_grows_on_a_429_and_shrinks_on_answered_streaks(
    database: Database,
) -> None:
    await reserve(database, T0)
    async with database.session() as session, session.begin():
        await send_paces.penalize(session, "slack", "T1/chat", T0, RULE, 1)
        await send_paces.penalize(session, "slack", "T1/chat", T0, RULE, 1)  # same episode
    assert (await known(database)).interval == 1.0
    now = T0 + dt.timedelta(seconds=5)
    intervals = []
    for _ in range(4):
        await reserve(database, now, successes=4)
        intervals.append((await known(database)).interval)
    assert intervals == [0.5, 0.25, 0.125, 0.1]  # probed faster, down to the floor
    await reserve(database, now, successes=2)
    assert (await known(database)).streak == 2


async def test_two_workers_share_one_reservation_sequence(
    database_url: str, database: Database
) -> None:
    """Two pacers, each on its own engine (two processes' worth of connections), reserve on
    one scope at once: no two slots are equal, and they are spaced by the interval."""
    second = Database(database_url)
    rule = Rule(interval=0.001, fastest=0.001, slowest=1.0)
    slots: list[dt.datetime] = []

    async def no_sleep(_seconds: float) -> None:
        await asyncio.sleep(0)

    def pacer(on: Database) -> Pacer:
        return Pacer("slack", DatabaseStore(on), clock=lambda: T0, sleep=no_sleep)

    async def run(pacer: Pacer) -> None:
        for _ in range(25):
            (slot,) = await pacer.wait([("T1/chat.postMessage", rule)])
            slots.append(slot.at)

    try:
        await asyncio.gather(run(pacer(database)), run(pacer(second)), run(pacer(second)))
    finally:
        await second.dispose()
    assert len(slots) == 75 and len(set(slots)) == 75
    ordered = sorted(slots)
    gaps = {round((b - a).total_seconds(), 6) for a, b in itertools.pairwise(ordered)}
    assert gaps == {0.001}


class Refusing:
    """A sender whose platform answers 429 for one workspace."""

    platform = "slack"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, delivery: Delivery) -> None:
        if delivery.workspace == "T-busy":
            raise DeliveryFailed("ratelimited", retry_after=30)
        self.sent.append(delivery.address)


async def test_a_held_workspace_is_respected_by_another_worker(
    database_url: str, database: Database, clock: Clock
) -> None:
    async with database.session() as session, session.begin():
        for n, workspace in enumerate(["T-busy", "T-busy", "T-calm"]):
            await outbox.enqueue(
                session,
                idem_key=f"k{n}",
                envelope=outbox.Envelope("slack", workspace, "direct", f"U{n}"),
                payload=CARD.model_dump(mode="json"),
                not_before=clock(),
            )
    first = OutboxWorker(database, {"slack": Refusing()}, clock=clock, name="first", batch=1)
    assert await first.drain_once() == 1  # the 429: T-busy held, in the database
    other = Database(database_url)  # another process's engine
    try:
        calm = Refusing()
        second = OutboxWorker(other, {"slack": calm}, clock=clock, name="second")
        assert await second.drain() == 1 and calm.sent == ["U2"]  # T-busy's messages wait
        clock.advance(seconds=31)
        assert await second.drain() == 2  # the hold is over: claimed (and refused again)
    finally:
        await other.dispose()
    async with database.session() as session:
        held = await send_paces.paused_until(session, "slack", "T-busy", clock())
    assert held == clock() + dt.timedelta(seconds=30)


class Connector:
    """The Bot Framework as the Teams sender calls it: 429 for the first `refusals` posts."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.posts: list[str] = []

    async def send(self, reference: dict[str, Any], activities: list[dict[str, Any]]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ConnectorError(429, 0.5, "slow down")
        self.posts.append(reference["conversation"]["id"])


async def test_the_teams_sender_learns_per_tenant_through_the_same_store(
    database: Database,
) -> None:
    async with database.session() as session, session.begin():
        for tenant in ("tenant-a", "tenant-b"):
            await conversations.remember(
                session,
                tenant=tenant,
                kind=conversations.CHANNEL,
                key="19:general",
                service_url="http://127.0.0.1:9/",
                reference={"conversation": {"id": f"19:general@{tenant}"}},
            )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    connector = Connector(refusals=1)
    sender = TeamsSender(connector, database, sleep=sleep)  # type: ignore[arg-type]
    sender.pacer.use(DatabaseStore(database))
    for tenant in ("tenant-a", "tenant-b"):
        await sender.send(Delivery("teams", tenant, "channel", "19:general", CARD))
    assert connector.posts == ["19:general@tenant-a", "19:general@tenant-b"]
    slowed = await state(database, "tenant-a/send", platform="teams")
    untouched = await state(database, "tenant-b/send", platform="teams")
    rule = teams_sender.TENANT_RULE
    assert slowed is not None and untouched is not None
    assert slowed.interval == pytest.approx(rule.interval * rule.slower)
    assert slowed.paused_until is not None and untouched.paused_until is None
    assert untouched.interval == pytest.approx(rule.interval)
    assert 0.5 in slept  # the Retry-After, waited here before the post went
