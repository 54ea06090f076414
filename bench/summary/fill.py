"""Writing the plan into a migrated database, one step of history at a time: executemany
for small tables, COPY (PostgreSQL) for the many answers and sealed ballots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import insert, text

from bench.harness.databases import settle
from bench.summary.plan import Plan
from bench.summary.rows import (
    ANSWER_COLUMNS,
    BENCH_ANSWERS,
    BENCH_META,
    SEALED_COLUMNS,
    member_rows,
    round_answers,
    round_row,
    sealed_rows,
    side_rows,
    team_row,
)
from dialogs.checkins.models import Round
from dialogs.successes.models import Success
from dialogs.tensions.models import Tension
from storage.database import Database
from storage.models import Member, Sealed, Team


def chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def insert_rows(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Rows as dicts, by executemany in chunks."""
    for chunk in chunks(rows, 10_000):
        await connection.execute(insert(table), chunk)  # executemany


async def bulk(
    connection: Any,
    is_sqlite: bool,
    table: Any,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
) -> None:
    """Many rows as tuples: executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    if is_sqlite:
        await connection.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
    else:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(
            table.name, records=rows, columns=list(columns)
        )


async def create_bench_answers(db: Database) -> None:
    """The baseline's table (see BENCH_ANSWERS), next to the migrated schema."""
    async with db.engine.begin() as connection:
        await connection.run_sync(BENCH_META.create_all)


async def fill(db: Database, plan: Plan, first_seq: int, last_seq: int, seed: int) -> None:
    """Rounds first_seq..last_seq of every team (and the teams themselves with the first):
    their ballots sealed for the close job, and their answers in the clear in `bench_answers`."""
    sqlite = db.is_sqlite
    chunk = 10_000 if sqlite else 50_000
    # Sealed rows are 4 KiB each (one padding bucket): written by smaller chunks, so the
    # bench never holds a whole step of blobs in memory.
    sealed_chunk = 5_000
    async with db.engine.begin() as connection:
        if first_seq == 1:
            await insert_rows(connection, Team.__table__, [team_row(t) for t in plan.teams])
            members: list[dict[str, Any]] = []
            for team in plan.teams:
                members += member_rows(team, len(members) + 1)
            await insert_rows(connection, Member.__table__, members)
        await insert_rows(
            connection,
            Round.__table__,
            [round_row(plan, t, s) for s in range(first_seq, last_seq + 1) for t in plan.teams],
        )
        tensions, successes = [], []
        for team in plan.teams:
            t, s = side_rows(plan, team, first_seq, last_seq, seed)
            tensions += t
            successes += s
        await insert_rows(connection, Tension.__table__, tensions)
        await insert_rows(connection, Success.__table__, successes)
        answers: list[tuple[Any, ...]] = []
        boxes: list[tuple[Any, ...]] = []
        sealed_table = Sealed.__table__
        for seq in range(first_seq, last_seq + 1):  # in time order: one round after another
            for team in plan.teams:
                a, payloads = round_answers(plan, team, seq, seed)
                answers += a
                boxes += sealed_rows(plan, team, seq, payloads, seed)
                if len(answers) >= chunk:
                    await bulk(connection, sqlite, BENCH_ANSWERS, ANSWER_COLUMNS, answers)
                    answers = []
                if len(boxes) >= sealed_chunk:
                    await bulk(connection, sqlite, sealed_table, SEALED_COLUMNS, boxes)
                    boxes = []
        await bulk(connection, sqlite, BENCH_ANSWERS, ANSWER_COLUMNS, answers)
        await bulk(connection, sqlite, sealed_table, SEALED_COLUMNS, boxes)
        if not sqlite:
            for table in ("teams", "members", "rounds"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    await settle(db)
