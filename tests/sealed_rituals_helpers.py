"""What the sealed-ritual adversary (tests/test_sealed_rituals*.py) writes and reads: tensions,
successes and pre-reflections written, and every byte a database copy holds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text

from dialogs.engine import Engine
from storage.database import Database
from tests.helpers import reflexive_schedule, submit, text_of
from tests.sql_reads import fetch, is_pg

WRITERS = ("camille", "jonathan", "daniel", "nadia", "sophie", "marc-andre", "aisha", "luc")

SCHEDULE = reflexive_schedule("once")


async def execute(database: Database, sql: str, **params: Any) -> None:
    async with database.session() as session, session.begin():
        await session.execute(text(sql), params)


async def every_byte(database: Database, since: dt.datetime) -> dict[str, bytes]:
    """What a copy of the database holds, by source: every row of every table as text; on
    SQLite the files themselves (the main file and the -wal file); on PostgreSQL the
    write-ahead log segments written since `since` (the cluster's, as an archive or a replica
    gets them)."""
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    rows = []
    for name in names:
        if is_pg(database):
            found = await fetch(database, f'SELECT t::text AS r FROM "{name}" t')
        else:
            found = [{"r": repr(r)} for r in await fetch(database, f'SELECT * FROM "{name}"')]
        rows += [str(r["r"]).encode() for r in found]
    below: list[bytes] = []
    if is_pg(database):
        segments = await fetch(
            database,
            "SELECT name FROM pg_ls_waldir() WHERE modification >= :since ORDER BY name",
            since=since,
        )
        assert segments
        for segment in segments:
            [row] = await fetch(
                database, "SELECT pg_read_binary_file('pg_wal/' || :n) AS b", n=segment["name"]
            )
            below.append(bytes(row["b"]))
    else:
        path = Path(database.url.split("///", 1)[1])
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        assert any(p.name.endswith("-wal") for p in files)
        below += [p.read_bytes() for p in files if not p.name.endswith("-shm")]
    return {"rows": b"\n".join(rows), "wal" if is_pg(database) else "files": b"".join(below)}


def holds(sources: dict[str, bytes], words: str) -> bool:
    return any(words.encode() in data for data in sources.values())


async def write_tension(engine: Engine, who: str, words: str, theme: str = "workload") -> str:
    context = {"team": "demo", "text": words, "theme": theme, "prompt": ""}
    return text_of(await submit(engine, who, "tension.confirm", context))


async def share(engine: Engine, who: str, words: str, consent: str) -> str:
    context = {"team": "demo", "prompt": ""}
    values = {"text": words, "consent": consent}
    return text_of(await submit(engine, who, "success.submit", context, values))


async def pre_reflect(engine: Engine, database: Database, who: str, words: str) -> str:
    [occurrence] = await fetch(database, "SELECT id FROM reflexive_occurrences")
    context = {"team": "demo", "occurrence": str(occurrence["id"])}
    return text_of(await submit(engine, who, "reflexive.pre", context, {"text": words}))


async def schedule_meeting(engine: Engine) -> None:
    await submit(engine, "emilie", "reflexive.save", {"team": "demo"}, SCHEDULE)
    assert (await engine.jobs.run("reflexive-invite", "demo")).count == 9
