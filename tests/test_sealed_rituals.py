"""The adversary against tensions, successes and pre-reflections, which wait sealed.

Each test reads the database as someone holding a copy would: every row of every table, the
SQLite files (the `-wal` file included), PostgreSQL's row positions (`ctid`), row versions
(`xmin`) and its write-ahead log (the segments, read with `pg_read_binary_file`). Each search
is shown able to find what is there: a named success, stored in the clear by its author's
choice, is found by the same search that finds no sealed text.

The weekly limit and a lost key: tests/test_sealed_rituals_limits.py.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from bot.outbox_worker import OutboxWorker
from dialogs.engine import Engine
from dialogs.i18n import Tr
from dialogs.summaries import store as summary_store
from storage.database import Database
from tests.conftest import Clock
from tests.helpers import PEOPLE, say, seeded, text_of
from tests.sealed_rituals_helpers import (
    WRITERS,
    every_byte,
    execute,
    holds,
    pre_reflect,
    schedule_meeting,
    share,
    write_tension,
)
from tests.sql_reads import fetch, is_pg


async def test_before_its_batch_no_text_is_anywhere_and_after_only_what_was_published(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    await seeded(engine)
    await schedule_meeting(engine)
    marker = uuid.uuid4().hex[:8]
    tension = f"Les urgences s'empilent {marker}."
    anonymous = f"Une famille enfin accompagnee {marker}."
    counted = f"Le comite a enfin tranche {marker}."
    note = f"On n'ose pas parler du financement {marker}."
    named = f"Belle rencontre avec le CLSC {marker}."
    sent = Tr(PEOPLE["sophie"].language)("tension.sent_title")
    assert (await write_tension(engine, "sophie", tension)).startswith(sent)
    await share(engine, "aisha", anonymous, "anonymous")
    await share(engine, "nadia", counted, "summary_only")
    await share(engine, "luc", named, "named")  # in the clear, by choice: the control
    await pre_reflect(engine, database, "daniel", note)
    await worker.drain()
    seen = await every_byte(database, started)
    # The search finds what is there, in each source (rows, and the log or files below)...
    assert all(named.encode() in data for data in seen.values()), list(seen)
    for secret in (tension, anonymous, counted, note):  # ...and finds no sealed text
        assert not holds(seen, secret), secret
    # In the clear, only routing: what kind, for which batch.
    [meeting] = await fetch(database, "SELECT id FROM reflexive_occurrences")
    waiting = await fetch(database, "SELECT kind, batch FROM sealed ORDER BY kind, batch")
    assert [(r["kind"], r["batch"]) for r in waiting] == [
        ("pre_reflection", f"occurrence:{meeting['id']}"),
        ("success", "week"),
        ("success", "week"),
        ("tension", "week"),
    ]
    assert (await engine.jobs.run("batch", "demo")).count == 2  # the tension, the success
    clock.now = dt.datetime(2026, 12, 3, 18, 31, tzinfo=dt.UTC)
    assert (await engine.jobs.run("reflexive", "demo", forced=False)).count == 1
    await worker.drain()
    assert not await fetch(database, "SELECT id FROM sealed")
    seen = await every_byte(database, started)
    assert holds(seen, tension) and holds(seen, anonymous) and holds(seen, note)
    # A summary-only success was never written in any form: counted, not kept.
    assert not holds(seen, counted)
    tallies = await fetch(database, "SELECT count FROM success_tallies")
    assert [r["count"] for r in tallies] == [1]
    # A pre-reflection, once posted, is kept nowhere but in the sent message (the outbox
    # keeps sent messages two weeks: docs/privacy.md).
    for name in ("successes", "tensions", "open_answers", "sealed"):
        rows = await fetch(database, f"SELECT * FROM {name}")
        assert not any(note in str(row) for row in rows), name
    posted = await fetch(database, "SELECT payload FROM outbox WHERE idem_key LIKE 'reflexive:%'")
    assert posted and note in str(posted[0]["payload"])


async def test_the_summary_counts_successes_and_tallies(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    for n, (who, consent) in enumerate(
        (
            ("aisha", "anonymous"),
            ("nadia", "summary_only"),
            ("luc", "named"),
            ("sophie", "summary_only"),
        )
    ):
        await share(engine, who, f"Réussite {n}", consent)
    [team] = await fetch(database, "SELECT id FROM teams WHERE slug = 'demo'")
    since = clock().date() - dt.timedelta(days=30)

    async def counted() -> int:
        async with database.session() as session:
            read = await summary_store.summary_read(session, team["id"], 3, since)
            return read.successes

    assert await counted() == 1  # the named one; the others wait for the batch
    await engine.jobs.run("batch", "demo")
    assert await counted() == 4
    clock.advance(days=1)
    await share(engine, "camille", "Encore une", "summary_only")
    await engine.jobs.run("batch", "demo")
    assert await counted() == 5
    assert {r["count"] for r in await fetch(database, "SELECT count FROM success_tallies")} == {
        2,
        1,
    }
    async with database.session() as session:
        later = await summary_store.summary_read(session, team["id"], 3, clock().date())
    assert later.successes == 1  # only what was counted since that day


async def test_published_order_and_ids_do_not_follow_the_order_of_writing(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    """Twelve tensions and twelve anonymous successes written in a known order: once the
    batch has written them, neither their ids, nor their physical order (ctid; SQLite's table
    scan), nor their row versions (xmin) replay that order. A single shuffled insert makes a
    replay a 1 in 12! chance."""
    await seeded(engine)
    await execute(database, "UPDATE teams SET tension_weekly_limit = 12")
    tensions = [f"Tension numéro {n:02d}" for n in range(12)]
    successes = [f"Réussite numéro {n:02d}" for n in range(12)]
    for n in range(12):
        clock.advance(minutes=7)
        who = WRITERS[n % len(WRITERS)]
        assert "Tension" in await write_tension(engine, who, tensions[n])
        await share(engine, who, successes[n], "anonymous")
    pg = is_pg(database)
    version = ", xmin::text AS xmin" if pg else ""
    sealed_before = await fetch(database, f"SELECT id{version} FROM sealed")
    assert len(sealed_before) == 24
    assert (await engine.jobs.run("batch", "demo")).count == 24
    for table, written in (("tensions", tensions), ("successes", successes)):
        order = " ORDER BY ctid" if pg else ""  # SQLite: the order of a table scan
        rows = await fetch(database, f"SELECT id, text{version} FROM {table}{order}")
        assert sorted(r["text"] for r in rows) == written
        assert [r["text"] for r in rows] != written, table
        assert [r["text"] for r in sorted(rows, key=lambda r: r["id"])] != written, table
        assert not {r["id"] for r in rows} & {r["id"] for r in sealed_before}  # fresh ids
        for row in rows:
            assert uuid.UUID(hex=row["id"]).version == 4
        if pg:
            # One transaction wrote them all, none of the submissions' transactions.
            assert len({r["xmin"] for r in rows}) == 1, table
            assert not {r["xmin"] for r in rows} & {r["xmin"] for r in sealed_before}
    days = await fetch(database, "SELECT DISTINCT created_on FROM tensions")
    assert len(days) == 1  # the batch's day, not the twelve moments of writing


async def test_reviewed_tensions_are_opened_at_the_review_in_random_order(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    await execute(
        database, "UPDATE teams SET review_tensions = :y, tension_weekly_limit = 12", y=True
    )
    written = [f"À relire numéro {n:02d}" for n in range(12)]
    for n, words in enumerate(written):
        clock.advance(minutes=5)
        assert "Tension" in await write_tension(engine, WRITERS[n % len(WRITERS)], words)
    assert not await fetch(database, "SELECT id FROM tensions")
    assert len(await fetch(database, "SELECT id FROM sealed WHERE batch = 'review'")) == 12
    # The weekly batch does not publish what awaits review.
    assert (await engine.jobs.run("batch", "demo")).count == 0
    assert (await engine.jobs.run("review", "demo")).count == 12  # one coordinator, Émilie
    order = " ORDER BY ctid" if is_pg(database) else ""
    rows = await fetch(database, f"SELECT text, status FROM tensions{order}")
    assert {r["status"] for r in rows} == {"pending_review"}
    assert sorted(r["text"] for r in rows) == written != [r["text"] for r in rows]
    assert not await fetch(database, "SELECT id FROM sealed")


async def test_the_follow_up_code_works_once_the_tension_is_opened(
    engine: Engine, worker: OutboxWorker, clock: Clock
) -> None:
    await seeded(engine)
    sent = await write_tension(engine, "sophie", "Les décisions arrivent sans nous.")
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", sent)
    assert code is not None
    tr = Tr(PEOPLE["sophie"].language)
    before = text_of(await say(engine, "sophie", f"tension {code.group()}"))
    assert before.startswith(tr("followup.unknown_title"))
    await engine.jobs.run("batch", "demo")
    after = text_of(await say(engine, "sophie", f"tension {code.group().lower()}"))
    assert after.startswith(tr("followup.title"))
    assert "Les décisions arrivent sans nous." in after
    assert tr("tension_status.published") in after
