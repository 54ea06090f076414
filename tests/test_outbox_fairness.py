"""Fairness of the outbox on SQLite and PostgreSQL: claims take turns between flows (a
workspace's direct messages, each channel), and the worker's lanes claim again as they free up,
so a slow channel holds up neither a fan-out nor the other lanes (storage.outbox.claim,
bot.outbox_worker, bot.outbox_lanes)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card, Paragraph
from dialogs.ports import Delivery
from storage import outbox
from storage.database import Database
from storage.models import OutboxMessage
from tests.conftest import Clock

LEASE = dt.timedelta(seconds=30)
CHANNELS = ["C0", "C1", "C2", "C3"]


def card(text: str) -> dict[str, Any]:
    return Card(title=text, blocks=[Paragraph(text=text)]).model_dump(mode="json")


async def queue_dms(
    database: Database, count: int, now: dt.datetime, platform: str = "sandbox"
) -> None:
    async with database.session() as session, session.begin():
        for n in range(count):
            await outbox.enqueue(
                session,
                idem_key=f"dm:{n}",
                envelope=outbox.Envelope(platform, "T1", "direct", f"U{n:04d}"),
                payload=card(f"dm {n}"),
                not_before=now,
            )


async def queue_posts(
    database: Database, channels: list[str], posts: int, now: dt.datetime
) -> None:
    async with database.session() as session, session.begin():
        for n in range(posts):
            for channel in channels:
                await outbox.enqueue(
                    session,
                    idem_key=f"post:{channel}:{n}",
                    envelope=outbox.Envelope("sandbox", "T1", "channel", channel),
                    payload=card(f"{channel} {n}"),
                    not_before=now,
                )


async def claim(
    database: Database, worker: str, now: dt.datetime, limit: int
) -> list[OutboxMessage]:
    async with database.session() as session, session.begin():
        return await outbox.claim(session, worker=worker, now=now, lease=LEASE, limit=limit)


def label(message: OutboxMessage) -> str:
    return message.address if message.kind == "direct" else message.payload["title"]


async def test_posts_queued_after_a_fan_out_are_claimed_in_its_first_batch(
    database: Database, clock: Clock
) -> None:
    start = clock()
    await queue_dms(database, 200, start)
    await queue_posts(database, CHANNELS, 10, start + dt.timedelta(seconds=1))
    first = await claim(database, "w1", clock.advance(seconds=2), limit=20)
    # Round robin between five flows (the DMs, four channels), in the order they go out.
    assert [label(m) for m in first[:10]] == [
        "U0000",
        "C0 0",
        "C1 0",
        "C2 0",
        "C3 0",
        "U0001",
        "C0 1",
        "C1 1",
        "C2 1",
        "C3 1",
    ]
    assert sorted(label(m) for m in first if m.kind == "direct") == [f"U{n:04d}" for n in range(4)]
    for channel in CHANNELS:  # each channel: its first posts, in order
        posts = [label(m) for m in first if m.address == channel]
        assert posts == [f"{channel} {n}" for n in range(4)]

    # The DMs went out quickly; the channels' posts are still waiting for their pace. The
    # next claim gives the fan-out its turns first: a flow's messages in flight count.
    for message in first:
        if message.kind == "direct":
            async with database.session() as session, session.begin():
                assert await outbox.mark_sent(session, message.id, "w1", clock())
    second = await claim(database, "w1", clock(), limit=8)
    assert sorted(label(m) for m in second) == [
        "C0 4",
        "C1 4",
        "C2 4",
        *(f"U{n:04d}" for n in range(4, 9)),
    ]

    # Another worker leaves the channels w1 is sending to w1 (their order stays one lane's),
    # and takes the rest of the fan-out.
    other = await claim(database, "w2", clock(), limit=500)
    assert {m.kind for m in other} == {"direct"} and len(other) == 200 - 9
    # Once w1 has nothing of a channel in flight, anyone may take its next post.
    async with database.session() as session, session.begin():
        for message in [*first, *second]:
            if message.address == "C3":
                assert await outbox.mark_sent(session, message.id, "w1", clock())
    assert [label(m) for m in await claim(database, "w2", clock(), limit=500)] == [
        f"C3 {n}" for n in range(4, 10)
    ]


async def test_one_conversation_stays_in_order_within_and_across_claims(
    database: Database, clock: Clock
) -> None:
    start = clock()
    await queue_posts(database, ["C0"], 6, start)
    await queue_dms(database, 3, start)
    async with database.session() as session, session.begin():
        # A later post queued with an earlier time still goes by (not_before, id).
        await outbox.enqueue(
            session,
            idem_key="post:C0:early",
            envelope=outbox.Envelope("sandbox", "T1", "channel", "C0"),
            payload=card("C0 early"),
            not_before=start - dt.timedelta(seconds=1),
        )
    seen: list[str] = []
    for _ in range(4):
        seen += [label(m) for m in await claim(database, "w1", clock(), limit=3)]
    assert [s for s in seen if s.startswith("C0")] == ["C0 early", *(f"C0 {n}" for n in range(6))]
    assert len(seen) == 10 and len(set(seen)) == 10


class GatedSender:
    """Delivers at once, except to `slow` (a channel at its pace): those wait for `gate`."""

    platform = "sandbox"

    def __init__(self, database: Database, clock: Clock, slow: str, dms: int) -> None:
        self.database, self.clock, self.slow = database, clock, slow
        self.gate = asyncio.Event()
        self.dms_done = asyncio.Event()
        self.slow_started = asyncio.Event()
        self.dms = dms
        self.deliveries: list[Delivery] = []
        self.claimed_unsent: list[int] = []

    async def send(self, delivery: Delivery) -> None:
        if delivery.address == self.slow:
            self.slow_started.set()
            await self.gate.wait()
        else:
            self.clock.advance(seconds=5)  # past the lease, in all: the slow post is renewed
            async with self.database.session() as session:
                unsent = await session.scalar(
                    select(func.count()).where(OutboxMessage.status == outbox.SENDING)
                )
                assert unsent is not None
                self.claimed_unsent.append(unsent)
        self.deliveries.append(delivery)
        if sum(d.kind == "direct" for d in self.deliveries) == self.dms:
            self.dms_done.set()


async def test_a_slow_conversation_does_not_hold_the_others(
    database: Database, clock: Clock
) -> None:
    # The channel's posts are queued first: they are in the first batch whatever the order.
    await queue_posts(database, ["C-slow"], 3, clock())
    await queue_dms(database, 30, clock())
    sender = GatedSender(database, clock, "C-slow", dms=30)
    worker = OutboxWorker(
        database, {"sandbox": sender}, clock=clock, name="w1", batch=5, lanes=2, lease=LEASE
    )
    draining = asyncio.create_task(worker.drain())
    try:
        await asyncio.wait_for(sender.slow_started.wait(), timeout=20)
        # Every DM goes out while the channel's first post is still on its way.
        await asyncio.wait_for(sender.dms_done.wait(), timeout=20)
        assert not draining.done()
        assert [d.address for d in sender.deliveries if d.kind == "channel"] == []
        # The worker never held more than `batch` claimed and unsent.
        assert max(sender.claimed_unsent) <= 5
        # 150 s went by (five lease lengths): the waiting posts' lease was renewed all along.
        assert await claim(database, "thief", clock(), limit=50) == []
        sender.gate.set()
        assert await asyncio.wait_for(draining, timeout=20) == 33
    finally:
        sender.gate.set()
        if not draining.done():
            draining.cancel()
    posts = [d.card.title for d in sender.deliveries if d.kind == "channel"]
    assert posts == ["C-slow 0", "C-slow 1", "C-slow 2"]
    addresses = [d.address for d in sender.deliveries if d.kind == "direct"]
    assert sorted(addresses) == [f"U{n:04d}" for n in range(30)]  # each once
    async with database.session() as session:
        statuses = (await session.scalars(select(OutboxMessage.status))).all()
    assert set(statuses) == {outbox.SENT} and len(statuses) == 33


class Crash(BaseException):
    """The process dies (not an exception a worker could catch and record)."""


async def test_after_a_lane_fails_the_others_finish_their_send_and_take_no_more(
    database: Database, clock: Clock
) -> None:
    await queue_posts(database, ["C-slow"], 2, clock())
    await queue_dms(database, 1, clock())  # U0000: its send fails
    gate, slow_started, crashed = asyncio.Event(), asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    class Failing:
        platform = "sandbox"

        async def send(self, delivery: Delivery) -> None:
            if delivery.kind == "direct":
                await slow_started.wait()
                crashed.set()
                raise Crash
            slow_started.set()
            await gate.wait()
            sent.append(delivery.card.title)

    worker = OutboxWorker(database, {"sandbox": Failing()}, clock=clock, name="w1", lanes=2)
    draining = asyncio.create_task(worker.drain())
    await asyncio.wait_for(crashed.wait(), timeout=20)
    gate.set()  # the other lane's send, under way when the first failed, completes
    with pytest.raises(Crash):
        await asyncio.wait_for(draining, timeout=20)
    assert sent == ["C-slow 0"]  # finished, and marked; the next post was not taken
    async with database.session() as session:
        found = {m.payload["title"]: m.status for m in await session.scalars(select(OutboxMessage))}
    assert found == {"C-slow 0": outbox.SENT, "C-slow 1": outbox.SENDING, "dm 0": outbox.SENDING}
