"""What lies below the tables after a close: no old row version, no WAL page, no dead tuple keeps
what the close erased (the privacy maintenance, and what postpones it).

On PostgreSQL these tests run on a cluster of their own (tests/pg_cluster.py), not the shared
one on 5432: VACUUM FULL keeps every version a transaction older than the erasure may still
need, in *any* database of the cluster, so there the other pytest worker's transactions (its
migrations, its tests) would decide when the maintenance may run. Here the only transactions
are the test's own, the adversary's among them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from bot.outbox_worker import OutboxWorker
from dialogs.engine import Engine
from storage import maintenance
from storage.database import Database
from tests import own_cluster as isolated
from tests.conftest import Clock, _plain
from tests.helpers import seeded
from tests.pg_cluster import DATABASE
from tests.sql_reads import fetch, is_pg
from tests.unlinkability_story import BALLOT_ORDER, live_story, tell

RAW_RELATIONS = ("sealed", "sealed_pkey", "open_answers", "open_answers_pkey")

# Its PostgreSQL databases in a cluster of its own (tests/own_cluster.py says why).
own_cluster = isolated.own_cluster
database_url = isolated.database_url


async def _what_lies_below(database: Database) -> dict[str, Any]:
    """What reading below SQL finds: dead row versions and raw pages (PostgreSQL), or the
    bytes of the database files, WAL included (SQLite)."""
    if is_pg(database):
        return {
            "dead": await _dead_versions(database),
            "pages": {r: b"".join(await _pages(database, r)) for r in RAW_RELATIONS},
        }
    path = Path(database.url.split("///", 1)[1])
    return {
        "files": {
            p.name: p.read_bytes()
            for p in path.parent.iterdir()
            if p.name.startswith(path.name) and not p.name.endswith("-shm")
        }
    }


async def _enable_pageinspect(database: Database) -> None:
    if is_pg(database):
        async with database.engine.connect() as connection:
            await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            await connection.commit()


def _wal_size(files: dict[str, bytes]) -> int:
    return sum(len(data) for name, data in files.items() if name.endswith("-wal"))


def _spy_on_maintenance(
    monkeypatch: pytest.MonkeyPatch, database: Database
) -> list[dict[str, Any]]:
    """Record what lies below SQL each time a job calls the maintenance, just before it runs."""
    calls: list[dict[str, Any]] = []
    real = maintenance.vacuum_private_tables

    async def observed(db: Database, fresh: bool = True) -> None:
        assert db is database
        calls.append(await _what_lies_below(db))
        await real(db, fresh)

    monkeypatch.setattr("dialogs.jobs.vacuum_private_tables", observed)
    return calls


async def test_the_close_leaves_no_old_row_version_or_wal_page(
    engine: Engine,
    worker: OutboxWorker,
    clock: Clock,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The close job runs the maintenance itself, after its commit: by the time it returns,
    what the close erased or rewrote is gone from below SQL too."""
    await _enable_pageinspect(database)
    calls = _spy_on_maintenance(monkeypatch, database)
    story = await live_story(engine, worker, clock, database)
    assert len(calls) == 1  # the close, and no other job of the story
    [before] = calls
    now = await _what_lies_below(database)
    # The close opened the sealed ballots and deleted them (with the key, an old version of
    # one would still open); its open answers and cells are new rows.
    old_ids = {r["id"] for r in story.before_close["sealed"] if r["kind"] == "ballot"}
    assert len(old_ids) == len(BALLOT_ORDER)
    texts = len(await fetch(database, "SELECT id FROM open_answers"))
    assert texts == len(BALLOT_ORDER)
    if is_pg(database):
        # Before VACUUM the heap still held what the close erased: per-member statuses with
        # the transaction that wrote each, and the sealed ballots, readable below SQL.
        assert any("answered" in row for row in before["dead"]["participation"]), before["dead"]
        assert any(i.encode() in before["pages"]["sealed"] for i in old_ids)
        assert not any(now["dead"].values()), now["dead"]
        # Not even in free space: a plain VACUUM would leave the bytes of the versions it
        # unhooks in the page (headers and all), where get_raw_page still finds them.
        for relation in ("sealed", "sealed_pkey"):
            assert not any(i.encode() in now["pages"][relation] for i in old_ids), relation
    else:
        assert (await fetch(database, "PRAGMA secure_delete"))[0]["secure_delete"] == 1

        def leftovers(files: dict[str, bytes]) -> int:
            return sum(i.encode() in data for data in files.values() for i in old_ids)

        # Before the checkpoint the WAL still held the pages as they were before the close.
        assert leftovers(before["files"]) > 0
        assert leftovers(now["files"]) == 0
        assert _wal_size(now["files"]) == 0
    # What remains is all there, and still readable.
    assert len(await fetch(database, "SELECT id FROM open_answers")) == texts
    # Called directly (on a timer, by the CLI), it has nothing left to do and breaks nothing.
    await maintenance.vacuum_private_tables(database)
    assert len(await fetch(database, "SELECT id FROM open_answers")) == texts


