"""Reflexive spaces, calendar jobs fired twice and outbox keys: each acts once, on each database.

Concurrent cases use `asyncio.gather` on two engine events: each runs in its own session and
connection, so on PostgreSQL they really interleave, and on SQLite they queue on the write lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from sqlalchemy import text

from dialogs.engine import Engine
from storage import outbox
from storage.database import Database
from tests.conftest import Clock
from tests.helpers import reflexive_schedule, seeded, submit
from tests.idempotency_helpers import count, sealed, state, tension, title, twice_then_at_once
from tests.sql_reads import fetch

SCHEDULE = reflexive_schedule("weekly")


async def test_the_same_schedule_twice_is_one_schedule(engine: Engine, database: Database) -> None:
    await seeded(engine)
    context = {"team": "demo"}
    first, again = await twice_then_at_once(engine, "emilie", "reflexive.save", context, SCHEDULE)
    assert first.startswith(title("emilie", "reflexive.saved_title")), first
    assert again.startswith(title("emilie", "reflexive.duplicate_title")), again
    assert await count(database, "reflexive_schedules") == 1


async def test_the_same_pre_reflection_twice_is_one_note(
    engine: Engine, database: Database
) -> None:
    await seeded(engine)
    await submit(engine, "emilie", "reflexive.save", {"team": "demo"}, SCHEDULE)
    assert (await engine.jobs.run("reflexive-invite", "demo")).count == 9
    [occurrence] = await fetch(database, "SELECT id FROM reflexive_occurrences")
    context = {"team": "demo", "occurrence": str(occurrence["id"])}
    values = {"text": "On n'ose pas parler du financement."}
    first, again = await twice_then_at_once(engine, "marc-andre", "reflexive.pre", context, values)
    assert first.startswith(title("marc-andre", "reflexive.pre_thanks_title"))
    assert again.startswith(title("marc-andre", "reflexive.pre_duplicate_title"))
    assert await sealed(database, "pre_reflection") == 1


async def twice(engine: Engine, database: Database, name: str) -> str:
    """Fire a scheduled job twice at the same time; the second must change nothing."""
    first = await engine.jobs.run(name, "demo", forced=False)
    after_first = await state(database)
    second = await engine.jobs.run(name, "demo", forced=False)
    assert await state(database) == after_first, name
    assert second.count == 0, (name, first, second)
    return first.message


async def test_every_job_fired_twice_for_one_occurrence_acts_once(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    await submit(engine, "emilie", "reflexive.save", {"team": "demo"}, SCHEDULE)
    await submit(engine, "sophie", "tension.confirm", tension())
    success = {"text": "Belle rencontre.", "consent": "anonymous"}
    await submit(engine, "luc", "success.submit", {"team": "demo", "prompt": ""}, success)
    assert await twice(engine, database, "checkin") == "jobs.checkin"
    assert await count(database, "rounds") == 1
    assert await count(database, "outbox", "idem_key LIKE 'checkin:%'") == 9
    assert await twice(engine, database, "success") == "jobs.sent"
    assert await twice(engine, database, "tension-prompt") == "jobs.sent"
    assert await twice(engine, database, "batch") == "jobs.batch"
    assert await count(database, "outbox", "kind = 'channel' AND idem_key LIKE 'tensions:%'") == 1
    clock.advance(hours=48)
    assert await twice(engine, database, "reminders") == "jobs.reminders"
    clock.advance(hours=24)
    assert await twice(engine, database, "close") == "jobs.closed"
    assert await count(database, "outbox", "idem_key LIKE 'checkin:%'") == 0
    # 2026-12-03 13:30 Toronto, invitations 24 h before.
    clock.now = dt.datetime(2026, 12, 2, 19, 0, tzinfo=dt.UTC)
    assert await twice(engine, database, "reflexive-invite") == "jobs.sent"
    assert await count(database, "outbox", "idem_key LIKE 'reflexive-invite:%'") == 9
    clock.now = dt.datetime(2026, 12, 3, 18, 31, tzinfo=dt.UTC)
    assert await twice(engine, database, "reflexive") == "jobs.reflexive_posted"
    assert await count(database, "outbox", "idem_key LIKE 'reflexive:%'") == 1


async def test_the_checkin_job_fired_twice_at_once_opens_one_round(
    engine: Engine, database: Database
) -> None:
    await seeded(engine)
    results = await asyncio.gather(
        engine.jobs.run("checkin", "demo", forced=False),
        engine.jobs.run("checkin", "demo", forced=False),
    )
    assert sorted(r.message for r in results) == ["jobs.checkin", "jobs.checkin_exists"]
    assert await count(database, "rounds") == 1
    assert await count(database, "participation") == 9
    assert await count(database, "outbox", "idem_key LIKE 'checkin:%'") == 9


async def test_the_review_job_fired_twice_asks_each_coordinator_once(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    async with database.session() as session, session.begin():
        await session.execute(text("UPDATE teams SET review_tensions = :yes"), {"yes": True})
    await submit(engine, "sophie", "tension.confirm", tension())
    await submit(engine, "aisha", "tension.confirm", tension("Second topic."))
    assert await count(database, "outbox", "idem_key LIKE 'review:%'") == 0  # not at writing
    clock.advance(hours=20)
    assert await twice(engine, database, "review") == "jobs.review"
    coordinators = await count(database, "members", "is_coordinator = :y", y=True)
    assert await count(database, "outbox", "idem_key LIKE 'review:%'") == 2 * coordinators
    # At once, from two processes, the next day: still nothing new.
    clock.advance(days=1)
    results = await asyncio.gather(*(engine.jobs.run("review", "demo") for _ in "ab"))
    assert [r.count for r in results] == [0, 0]
    assert await count(database, "outbox", "idem_key LIKE 'review:%'") == 2 * coordinators


async def test_outbox_enqueue_with_the_same_key_queues_once(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    envelope = outbox.Envelope("sandbox", "", "direct", "camille")

    async def enqueue(payload: dict[str, str]) -> bool:
        async with database.session() as session, session.begin():
            return await outbox.enqueue(
                session,
                idem_key="test:once",
                envelope=envelope,
                payload=payload,
                not_before=clock(),
            )

    assert await enqueue({"title": "first"})
    assert not await enqueue({"title": "second"})
    assert sorted(await asyncio.gather(enqueue({"title": "a"}), enqueue({"title": "b"}))) == [
        False,
        False,
    ]
    rows = await fetch(database, "SELECT payload FROM outbox WHERE idem_key = 'test:once'")
    assert len(rows) == 1
    payload = rows[0]["payload"]
    assert (json.loads(payload) if isinstance(payload, str) else payload) == {"title": "first"}
    assert await asyncio.gather(
        *(enqueue_fresh(database, envelope, clock(), key) for key in ("test:a", "test:b", "test:a"))
    ) in ([True, True, False], [False, True, True])
    assert await count(database, "outbox", "idem_key LIKE 'test:%'") == 3


async def enqueue_fresh(
    database: Database, envelope: outbox.Envelope, when: dt.datetime, key: str
) -> bool:
    async with database.session() as session, session.begin():
        return await outbox.enqueue(
            session, idem_key=key, envelope=envelope, payload={"k": key}, not_before=when
        )
