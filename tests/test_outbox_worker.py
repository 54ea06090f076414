"""The outbox worker, on SQLite and PostgreSQL (bot.outbox_worker): sends outside the claim,
retries and backs off, marks the unreachable, renews and loses leases."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox_worker import MAX_ATTEMPTS, OutboxWorker, worker_name
from dialogs import outbound
from dialogs.ports import Delivery, DeliveryFailed
from storage import outbox, teams
from storage.database import Database
from storage.models import Member, OutboxMessage, Team
from tests.conftest import Clock
from tests.outbox_helpers import CARD, LEASE, Crash, ScriptedSender, claim, queue, rows


# ----------------------------------------------------------------------- the worker
async def test_worker_sends_outside_the_claim_transaction_then_marks_sent(
    database: Database, clock: Clock
) -> None:
    await queue(database, ["camille", "nadia"], not_before=clock())
    seen: list[tuple[str, str | None]] = []

    async def look(delivery: Delivery, _n: int) -> None:
        # Another connection already sees the claim committed, and the row not yet sent.
        async with database.session() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.address == delivery.address)
            )
        assert row is not None
        seen.append((row.status, row.claimed_by))

    sender = ScriptedSender(look)
    worker = OutboxWorker(database, {"sandbox": sender}, clock=clock, name="w1")
    assert await worker.drain() == 2
    assert seen == [(outbox.SENDING, "w1"), (outbox.SENDING, "w1")]
    assert sender.deliveries[0].card == CARD
    assert sender.deliveries[0].kind == "direct"
    assert {r.status for r in (await rows(database)).values()} == {outbox.SENT}
    assert worker.sent == 2
    assert await worker.drain() == 0 and len(sender.deliveries) == 2


async def test_a_crash_resends_at_most_what_was_in_flight(database: Database, clock: Clock) -> None:
    addresses = [f"m{i}" for i in range(10)]
    await queue(database, addresses, not_before=clock())

    async def crash_on_third(_delivery: Delivery, n: int) -> None:
        if n == 3:
            raise Crash  # after the platform got it, before the outbox knows

    first = ScriptedSender(crash_on_third)
    dying = OutboxWorker(database, {"sandbox": first}, clock=clock, name="dying", batch=4)
    with pytest.raises(Crash):
        await dying.drain()
    in_flight = {a for a, r in (await rows(database)).items() if r.status == outbox.SENDING}
    assert in_flight == {"m2", "m3"}
    second = ScriptedSender()
    survivor = OutboxWorker(database, {"sandbox": second}, clock=clock, name="survivor")
    assert await survivor.drain() == 6  # the dead worker's lease still holds m2, m3
    clock.advance(minutes=2, seconds=1)
    assert await survivor.drain() == 2
    delivered = first.addresses() + second.addresses()
    assert sorted(set(delivered)) == sorted(addresses)
    duplicates = {a for a in delivered if delivered.count(a) > 1}
    assert duplicates == {"m2"} and duplicates <= in_flight
    assert {r.status for r in (await rows(database)).values()} == {outbox.SENT}


async def test_retry_after_reschedules_at_now_plus_n(database: Database, clock: Clock) -> None:
    await queue(database, ["busy"], not_before=clock())
    calls = 0

    async def rate_limited(_delivery: Delivery, n: int) -> None:
        nonlocal calls
        calls = n
        if n == 1:
            raise DeliveryFailed("rate limited", retry_after=30)

    worker = OutboxWorker(database, {"sandbox": ScriptedSender(rate_limited)}, clock=clock)
    failed_at = clock()
    await worker.drain()
    row = (await rows(database))["busy"]
    # Waiting because the platform asked to is not a failed attempt.
    assert (row.status, row.attempts, row.last_error) == (outbox.PENDING, 0, "rate limited")
    assert row.not_before == failed_at + dt.timedelta(seconds=30)
    assert row.claimed_until is None
    clock.advance(seconds=29)
    assert await worker.drain() == 0 and calls == 1
    clock.advance(seconds=1)
    assert await worker.drain() == 1 and calls == 2
    row = (await rows(database))["busy"]
    assert (row.status, row.attempts, row.last_error) == (outbox.SENT, 1, None)  # one real attempt


async def test_other_failures_back_off_exponentially_with_jitter_then_fail(
    database: Database, clock: Clock
) -> None:
    addresses = [f"m{i}" for i in range(6)]
    await queue(database, addresses, not_before=clock())

    async def broken(delivery: Delivery, _n: int) -> None:
        if int(delivery.address[1:]) % 2 == 0:
            raise DeliveryFailed("server error")
        raise RuntimeError("transport exploded")  # not a DeliveryFailed: retried all the same

    sender = ScriptedSender(broken)
    worker = OutboxWorker(database, {"sandbox": sender}, clock=clock, name="w")
    first_delays: list[float] = []
    for attempt in range(1, MAX_ATTEMPTS):
        now = clock()
        assert await worker.drain() == len(addresses)
        found = await rows(database)
        for address in addresses:
            row = found[address]
            assert (row.status, row.attempts) == (outbox.PENDING, attempt)
            delay = (row.not_before - now).total_seconds()
            assert 0.5 * 2**attempt <= delay <= 1.5 * 2**attempt, (attempt, delay)
            if attempt == 1:
                first_delays.append(delay)
        assert found["m0"].last_error == "server error"
        assert "transport exploded" in (found["m1"].last_error or "")
        clock.now = max(r.not_before for r in found.values())
    assert len(set(first_delays)) > 1  # jitter: not all at the same instant
    assert await worker.drain() == len(addresses)  # the last attempt
    found = await rows(database)
    assert {(r.status, r.attempts) for r in found.values()} == {(outbox.FAILED, MAX_ATTEMPTS)}
    clock.advance(days=1)
    assert await worker.drain() == 0
    assert len(sender.deliveries) == MAX_ATTEMPTS * len(addresses)


async def team_with_members(
    database: Database, clock: Clock, *names: str
) -> tuple[Team, list[Member]]:
    async with database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug="equipe", name="Équipe", now=clock(), quiet_start=0, quiet_end=0
        )
        members = []
        for name in names:
            member = Member(team_id=team.id, platform="sandbox", workspace="", user_ref=name)
            session.add(member)
            members.append(member)
        await session.flush()
    return team, members


async def test_unreachable_marks_the_row_and_the_member_and_stops_queueing(
    database: Database, clock: Clock
) -> None:
    team, (gone, here) = await team_with_members(database, clock, "gone", "here")
    async with database.session() as session, session.begin():
        for member in (gone, here):
            assert await outbound.to_member(
                session, team, member, CARD, key=f"hello:{member.id}", now=clock()
            )

    async def uninstalled(delivery: Delivery, _n: int) -> None:
        if delivery.address == "gone":
            raise DeliveryFailed("user_not_found", unreachable=True)

    worker = OutboxWorker(database, {"sandbox": ScriptedSender(uninstalled)}, clock=clock)
    assert await worker.drain() == 2
    found = await rows(database)
    assert (found["gone"].status, found["gone"].last_error) == (
        outbox.UNREACHABLE,
        "user_not_found",
    )
    assert found["here"].status == outbox.SENT
    async with database.session() as session, session.begin():
        gone_now = await session.get(Member, gone.id)
        here_now = await session.get(Member, here.id)
        assert gone_now is not None and here_now is not None
        assert gone_now.unreachable and not here_now.unreachable
        assert not await outbound.to_member(
            session, team, gone_now, CARD, key=f"later:{gone.id}", now=clock()
        )
        assert await outbound.to_member(
            session, team, here_now, CARD, key=f"later:{here.id}", now=clock()
        )
    async with database.session() as session:
        keys = set((await session.scalars(select(OutboxMessage.idem_key))).all())
    assert f"later:{gone.id}" not in keys and f"later:{here.id}" in keys
    clock.advance(hours=1)
    assert await worker.drain() == 1  # nothing is retried for the unreachable one


async def test_messages_for_a_platform_without_sender_are_not_claimed(
    database: Database, clock: Clock
) -> None:
    await queue(database, ["on-slack"], not_before=clock(), platform="slack")
    await queue(database, ["on-sandbox"], not_before=clock())
    sender = ScriptedSender()
    worker = OutboxWorker(database, {"sandbox": sender}, clock=clock)
    assert await worker.drain() == 1
    assert sender.addresses() == ["on-sandbox"]
    slack = (await rows(database))["on-slack"]
    assert (slack.status, slack.attempts, slack.claimed_by) == (outbox.PENDING, 0, None)
    assert await claim(database, "w", clock(), platforms=[]) == []
    assert [m.address for m in await claim(database, "w", clock(), platforms=["slack"])] == [
        "on-slack"
    ]


async def test_an_unreadable_payload_fails_alone(database: Database, clock: Clock) -> None:
    await queue(database, ["broken"], not_before=clock(), payload={"no": "title"})
    await queue(database, ["fine"], not_before=clock())
    sender = ScriptedSender()
    worker = OutboxWorker(database, {"sandbox": sender}, clock=clock)
    assert await worker.drain() == 2
    found = await rows(database)
    assert found["broken"].status == outbox.FAILED
    assert "unreadable payload" in (found["broken"].last_error or "")
    assert found["fine"].status == outbox.SENT and sender.addresses() == ["fine"]


async def test_a_slow_batch_renews_its_lease(database: Database, clock: Clock) -> None:
    addresses = [f"m{i}" for i in range(5)]
    await queue(database, addresses, not_before=clock())
    stolen: list[str] = []

    async def slow(_delivery: Delivery, _n: int) -> None:
        clock.advance(seconds=50)  # five sends: 250 s, twice the lease
        stolen.extend(m.address for m in await claim(database, "thief", clock()))

    sender = ScriptedSender(slow)
    worker = OutboxWorker(database, {"sandbox": sender}, clock=clock, name="slow", lease=LEASE)
    assert await worker.drain() == 5
    assert stolen == [] and sender.addresses() == addresses
    assert {r.status for r in (await rows(database)).values()} == {outbox.SENT}


async def test_a_lost_lease_is_not_sent(database: Database, clock: Clock) -> None:
    addresses = [f"m{i}" for i in range(4)]
    await queue(database, addresses, not_before=clock())
    stolen: list[str] = []

    async def stalled(_delivery: Delivery, n: int) -> None:
        if n == 1:  # the first send hangs past the lease; another worker takes the batch over
            clock.advance(minutes=3)
            stolen.extend(m.address for m in await claim(database, "other", clock()))

    sender = ScriptedSender(stalled)
    worker = OutboxWorker(database, {"sandbox": sender}, clock=clock, name="stalled")
    assert await worker.drain() == 4
    assert stolen == addresses
    # Only m0, the one in flight when the lease ran out, can be sent twice; m1..m3 are not sent.
    assert sender.addresses() == ["m0"]
    found = await rows(database)
    assert {r.claimed_by for r in found.values()} == {"other"}
    assert {r.status for r in found.values()} == {outbox.SENDING}  # its late mark was refused


async def test_worker_names_fit_the_column(
    database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "pod-" + "x" * 59)
    name = worker_name()
    assert len(name) <= 64 and name.startswith("pod-x") and name != worker_name()
    await queue(database, ["a"], not_before=clock())
    # PostgreSQL would refuse a claimed_by longer than the column.
    assert [m.claimed_by for m in await claim(database, name, clock())] == [name]
    with pytest.raises(ValueError):
        OutboxWorker(database, {}, name="w" * 65)


async def test_a_busy_database_when_marking_is_tried_again(
    database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue(database, ["a"], not_before=clock())
    real_mark_sent = outbox.mark_sent
    failures = 0

    async def flaky(session: AsyncSession, *args: Any, **kwargs: Any) -> bool:
        nonlocal failures
        if failures < 2:
            failures += 1
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        return await real_mark_sent(session, *args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", flaky)
    sender = ScriptedSender()
    worker = OutboxWorker(database, {"sandbox": sender}, clock=clock)
    assert await worker.drain() == 1
    assert failures == 2 and sender.addresses() == ["a"]
    assert (await rows(database))["a"].status == outbox.SENT


async def test_a_worker_says_one_line_per_pass_while_the_database_is_away() -> None:
    """Nothing listens on port 1: every pass fails to connect. Each says so in one warning
    line, without a traceback, and the worker keeps going until it is stopped."""
    database = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    worker = OutboxWorker(database, {})
    passes = asyncio.Event()

    class Counting(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.seen.append(record)
            if len(self.seen) >= 2:
                passes.set()

    counting = Counting()
    logging.getLogger("bot.outbox_worker").addHandler(counting)
    running = asyncio.create_task(worker.run_forever(0.01))
    try:
        await asyncio.wait_for(passes.wait(), timeout=30)
    finally:
        running.cancel()
        logging.getLogger("bot.outbox_worker").removeHandler(counting)
        await database.dispose()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert len(counting.seen) >= 2
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in counting.seen)
