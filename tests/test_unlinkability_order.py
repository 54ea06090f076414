"""The adversary reads columns, ids, physical order and clocks: none of them orders or dates a
submission beyond a day, nor names a member (the story: tests/unlinkability_story.py)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from bot.outbox_worker import OutboxWorker
from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from storage.database import Database
from tests.conftest import START, Clock
from tests.helpers import seeded
from tests.sql_reads import fetch, is_pg
from tests.unlinkability_story import (
    BALLOT_ORDER,
    LEDGERS,
    PRIVATE,
    SEALED,
    TIMELINE,
    TORONTO,
    Story,
    as_date,
    live_story,
)


async def test_private_tables_have_no_member_column_and_no_clock(database: Database) -> None:
    def schema(sync: Connection) -> dict[str, Any]:
        inspector = sa.inspect(sync)
        return {
            name: (inspector.get_columns(name), inspector.get_foreign_keys(name))
            for name in inspector.get_table_names()
        }

    async with database.engine.connect() as connection:
        tables = await connection.run_sync(schema)
    member_tables = {"members"}
    for name in PRIVATE:
        columns, foreign_keys = tables[name]
        assert not [fk for fk in foreign_keys if fk["referred_table"] in member_tables], name
        for column in columns:
            lowered = column["name"].lower()
            if (name, lowered) != ("successes", "author_name"):  # kept only when named, by choice
                assert not any(word in lowered for word in ("member", "user", "author", "who"))
            assert not isinstance(column["type"], sa.DateTime | sa.Time | sa.Interval), (
                name,
                column,
            )
            assert column.get("default") is None, (name, column)  # no now(), no nextval()
        dates = [c["name"] for c in columns if isinstance(c["type"], sa.Date)]
        assert dates, name  # the one time they hold is a day
    for name in LEDGERS:
        columns, _ = tables[name]
        assert not [c for c in columns if isinstance(c["type"], sa.Date | sa.DateTime | sa.Time)]
    # The check is able to fail: other tables do keep instants.
    assert any(isinstance(c["type"], sa.DateTime) for c in tables["outbox"][0])
    # The sealed inbox keeps no time at all, no member and nothing that points at the ledger:
    # its clear columns are routing only.
    for name in SEALED:
        columns, foreign_keys = tables[name]
        assert {c["name"] for c in columns} == {"id", "team_id", "kind", "batch", "blob"}
        assert [fk["referred_table"] for fk in foreign_keys] == ["teams"]
    # No table of ballots exists at all: a ballot is sealed, then only aggregated.
    assert "answers" not in tables


async def test_private_tables_have_no_hidden_order(database: Database) -> None:
    """No rowid (SQLite), no sequence or identity (PostgreSQL), no trigger on private tables."""
    async with database.engine.connect() as connection:
        if is_pg(database):
            serial = await connection.execute(
                text(
                    "SELECT t.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
                    "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S'"
                )
            )
            owners = set(serial.scalars().all())
            assert "rounds" in owners  # the query finds the sequences that do exist
            assert not owners & set(PRIVATE + SEALED)
            identity = await connection.execute(
                text(
                    "SELECT table_name FROM information_schema.columns WHERE is_identity = 'YES' "
                    "OR column_default LIKE '%nextval%' OR column_default LIKE '%now()%'"
                )
            )
            assert not set(identity.scalars().all()) & set(PRIVATE + SEALED)
            triggers = await connection.execute(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal"
                )
            )
            assert not triggers.scalars().all()
        else:
            assert (await connection.execute(text("SELECT rowid FROM rounds"))).all() == []
            for name in PRIVATE + SEALED:
                with pytest.raises(DBAPIError, match="rowid"):
                    await connection.execute(text(f"SELECT rowid FROM {name}"))
                await connection.rollback()
                sql = await connection.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
                )
                assert "WITHOUT ROWID" in sql.upper()
            triggers = await connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            )
            assert not triggers.all()
            sequences = await connection.execute(
                text("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
            )
            assert not sequences.all()  # no AUTOINCREMENT anywhere


async def test_ids_are_random_and_renewed_at_close(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    story = await live_story(engine, worker, clock, database)
    closed = story.closed
    for name in PRIVATE:
        for row in closed[name]:
            assert re.fullmatch(r"[0-9a-f]{32}", row["id"]), (name, row)
            parsed = uuid.UUID(hex=row["id"])
            assert parsed.version == 4 and parsed.variant == uuid.RFC_4122, (name, row["id"])
    # While open, each ballot was one sealed row; listed in submission order, their ids are
    # uuid4-shaped and not sorted (a sequence or a time-based id would be).
    in_submission_order = sealed_ids_in_submission_order(story, "ballot")
    assert len(in_submission_order) == len(BALLOT_ORDER)
    for row_id in in_submission_order:
        parsed = uuid.UUID(hex=row_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert in_submission_order not in (
        sorted(in_submission_order),
        sorted(in_submission_order)[::-1],
    )
    # After the close no ballot is left, sealed or not, and no id seen before survives.
    assert not [r for r in closed["sealed"] if r["kind"] == "ballot"]
    everything_after = repr(closed)
    assert not [i for i in in_submission_order if i in everything_after]


def sealed_ids_in_submission_order(story: Story, kind: str) -> list[str]:
    """The sealed row each act of `kind` added (the test's knowledge of who acted when)."""
    seen: set[str] = set()
    order: list[str] = []
    for act, _, snapshot in story.after:
        ids = {r["id"] for r in snapshot["sealed"] if r["kind"] == kind}
        new = ids - seen
        if act == kind:
            assert len(new) == 1, (act, new)
            order += list(new)
        seen |= ids
    return order


async def test_physical_order_and_row_versions_replay_nothing(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    story = await live_story(engine, worker, clock, database)
    pg = is_pg(database)
    members_in_first_order: list[int] | None = None
    for kind, who, seen in story.after:
        ledger = seen["ledger"]
        assert len(ledger) == 9
        order = [row["member_id"] for row in ledger]
        if members_in_first_order is None:
            members_in_first_order = order
        # The ledger's physical order is the same after every write, whoever wrote.
        assert order == members_in_first_order, (kind, who, order)
        if pg:
            # Every ledger row of the round carries the same row version after each write.
            assert len({row["xmin"] for row in ledger}) == 1, (kind, who, ledger)
    assert members_in_first_order is not None
    assert sorted(members_in_first_order) == members_in_first_order
    # The open answers, written at the close: "Idée numéro N" is the N-th ballot submitted.
    order_by = " ORDER BY ctid" if pg else ""  # else the table scan's order
    physical = await fetch(database, f"SELECT text FROM open_answers{order_by}")
    sequence = [int(r["text"].rsplit(" ", 1)[1]) for r in physical]
    assert sorted(sequence) == list(range(1, len(BALLOT_ORDER) + 1))
    assert sequence != sorted(sequence)  # shuffled (chance of this order by luck: 1 in 5,040)
    if pg:
        closed = story.closed
        xmins = {r["xmin"] for r in closed["open_answers"]} | {
            r["xmin"] for r in closed["unit_cells"]
        }
        # One transaction (the close) wrote every open answer and every cell...
        assert len(xmins) == 1
        # ...and none of the submissions' transactions survives in them.
        assert not xmins & {r["xmin"] for r in story.before_close["sealed"]}


async def test_time_is_a_day_at_most_and_no_outbox_row_dates_a_submission(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    story = await live_story(engine, worker, clock, database)
    closed = story.closed
    submitted_on = {
        (START + dt.timedelta(hours=h)).astimezone(TORONTO).date()
        for h, kind, _ in TIMELINE
        if kind == "ballot"
    }
    assert len(submitted_on) >= 3  # ballots came in over three local days...
    assert {as_date(r["day"]) for r in closed["open_answers"]} == {story.opened_on}  # one day
    # Tensions, the anonymous and the summary-only success, the pre-reflections: still
    # sealed, waiting for their batch, with nothing in the clear but their kind and batch.
    assert not closed["tensions"] and not closed["successes"]
    assert "pre_reflections" not in closed  # they live sealed until the meeting, then go
    waiting = Counter(r["kind"] for r in closed["sealed"] if r["kind"] != "ballot")
    assert waiting == {"tension": 3, "success": 2, "pre_reflection": 2}
    assert {r["batch"] for r in closed["sealed"] if r["kind"] in ("tension", "success")} == {"week"}
    # Acting privately queues nothing: no outbox row is dated at someone's submission.
    acts = Counter(kind for kind, _, _, _ in story.outbox_changes)
    assert acts == {"ballot": 7, "skip": 1, "tension": 3, "success": 2, "pre": 2}
    for kind, who, before, after in story.outbox_changes:
        assert after == before, (kind, who)


async def test_ledger_speaks_while_open_and_is_erased_at_close(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    story = await live_story(engine, worker, clock, database)
    ids = story.member_ids
    statuses = {row["member_id"]: row["status"] for row in story.before_close["ledger"]}
    assert statuses == {
        **{ids[who]: "answered" for who in BALLOT_ORDER},
        ids["jonathan"]: "skipped",
        ids["emilie"]: "asked",
    }
    closed = story.closed
    assert not [r for r in closed["participation"] if r["round_id"] == story.round_id]
    [round_row] = closed["rounds"]
    assert (round_row["asked_count"], round_row["answered_count"], round_row["skipped_count"]) == (
        9,
        7,
        1,
    )
    keys_before = {r["idem_key"] for r in story.before_close["outbox"]}
    assert any(k.startswith(f"remind:{story.round_id}:") for k in keys_before)  # there were some
    assert any(k.startswith(f"checkin:{story.round_id}:") for k in keys_before)
    for row in closed["outbox"]:
        assert not row["idem_key"].startswith(
            (f"checkin:{story.round_id}:", f"remind:{story.round_id}:")
        )


async def test_ledger_order_survives_any_query_plan(engine: Engine, database: Database) -> None:
    """Whatever plan the database picks for the ledger's UPDATE (here: forced sequential scans,
    what PostgreSQL uses once the table is analysed and small), the rows' physical order never
    moves the latest writer behind the others."""
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    ids = {
        r["user_ref"]: r["id"] for r in await fetch(database, "SELECT id, user_ref FROM members")
    }
    plans = ["SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off"]

    async def physical(table: str) -> list[int]:
        order = " ORDER BY ctid" if is_pg(database) else ""
        return [
            r["member_id"] for r in await fetch(database, f"SELECT member_id FROM {table}{order}")
        ]

    start = await physical("participation")
    assert start == sorted(start)
    for who in ("luc", "camille", "aisha", "jonathan", "nadia"):
        async with database.session() as session, session.begin():
            if is_pg(database):
                for statement in plans:
                    await session.execute(text(statement))
            round_ = await rounds.open_round_of(session, 1)
            assert round_ is not None
            if who == "jonathan":
                assert await rounds.skip(session, round_.id, ids[who])
            else:
                values = [rounds.ItemValue(i, "vision", 3) for i in round_.items]
                assert await ballots.record_ballot(
                    session,
                    engine.sealer,
                    round_=round_,
                    member_id=ids[who],
                    values=values,
                    sector=None,
                    position=None,
                    open_text=None,
                )
        assert await physical("participation") == start, who
