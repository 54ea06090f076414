"""The outbox's storage, on SQLite and PostgreSQL (storage.outbox): keys, claims, leases.
Its worker: tests/test_outbox_worker.py."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from storage import outbox
from storage.database import Database
from storage.models import OutboxMessage
from tests.conftest import Clock
from tests.outbox_helpers import CARD, LEASE, claim, envelope, mark_sent, queue, rows


# ----------------------------------------------------------------------- storage.outbox
async def test_enqueue_is_idempotent_by_key(database: Database, clock: Clock) -> None:
    async with database.session() as session, session.begin():
        first = await outbox.enqueue(
            session,
            idem_key="checkin:1:1",
            envelope=envelope("camille"),
            payload=CARD.model_dump(mode="json"),
            not_before=clock(),
        )
        again = await outbox.enqueue(
            session,
            idem_key="checkin:1:1",
            envelope=envelope("someone-else"),
            payload={"title": "autre"},
            not_before=clock() + dt.timedelta(days=1),
        )
    async with database.session() as session, session.begin():
        later = await outbox.enqueue(
            session,
            idem_key="checkin:1:1",
            envelope=envelope("camille"),
            payload=CARD.model_dump(mode="json"),
            not_before=clock(),
        )
        other = await outbox.enqueue(
            session,
            idem_key="checkin:1:2",
            envelope=envelope("camille"),
            payload=CARD.model_dump(mode="json"),
            not_before=clock(),
        )
    assert (first, again, later, other) == (True, False, False, True)
    found = await rows(database)
    assert list(found) == ["camille"]  # the second key goes to the same address
    async with database.session() as session:
        keys = (await session.scalars(select(OutboxMessage.idem_key))).all()
        kept = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idem_key == "checkin:1:1")
        )
    assert sorted(keys) == ["checkin:1:1", "checkin:1:2"]
    assert kept is not None
    assert kept.payload["title"] == "Bonjour" and kept.not_before == clock()


async def test_claim_takes_only_due_rows_and_leases_them(database: Database, clock: Clock) -> None:
    now = clock()
    await queue(database, ["late"], not_before=now - dt.timedelta(hours=1))
    await queue(database, ["due"], not_before=now)
    await queue(database, ["soon"], not_before=now + dt.timedelta(seconds=1))
    claimed = await claim(database, "w1", now)
    assert [m.address for m in claimed] == ["late", "due"]
    found = await rows(database)
    for address in ("late", "due"):
        row = found[address]
        assert (row.status, row.claimed_by, row.attempts) == (outbox.SENDING, "w1", 1)
        assert row.claimed_until == now + LEASE
    assert (found["soon"].status, found["soon"].claimed_by) == (outbox.PENDING, None)
    # Nothing else is due; the future one becomes due at its time, and limit holds.
    assert await claim(database, "w1", now) == []
    await queue(database, ["a", "b", "c"], not_before=now)
    picked = await claim(database, "w2", now + dt.timedelta(seconds=1), limit=2)
    assert [m.address for m in picked] == ["a", "b"]  # by not_before, then id
    assert [m.address for m in await claim(database, "w2", now + dt.timedelta(seconds=1))] == [
        "c",
        "soon",
    ]


async def test_a_second_claim_at_the_same_time_gets_other_rows(
    database: Database, clock: Clock
) -> None:
    now = clock()
    await queue(database, [f"m{i}" for i in range(10)], not_before=now)
    postgres = database.engine.dialect.name == "postgresql"
    async with database.session() as first, first.begin():
        mine = await outbox.claim(first, worker="w1", now=now, lease=LEASE, limit=4)
        # While w1's transaction is still open, w2 claims too.
        other = asyncio.create_task(claim(database, "w2", now))
        if postgres:
            # FOR UPDATE SKIP LOCKED: w2 neither waits for w1 nor takes its rows.
            theirs = await asyncio.wait_for(asyncio.shield(other), timeout=10)
        else:
            # SQLite: one writer at a time; w2 waits for w1's commit (busy_timeout).
            await asyncio.sleep(0.2)
            assert not other.done()
    if not postgres:
        theirs = await other
    assert len(mine) == 4 and len(theirs) == 6
    assert {m.id for m in mine}.isdisjoint(m.id for m in theirs)
    found = await rows(database)
    assert {a for a, r in found.items() if r.claimed_by == "w1"} == {m.address for m in mine}
    assert {a for a, r in found.items() if r.claimed_by == "w2"} == {m.address for m in theirs}
    assert {r.attempts for r in found.values()} == {1}


async def test_expired_lease_is_claimable_again_and_only_the_holder_can_mark(
    database: Database, clock: Clock
) -> None:
    start = clock()
    await queue(database, ["x"], not_before=start)
    (message,) = await claim(database, "w1", start)
    assert await claim(database, "w2", start + dt.timedelta(minutes=1)) == []
    assert await claim(database, "w2", start + LEASE) == []  # expires strictly after
    later = start + LEASE + dt.timedelta(seconds=1)
    (again,) = await claim(database, "w2", later)
    assert again.id == message.id and again.attempts == 2 and again.claimed_by == "w2"
    # w1 lost its claim: its marks change nothing.
    assert not await mark_sent(database, message.id, "w1", later)
    async with database.session() as session, session.begin():
        assert not await outbox.mark_retry(session, message.id, "w1", "x", later)
        assert not await outbox.mark_failed(session, message.id, "w1", "x")
    row = (await rows(database))["x"]
    assert (row.status, row.claimed_by, row.sent_at) == (outbox.SENDING, "w2", None)
    assert await mark_sent(database, message.id, "w2", later)
    row = (await rows(database))["x"]
    assert (row.status, row.sent_at, row.claimed_until) == (outbox.SENT, later, None)
    assert not await mark_sent(database, message.id, "w2", later)  # only once
    assert await claim(database, "w3", later + dt.timedelta(days=30)) == []