async def three_answer_a_round(engine: Engine, clock: Clock, database: Database) -> None:
    """The demo team's round opened by its calendar, answered by three members an hour apart."""
    await seeded(engine)
    await engine.jobs.run("checkin", "demo", forced=False)
    [round_row] = await fetch(database, "SELECT id, items FROM rounds")
    items = round_row["items"]
    items = json.loads(items) if isinstance(items, str) else list(items)
    values = {f"item:{i}": "4" for i in items}
    for who in ("sophie", "camille", "luc"):
        clock.advance(hours=1)
        context = {"team": "demo", "round": str(round_row["id"])}
        await tell(engine, who, "checkin.submit", context, values)


async def test_a_close_by_the_minute_tick_runs_the_maintenance_too(
    engine: Engine, clock: Clock, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _enable_pageinspect(database)
    calls = _spy_on_maintenance(monkeypatch, database)
    await three_answer_a_round(engine, clock, database)
    clock.advance(hours=20)
    assert not await engine.jobs.tick() and not calls  # nothing due, nothing to clean
    clock.advance(hours=60)
    results = await engine.jobs.tick()
    assert "jobs.closed" in {r.message for r in results}
    [before] = calls
    now = await _what_lies_below(database)
    if is_pg(database):
        assert before["dead"]["participation"] and not any(now["dead"].values()), now["dead"]
    else:
        assert _wal_size(before["files"]) > 0 and _wal_size(now["files"]) == 0
    assert not await engine.jobs.tick() and len(calls) == 1


async def _blocks(database: Database, relation: str) -> int:
    [row] = await fetch(
        database,
        "SELECT pg_relation_size(CAST(:t AS text)::regclass) "
        "/ current_setting('block_size')::int AS n",
        t=relation,
    )
    return int(row["n"])


async def _dead_versions(database: Database) -> dict[str, list[str]]:
    """Per private table, the row versions no query sees but pageinspect still reads."""
    found: dict[str, list[str]] = {}
    for name in ("sealed", "open_answers", "participation"):
        live = {r["ctid"] for r in await fetch(database, f"SELECT ctid::text AS ctid FROM {name}")}
        found[name] = []
        for block in range(await _blocks(database, name)):
            rows = await fetch(
                database,
                "SELECT lp, t_data FROM heap_page_items(get_raw_page(:t, :b)) "
                "WHERE lp_flags = 1 AND t_data IS NOT NULL",
                t=name,
                b=block,
            )
            found[name] += [
                bytes(r["t_data"]).decode("latin-1")
                for r in rows
                if f"({block},{r['lp']})" not in live
            ]
    return found


async def _pages(database: Database, relation: str) -> list[bytes]:
    """Every page of the relation as stored, free space included."""
    pages = []
    for block in range(await _blocks(database, relation)):
        [row] = await fetch(database, "SELECT get_raw_page(:t, :b) AS page", t=relation, b=block)
        pages.append(bytes(row["page"]))
    return pages


async def test_a_transaction_older_than_the_close_postpones_the_maintenance(
    engine: Engine, clock: Clock, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adversary reads the ledger's pages after a close while another database of the
    cluster (another application) holds a write transaction begun before it: VACUUM FULL
    cannot drop the old versions then. The maintenance waits for it, a bounded time, then
    owes the run instead of calling it done, and stays owed at each tick while it runs; the
    first tick after it ended leaves no old version. (SQLite: nothing else shares its file;
    the run is not owed.) The cluster is this module's own: no transaction but these."""
    await _enable_pageinspect(database)
    monkeypatch.setattr(maintenance, "OLDER_TRANSACTIONS_WAIT", 0.3)
    await three_answer_a_round(engine, clock, database)
    elsewhere_url = database.url.rsplit("/", 1)[0] + f"/{DATABASE}"
    other = await asyncpg.connect(_plain(elsewhere_url)) if is_pg(database) else None
    try:
        if other is not None:
            elsewhere = other.transaction()
            await elsewhere.start()
            await other.fetchval("SELECT pg_current_xact_id()")  # it writes: it has an id
        clock.advance(hours=80)
        assert "jobs.closed" in {r.message for r in await engine.jobs.tick()}
        assert engine.jobs.vacuum_owed is (other is not None)
        if other is not None:
            kept = await _what_lies_below(database)
            assert kept["dead"]["participation"], kept["dead"]  # what the close erased
            # A later tick, the transaction still running: still owed, nothing dropped.
            clock.advance(minutes=1)
            await engine.jobs.tick()
            assert engine.jobs.vacuum_owed
            assert (await _what_lies_below(database))["dead"] == kept["dead"]
            await elsewhere.commit()
    finally:
        if other is not None:
            await other.close()
    clock.advance(minutes=1)
    await engine.jobs.tick()
    assert not engine.jobs.vacuum_owed
    if is_pg(database):
        now = await _what_lies_below(database)
        assert not any(now["dead"].values()), now["dead"]
