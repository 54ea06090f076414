"""Team summaries against a bare GROUP BY over the same rows, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.summary_bench [--answers 1000000] [--teams 500]
        [--database sqlite|postgresql|both] [--quick]

What it does (docs/performance.md, "## Summaries", has the method and the figures):
1. Builds the schema with the real migrations (`storage.migrate.upgrade`) on a fresh SQLite file
   under bench/out/ and on a fresh PostgreSQL database (`passerelle_bench`, dropped at the end).
2. Fills two years of biweekly rounds per team (52 closed rounds, every 6th a diagnostic) in
   three steps of history (a quarter, half, all of it), so the figures below are taken at three
   data sizes and three history lengths (13, 26, 52 rounds per team) on the same teams. The data
   are deterministic (same seed, same rows on both databases): the random ids and ballots come
   from a seeded generator instead of the OS. Each ballot is written twice:
   - sealed, as `storage.ballots.record_ballot` seals it (same payload, same purpose, one row
     of `sealed` per ballot, under an ephemeral `Sealer`), for the close job to freeze;
   - in the clear, one row per answer, in `bench_answers`: a table the bench creates itself
     with the columns and index of the `answers` table that Passerelle no longer has
     (migration 0005 dropped it). It exists only for the baseline: nothing in dialogs/ or
     storage/ reads it.
3. After each fill, freezes every team's new units as the close job does
   (`dialogs.results.freeze_new_units`: open the sealed ballots, aggregate, generalise, store
   the cells and the open answers, delete the ballots; one transaction per team), timed as a
   whole and per unit frozen; then, for a sample of teams, one freeze
   (`dialogs.results.freeze_unit` of the latest check-in unit, its ballots sealed again,
   rolled back) against the bare GROUP BY over the same rows of `bench_answers`.
4. For the same sample: `dialogs.summary.compute` (read-only) against the bare
   `SELECT dimension, value, count(*) FROM bench_answers WHERE round_id IN (...) GROUP BY 1, 2`
   over the rounds of exactly the units compute() shows — the same statement over the same
   rows as the bare query of the earlier runs over `answers` — and a `SELECT 1` floor. Median
   and p90 per call; ratios of medians; where compute() spends its time, call by call; a check
   that the frozen cells compute() reads count the same answers as the bare query (except the
   dimensions of a unit under k, which the generalised cells hold empty).
5. Memory: tracemalloc peak during one compute() call, and the RSS of a fresh process that only
   computes summaries (a subprocess, so the fill does not pollute it), at each step.
6. At the last step: `dialogs.charts.pulse_chart` (rendering, not SQL), EXPLAIN plans of the
   statements compute() really sends (captured, rendered with that call's values), and one
   labelled EXPERIMENT, a measurement only (nothing in dialogs/ or storage/ is replaced): in the
   same interleaved pass, compute() against its own captured statements replayed with their
   rows fetched and nothing built, and against as many `SELECT 1` — which splits compute()'s
   time into round trips, the statements' own work, and building the summary in Python.

Performance is reported as figures and ratios measured in the same run, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import math
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from dialogs import pulse, results
from dialogs import summary as summary_module
from dialogs.anonymity import effective_k, recording_scheme
from dialogs.checkins import draw_items
from dialogs.content import TENSION_THEMES, load_bank
from dialogs.results import freeze_new_units
from dialogs.summary import compute
from storage import ballots, migrate, sealed, summaries
from storage.database import Database
from storage.models import (
    Member,
    Round,
    Sealed,
    Success,
    SummaryUnit,
    Team,
    Tension,
    UnitCell,
)
from storage.sealing import Sealer

OUT = Path(__file__).resolve().parent / "out"
PG_DATABASE = "passerelle_bench"
DEFAULT_PG_URL = os.environ.get(
    "PASSERELLE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
ROUNDS = 52  # two years, every two weeks
STEPS = (0.25, 0.5, 1.0)  # history filled before each measurement
END = dt.date(2026, 5, 26)  # the last round of the busiest teams opens on this Tuesday
K = 5
SECTORS = (("public", 45), ("community", 45), ("other", 10))
POSITIONS = (("front_line", 60), ("manager", 28), ("coordinator", 12))
# The baseline's rows: one per answer, in the clear, as the dropped `answers` table held them
# (same columns, same index, WITHOUT ROWID on SQLite as it was). Created by the bench; read only
# by the bare query and the checks, never by Passerelle.
BENCH_META = MetaData()
BENCH_ANSWERS = Table(
    "bench_answers",
    BENCH_META,
    Column("id", String(32), primary_key=True),
    Column("round_id", Integer, nullable=False),
    Column("ballot", String(32), nullable=False),
    Column("item_id", String(16), nullable=False),
    Column("dimension", String(40), nullable=False),
    Column("value", Integer),
    Column("sector", String(16)),
    Column("position", String(16)),
    Column("day", Date, nullable=False),
    Index("bench_answers_by_round", "round_id", "dimension"),
    sqlite_with_rowid=False,
)
ANSWER_COLUMNS = tuple(c.name for c in BENCH_ANSWERS.columns)
SEALED_COLUMNS = ("id", "team_id", "kind", "batch", "blob")
# The server's key for this run only: the bench seals and opens within one process.
SEALER = Sealer.ephemeral()
# The kind under which the timed single freezes insert their unit: never a real kind, so the
# unit does not collide with the team's frozen ones; every timed freeze is rolled back.
BENCH_KIND = "bench"


# --------------------------------------------------------------------------- the data plan
@dataclass
class TeamPlan:
    index: int
    id: int
    size: int
    segments: list[tuple[str | None, str | None]]  # as members declared them
    recorded: list[tuple[str | None, str | None]]  # as ballots carry them (k rule applied)
    pool: bool
    language: str
    offset_days: int
    level: float
    dimension_level: dict[str, float]
    respondents: list[int] = field(default_factory=list)  # per seq - 1
    partial: dict[int, int] = field(default_factory=dict)  # seq -> items of a cut-short ballot

    def opened_on(self, seq: int) -> dt.date:
        return END - dt.timedelta(days=self.offset_days + 14 * (ROUNDS - seq))


@dataclass
class Plan:
    teams: list[TeamPlan]
    kinds: list[str]  # per seq - 1
    items: list[list[str]]
    open_ids: list[str | None]
    dimension_of: dict[str, str]
    answers: int

    def step_end(self, fraction: float) -> int:
        return max(1, round(ROUNDS * fraction))

    def today(self, last_seq: int) -> dt.date:
        return END - dt.timedelta(days=14 * (ROUNDS - last_seq)) + dt.timedelta(days=4)

    def answers_until(self, last_seq: int) -> int:
        total = 0
        for team in self.teams:
            for seq in range(1, last_seq + 1):
                full = team.respondents[seq - 1] - (1 if seq in team.partial else 0)
                total += full * len(self.items[seq - 1]) + team.partial.get(seq, 0)
        return total


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


def make_plan(answers: int, n_teams: int, seed: int) -> Plan:
    bank = load_bank()
    template = Team(items_per_round=5, diagnostic_every_rounds=6, open_question=True)
    history: list[list[str]] = []
    kinds, items, open_ids = [], [], []
    for seq in range(1, ROUNDS + 1):
        draw = draw_items(bank, template, seq, history[:12])
        history.insert(0, draw.items)
        kinds.append(draw.kind)
        items.append(draw.items)
        open_ids.append(draw.open_question_id)
    dimension_of = {i.id: i.dimension for i in bank.checkin_items}
    dimension_of |= {d.id: f"diagnostic:{d.condition}" for d in bank.diagnostic_items}

    rng = random.Random(seed)
    teams: list[TeamPlan] = []
    rates: list[float] = []
    for index in range(n_teams):
        size = rng.randint(8, 20)
        segments: list[tuple[str | None, str | None]] = [
            (
                None if rng.random() < 0.04 else _weighted(rng, SECTORS),
                None if rng.random() < 0.04 else _weighted(rng, POSITIONS),
            )
            for _ in range(size)
        ]
        sizes: dict[tuple[str, str], int] = {}
        for sector, position in segments:
            key = (sector or "", position or "")
            sizes[key] = sizes.get(key, 0) + 1
        scheme = recording_scheme(sizes, K)
        teams.append(
            TeamPlan(
                index=index,
                id=index + 1,
                size=size,
                segments=segments,
                recorded=[scheme.apply(s, p) for s, p in segments],
                pool=rng.random() < 0.3,
                language="en" if rng.random() < 0.25 else "fr",
                offset_days=rng.randint(0, 6),
                level=rng.uniform(2.6, 4.0),
                dimension_level={d: rng.uniform(-0.5, 0.5) for d in set(dimension_of.values())},
            )
        )
        rates.append(rng.uniform(0.35, 0.8))

    # Respondents per round: a binomial draw per team's participation rate, scaled so the whole
    # history holds `answers` rows, then nudged one respondent at a time to hit it exactly.
    per_team_items = sum(len(i) for i in items)
    expected = sum(t.size * r * per_team_items for t, r in zip(teams, rates, strict=True))
    scale = answers / expected
    for team, rate in zip(teams, rates, strict=True):
        p = min(0.97, rate * scale)
        team.respondents = [sum(rng.random() < p for _ in range(team.size)) for _ in items]
    total = sum(r * len(items[s]) for t in teams for s, r in enumerate(t.respondents))
    diff = answers - total
    capacity = sum(t.size * per_team_items for t in teams)
    if answers > capacity:
        raise SystemExit(f"--answers {answers} exceeds what {n_teams} teams can answer")
    while diff >= 6 or diff < 0:
        team = teams[rng.randrange(n_teams)]
        s = rng.randrange(ROUNDS)
        if diff > 0 and team.respondents[s] < team.size:
            team.respondents[s] += 1
            diff -= len(items[s])
        elif diff < 0 and team.respondents[s] > 0:
            team.respondents[s] -= 1
            diff += len(items[s])
    while diff > 0:  # 1..5 rows left: one more check-in ballot, cut short
        team = teams[rng.randrange(n_teams)]
        s = rng.randrange(ROUNDS)
        if kinds[s] == "checkin" and team.respondents[s] < team.size and s + 1 not in team.partial:
            team.respondents[s] += 1
            team.partial[s + 1] = min(diff, len(items[s]))
            diff -= team.partial[s + 1]
    plan = Plan(teams, kinds, items, open_ids, dimension_of, answers)
    assert plan.answers_until(ROUNDS) == answers
    return plan


# --------------------------------------------------------------------------- generated rows
def team_row(team: TeamPlan) -> dict[str, Any]:
    anchor = team.opened_on(1)
    return {
        "id": team.id,
        "slug": f"bench-{team.id:04d}",
        "name": f"Partenariat {team.id}",
        "language": team.language,
        "timezone": "America/Toronto",
        "k": K,
        "checkin_weekday": anchor.weekday(),
        "anchor_on": anchor,
        "pool_small_rounds": team.pool,
        "created_at": dt.datetime.combine(anchor, dt.time(14), dt.UTC) - dt.timedelta(days=7),
    }


def member_rows(team: TeamPlan, first_id: int) -> list[dict[str, Any]]:
    rows = []
    for i, (sector, position) in enumerate(team.segments):
        rows.append(
            {
                "id": first_id + i,
                "team_id": team.id,
                "platform": "slack",
                "workspace": f"T{team.id:05d}",
                "user_ref": f"U{team.id:05d}{i:03d}",
                "display_name": f"Personne {team.id}-{i}",
                "sector": sector,
                "position": position,
                "language": team.language,
                "timezone": "America/Toronto",
                "is_coordinator": position == "coordinator",
                "active": True,
                "onboarded": True,
            }
        )
    return rows


def round_id(plan: Plan, team: TeamPlan, seq: int) -> int:
    return (seq - 1) * len(plan.teams) + team.index + 1  # ids in opening order, as in life


def round_row(plan: Plan, team: TeamPlan, seq: int) -> dict[str, Any]:
    opened_on = team.opened_on(seq)
    opened_at = dt.datetime.combine(opened_on, dt.time(14), dt.UTC)
    answered = team.respondents[seq - 1]
    rng = random.Random(seq * 7919 + team.id)
    skipped = min(team.size - answered, rng.randint(0, 2))
    return {
        "id": round_id(plan, team, seq),
        "team_id": team.id,
        "seq": seq,
        "kind": plan.kinds[seq - 1],
        "occurrence": opened_on.isoformat(),
        "opened_on": opened_on,
        "opened_at": opened_at,
        "remind_at": opened_at + dt.timedelta(hours=48),
        "closes_at": opened_at + dt.timedelta(hours=72),
        "reminded": True,
        "closed": True,
        "items": plan.items[seq - 1],
        "open_question_id": plan.open_ids[seq - 1],
        "asked_count": team.size,
        "answered_count": answered,
        "skipped_count": skipped,
    }


def _hex(rng: random.Random, bits: int = 128) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def round_answers(
    plan: Plan, team: TeamPlan, seq: int, seed: int
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """One closed round's answers in the clear (shuffled, for `bench_answers`) and its ballots
    as `storage.ballots.record_ballot` seals them (values, segments, the open answer if any)."""
    rng = random.Random(seed * 10_000_000 + team.id * 100 + seq)
    rid = round_id(plan, team, seq)
    day = team.opened_on(seq)
    items = plan.items[seq - 1]
    drift = 0.4 * math.sin(seq / 9 + team.index)
    rows: list[tuple[Any, ...]] = []
    payloads: list[dict[str, Any]] = []
    who = rng.sample(range(team.size), team.respondents[seq - 1])
    for n, member in enumerate(who):
        sector, position = team.recorded[member]
        ballot = _hex(rng)
        cut = team.partial.get(seq) if n == len(who) - 1 else None
        payload: dict[str, Any] = {"values": [], "sector": sector, "position": position}
        for item in items[:cut]:
            dimension = plan.dimension_of[item]
            if rng.random() < 0.05:
                value = None
            else:
                mu = team.level + team.dimension_level[dimension] + drift
                value = min(5, max(1, round(rng.gauss(mu, 0.9))))
            rows.append((_hex(rng), rid, ballot, item, dimension, value, sector, position, day))
            payload["values"].append([item, dimension, value])
        question = plan.open_ids[seq - 1]
        if question and rng.random() < 0.3:
            _hex(rng)  # the id the open answer had: drawn still, so every later draw is unchanged
            payload["open"] = [question, f"Commentaire {rng.randrange(10**6)}"]
        payloads.append(payload)
    rng.shuffle(rows)
    rng.shuffle(payloads)
    return rows, payloads


def sealed_rows(
    plan: Plan, team: TeamPlan, seq: int, payloads: Sequence[dict[str, Any]], seed: int
) -> list[tuple[Any, ...]]:
    """The round's ballots as rows of `sealed`, sealed exactly as `record_ballot` seals them
    (`storage.sealed.seal`: same kind, batch and purpose), ids from a seeded generator."""
    rng = random.Random(seed * 20_000_003 + team.id * 100 + seq)
    batch = ballots.ballot_batch(round_id(plan, team, seq))
    purpose = sealed.purpose(team.id, ballots.BALLOT, batch)
    return [
        (_hex(rng), team.id, ballots.BALLOT, batch, SEALER.seal(purpose, payload))
        for payload in payloads
    ]


def side_rows(
    plan: Plan, team: TeamPlan, first_seq: int, last_seq: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tensions and successes written between two rounds (the summary counts the recent ones)."""
    rng = random.Random(seed * 1_000_003 + team.id * 1000 + first_seq)
    start = team.opened_on(first_seq)
    days = (team.opened_on(last_seq) - start).days + 14
    tensions, successes = [], []
    for _ in range(rng.randint(1, 3) * (last_seq - first_seq + 1) // 6 + 1):
        created = start + dt.timedelta(days=rng.randrange(days))
        status = rng.choice(("approved", "published", "published", "rejected"))
        tensions.append(
            {
                "id": _hex(rng),
                "team_id": team.id,
                "text": f"Tension {rng.randrange(10**6)}",
                "theme": rng.choice(TENSION_THEMES),
                "status": status,
                "created_on": created,
                "published_on": created + dt.timedelta(days=3) if status == "published" else None,
                "followup_hash": _hex(rng, 256),
                "dedupe_key": _hex(rng, 256),
            }
        )
    for _ in range(rng.randint(0, 2) * (last_seq - first_seq + 1) // 6 + 1):
        consent = rng.choice(("named", "anonymous", "summary_only"))
        successes.append(
            {
                "id": _hex(rng),
                "team_id": team.id,
                "text": f"Succès {rng.randrange(10**6)}",
                "consent": consent,
                "author_name": "Quelqu’un" if consent == "named" else None,
                "status": "kept" if consent == "summary_only" else "published",
                "created_on": start + dt.timedelta(days=rng.randrange(days)),
                "dedupe_key": _hex(rng, 256),
            }
        )
    return tensions, successes


# --------------------------------------------------------------------------- databases
def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


SQLITE_FILE = OUT / "summary_bench.sqlite"


def _remove_sqlite_file() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)


async def fresh_database(kind: str, pg_url: str) -> Database:
    if kind == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        _remove_sqlite_file()
        return Database(f"sqlite+aiosqlite:///{SQLITE_FILE}")
    import asyncpg

    admin = await asyncpg.connect(_plain(pg_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    finally:
        await admin.close()
    return Database(pg_url.rsplit("/", 1)[0] + f"/{PG_DATABASE}")


async def drop_database(kind: str, pg_url: str) -> None:
    if kind == "sqlite":
        _remove_sqlite_file()
        return
    import asyncpg

    admin = await asyncpg.connect(_plain(pg_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    finally:
        await admin.close()


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def _insert(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, 10_000):
        await connection.execute(insert(table), chunk)  # executemany


async def _bulk(
    connection: Any,
    is_sqlite: bool,
    table: Any,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
) -> None:
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
            await _insert(connection, Team.__table__, [team_row(t) for t in plan.teams])
            members: list[dict[str, Any]] = []
            for team in plan.teams:
                members += member_rows(team, len(members) + 1)
            await _insert(connection, Member.__table__, members)
        await _insert(
            connection,
            Round.__table__,
            [round_row(plan, t, s) for s in range(first_seq, last_seq + 1) for t in plan.teams],
        )
        tensions, successes = [], []
        for team in plan.teams:
            t, s = side_rows(plan, team, first_seq, last_seq, seed)
            tensions += t
            successes += s
        await _insert(connection, Tension.__table__, tensions)
        await _insert(connection, Success.__table__, successes)
        answers: list[tuple[Any, ...]] = []
        boxes: list[tuple[Any, ...]] = []
        sealed_table = Sealed.__table__
        for seq in range(first_seq, last_seq + 1):  # in time order: one round after another
            for team in plan.teams:
                a, payloads = round_answers(plan, team, seq, seed)
                answers += a
                boxes += sealed_rows(plan, team, seq, payloads, seed)
                if len(answers) >= chunk:
                    await _bulk(connection, sqlite, BENCH_ANSWERS, ANSWER_COLUMNS, answers)
                    answers = []
                if len(boxes) >= sealed_chunk:
                    await _bulk(connection, sqlite, sealed_table, SEALED_COLUMNS, boxes)
                    boxes = []
        await _bulk(connection, sqlite, BENCH_ANSWERS, ANSWER_COLUMNS, answers)
        await _bulk(connection, sqlite, sealed_table, SEALED_COLUMNS, boxes)
        if not sqlite:
            for table in ("teams", "members", "rounds"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    await settle(db)


async def settle(db: Database, tables: Sequence[str] = ()) -> None:
    """What the running app would have done by now: VACUUM/ANALYZE (PostgreSQL autovacuum) of
    `tables` (all when none), a WAL checkpoint (SQLite, as `storage.maintenance` does)."""
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            await connection.commit()
        else:
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE " + ", ".join(tables)))


# --------------------------------------------------------------------------- measuring
def stats(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return {"median": statistics.median(ordered), "p90": p90, "n": len(ordered)}


@contextmanager
def patched(module: Any, name: str, wrapper: Callable[[Any], Any]) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, wrapper(original))
    try:
        yield
    finally:
        setattr(module, name, original)


@contextmanager
def counting_statements(db: Database) -> Iterator[list[int]]:
    """Statements sent to the database inside the block (BEGIN/COMMIT are not statements)."""
    count = [0]

    def on_execute(*_: Any) -> None:
        count[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield count
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", on_execute)


def bare_statement(round_ids: Sequence[int]) -> Any:
    answers = BENCH_ANSWERS.c
    return (
        select(answers.dimension, answers.value, func.count())
        .where(answers.round_id.in_(round_ids))
        .group_by(answers.dimension, answers.value)
    )


async def timed(db: Database, call: Callable[[Any], Awaitable[Any]]) -> float:
    """Milliseconds of `call(session)` on a session whose connection is already checked out and
    in a transaction, so pool checkout, pre-ping and BEGIN are left out of every figure. The
    session is closed without commit: whatever the call wrote is rolled back."""
    async with db.session() as session:
        await session.execute(text("SELECT 1"))
        start = time.perf_counter()
        await call(session)
        return (time.perf_counter() - start) * 1000


async def load_teams(db: Database, ids: Sequence[int] | None = None) -> list[Team]:
    async with db.session() as session:
        if ids is None:
            return list((await session.scalars(select(Team).order_by(Team.id))).all())
        return [t for i in ids if (t := await session.get(Team, i)) is not None]


async def _all(session: Any, statement: Any) -> list[Any]:
    return list((await session.execute(statement)).all())


# ---------------------------------------------------------------- the write side: freezing
async def freeze_all(db: Database) -> dict[str, Any]:
    """What the close job does after a close, for every team: `freeze_new_units` (open the
    sealed ballots, aggregate, generalise, store, delete), one transaction per team. Timed as
    a whole (commits included) and per team."""
    teams = await load_teams(db)
    per_team: list[float] = []
    frozen = 0
    start = time.perf_counter()
    with counting_statements(db) as statements:
        for team in teams:
            t0 = time.perf_counter()
            async with db.session() as session, session.begin():
                frozen += await freeze_new_units(session, SEALER, team)
            per_team.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - start
    async with db.session() as session:
        cells = int(await session.scalar(select(func.count()).select_from(UnitCell)) or 0)
        units = int(await session.scalar(select(func.count()).select_from(SummaryUnit)) or 0)
        left = int(await session.scalar(select(func.count()).select_from(Sealed)) or 0)
    await settle(db, ("summary_units", "unit_cells", "open_answers", "sealed"))
    return {
        "teams": len(teams),
        "units_frozen": frozen,
        "wall_s": wall,
        "ms_per_unit": wall * 1000 / max(1, frozen),
        "ms_per_team": stats(per_team),
        "statements": statements[0],
        "statements_per_unit": statements[0] / max(1, frozen),
        "units_total": units,
        "cells_total": cells,
        # Every round is closed: what stays sealed is only the ballots of a pooling team's last
        # rounds, still under k together, waiting to be pooled with the next ones.
        "sealed_left": left,
    }


async def latest_checkin_unit_rounds(db: Database, team: Team) -> list[Round]:
    """The rounds of the team's latest frozen check-in unit: what one close freezes."""
    async with db.session() as session:
        unit = await session.scalar(
            select(SummaryUnit)
            .where(SummaryUnit.team_id == team.id, SummaryUnit.kind == "checkin")
            .order_by(SummaryUnit.first_seq.desc())
            .limit(1)
        )
        assert unit is not None
        return list(
            (
                await session.scalars(
                    select(Round)
                    .where(
                        Round.team_id == team.id,
                        Round.kind == unit.kind,
                        Round.closed.is_(True),
                        Round.seq.between(unit.first_seq, unit.last_seq),
                    )
                    .order_by(Round.seq)
                )
            ).all()
        )


Call = Callable[[Team], Callable[[Any], Awaitable[Any]]]


async def measure_times(
    db: Database, teams: Sequence[Team], calls: dict[str, Call], reps: int, base: str
) -> dict[str, Any]:
    """Each call `reps` times per team, interleaved (teams shuffled, call order rotated), so
    drift and caches weigh on all of them alike. Ratios are to the call named `base`."""
    for team in teams:  # one more untimed pass of each: caches, statement compilation
        for make in calls.values():
            await timed(db, make(team))
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    per_team: dict[str, dict[int, list[float]]] = {name: {} for name in calls}
    rng = random.Random(7)
    for rep in range(reps):
        order = list(teams)
        rng.shuffle(order)
        for team in order:
            names = list(calls)
            names = names[rep % len(names) :] + names[: rep % len(names)]
            for name in names:
                ms = await timed(db, calls[name](team))
                samples[name].append(ms)
                per_team[name].setdefault(team.id, []).append(ms)
    result: dict[str, Any] = {name: stats(v) for name, v in samples.items()}
    for name in calls:
        if name in (base, "floor"):
            continue
        result[f"{name}/{base}"] = result[name]["median"] / result[base]["median"]
        result[f"{name}/{base} p90"] = result[name]["p90"] / result[base]["p90"]
        ratios = [
            statistics.median(per_team[name][t]) / statistics.median(per_team[base][t])
            for t in per_team[base]
        ]
        result[f"{name}/{base} per-team median"] = statistics.median(ratios)
        result[f"{name}/{base} per-team worst"] = max(ratios)
    result["per_team_median_ms"] = {
        name: {t: statistics.median(v) for t, v in by_team.items()}
        for name, by_team in per_team.items()
    }
    return result


async def reseal(
    db: Database, plan: Plan, seed: int, unit_rounds: dict[int, list[Round]]
) -> list[str]:
    """Seal again the ballots of these rounds (regenerated from the plan: the same ballots),
    so one freeze can be timed after the close job deleted them. Returns the rows' ids."""
    rows: list[tuple[Any, ...]] = []
    for team_id, rounds_ in unit_rounds.items():
        team = plan.teams[team_id - 1]
        for round_ in rounds_:
            _, payloads = round_answers(plan, team, round_.seq, seed)
            # another seed for the rows' ids only: fresh ids, as a new recording would draw
            rows += sealed_rows(plan, team, round_.seq, payloads, seed + 1)
    async with db.engine.begin() as connection:
        await _bulk(connection, db.is_sqlite, Sealed.__table__, SEALED_COLUMNS, rows)
    return [r[0] for r in rows]


async def unseal(db: Database, ids: Sequence[str]) -> None:
    async with db.session() as session, session.begin():
        await session.execute(delete(Sealed).where(Sealed.id.in_(list(ids))))


async def ballots_in(db: Database, round_ids: Sequence[int]) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count(func.distinct(BENCH_ANSWERS.c.ballot))).where(
                    BENCH_ANSWERS.c.round_id.in_(round_ids)
                )
            )
            or 0
        )


async def answers_in(db: Database, round_ids: Sequence[int]) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(BENCH_ANSWERS)
                .where(BENCH_ANSWERS.c.round_id.in_(round_ids))
            )
            or 0
        )


async def freeze_times(
    db: Database, teams: Sequence[Team], plan: Plan, seed: int, reps: int
) -> dict[str, Any]:
    """One freeze, as one close does it, against the bare GROUP BY over the same rows; and
    what a close costs around it (freeze_new_units with nothing new to freeze)."""
    unit_rounds = {t.id: await latest_checkin_unit_rounds(db, t) for t in teams}
    for team in teams:  # nothing new to freeze: the team's units are all frozen already
        async with db.session() as session:
            assert await freeze_new_units(session, SEALER, team) == 0
    # Measured before the ballots are sealed again: with sealed ballots of frozen rounds
    # waiting, freeze_new_units would also (and only here) drop them.
    overhead = await measure_times(
        db,
        teams,
        {
            # the last frozen seq of each kind, the closed rounds after it, the sealed ballots
            # still waiting (none)
            "close_overhead": lambda team: lambda s: freeze_new_units(s, SEALER, team),
            "floor": lambda team: lambda s: _all(s, select(text("1"))),
        },
        reps,
        "floor",
    )
    resealed = await reseal(db, plan, seed, unit_rounds)
    try:
        calls: dict[str, Call] = {
            # The whole write, under a kind of its own: open the unit's sealed ballots,
            # aggregate, generalise, store the unit and its cells, write the open answers,
            # delete the ballots (rolled back after each call, so they are there again).
            "freeze": lambda team: (
                lambda s: results.freeze_unit(s, SEALER, team, BENCH_KIND, unit_rounds[team.id])
            ),
            "bare": lambda team: (
                lambda s: _all(s, bare_statement([r.id for r in unit_rounds[team.id]]))
            ),
            "floor": lambda team: lambda s: _all(s, select(text("1"))),
        }
        result = await measure_times(db, teams, calls, reps, "bare")
    finally:
        await unseal(db, resealed)
    result["close_overhead"] = overhead["close_overhead"]
    ids = {t.id: [r.id for r in unit_rounds[t.id]] for t in teams}
    result["rows"] = statistics.mean([await answers_in(db, ids[t.id]) for t in teams])
    result["ballots"] = statistics.mean([await ballots_in(db, ids[t.id]) for t in teams])
    result["rounds"] = statistics.mean(len(r) for r in unit_rounds.values())
    return result


# ---------------------------------------------------------------- the read side: compute()
async def shown_rounds(db: Database, teams: Sequence[Team], today: dt.date) -> dict[int, Any]:
    """Per team: the units compute() shows (its check-in units and its diagnostic unit), their
    rounds' ids (the rows the bare query reads) and the number of frozen cells compute() reads."""
    out: dict[int, Any] = {}
    for team in teams:
        async with db.session() as session:
            result = await compute(session, team, today)
            units = [*result.units, *([result.diagnostic] if result.diagnostic else [])]
            per_unit: list[list[int]] = []
            for unit in units:
                ids = await session.scalars(
                    select(Round.id).where(
                        Round.team_id == team.id,
                        Round.kind == unit.kind,
                        Round.closed.is_(True),
                        Round.seq.between(unit.first_seq, unit.last_seq),
                    )
                )
                per_unit.append(list(ids.all()))
            out[team.id] = {
                "team_id": team.id,
                "today": today,
                "units": [u.key for u in units],
                "round_ids": [r for ids in per_unit for r in ids],
                "unit_rounds": per_unit,
            }
    return out


async def shown_cells(session: Any, team_id: int, today: dt.date) -> list[summaries.CellTuple]:
    """The frozen cells compute() reads: those of the same storage call (the one statement
    compute() sends)."""
    since = today - dt.timedelta(days=pulse.RECENT_DAYS)
    read = await summaries.summary_read(session, team_id, pulse.TREND_UNITS, since)
    return read.cells


async def expected_counts(
    session: Any, unit_rounds: Sequence[Sequence[int]]
) -> tuple[dict[tuple[str, int], int], int]:
    """The (dimension, value) counts of `bench_answers` over these units' rounds that frozen
    cells must hold: all of them, except a dimension of a unit that fewer than k people
    answered, which `generalise` stores as an empty cell. Also: how many such were left out."""
    unit_of = {r: n for n, ids in enumerate(unit_rounds) for r in ids}
    answers = BENCH_ANSWERS.c
    rows = await _all(
        session,
        select(answers.round_id, answers.ballot, answers.dimension, answers.value).where(
            answers.round_id.in_(list(unit_of)), answers.value.is_not(None)
        ),
    )
    who: dict[tuple[int, str], set[str]] = {}
    counts: dict[tuple[int, str], dict[int, int]] = {}
    for round_id, ballot, dimension, value in rows:
        key = (unit_of[round_id], dimension)
        who.setdefault(key, set()).add(ballot)
        by_value = counts.setdefault(key, {})
        by_value[value] = by_value.get(value, 0) + 1
    expected: dict[tuple[str, int], int] = {}
    withheld = 0
    for key, by_value in counts.items():
        if len(who[key]) < effective_k(K):
            withheld += 1
            continue
        for value, n in by_value.items():
            expected[(key[1], value)] = expected.get((key[1], value), 0) + n
    return expected, withheld


async def same_rows_check(db: Database, shown: dict[int, Any]) -> dict[str, int]:
    """The frozen cells compute() reads hold the same (dimension, value) counts as the rows of
    `bench_answers` over the rounds of those units (but for dimensions under k in a unit:
    `expected_counts`); and no unit holds another kind's dimensions."""
    same = 0
    withheld = 0
    for info in shown.values():
        async with db.session() as session:
            expected, left_out = await expected_counts(session, info["unit_rounds"])
            withheld += left_out
            frozen: dict[tuple[str, int], int] = {}
            for _, dimension, _, _, _, _, _, counts in await shown_cells(
                session, info["team_id"], info["today"]
            ):
                for value, n in enumerate(counts, start=1):
                    if n:
                        frozen[(dimension, value)] = frozen.get((dimension, value), 0) + n
        same += expected == frozen
    async with db.session() as session:
        mixed = await session.scalar(
            select(func.count())
            .select_from(UnitCell)
            .join(SummaryUnit, SummaryUnit.id == UnitCell.unit_id)
            .where((SummaryUnit.kind == "diagnostic") != UnitCell.dimension.like("diagnostic:%"))
        )
    return {
        "teams": len(shown),
        "identical": same,
        "unit_dimensions_under_k": withheld,
        "cells_of_the_other_kind": int(mixed or 0),
    }


async def rows_read(db: Database, shown: dict[int, Any]) -> dict[str, Any]:
    async with db.session() as session:
        answers = {
            team: int(
                await session.scalar(
                    select(func.count())
                    .select_from(BENCH_ANSWERS)
                    .where(BENCH_ANSWERS.c.round_id.in_(info["round_ids"]))
                )
                or 0
            )
            for team, info in shown.items()
        }
        cells = [
            len(await shown_cells(session, info["team_id"], info["today"]))
            for info in shown.values()
        ]
        units_per_team = (
            await session.scalar(select(func.count()).select_from(SummaryUnit)) or 0
        ) / max(1, int(await session.scalar(select(func.count()).select_from(Team)) or 1))
    counts = sorted(answers.values())
    return {
        "units_shown": statistics.mean(len(i["units"]) for i in shown.values()),
        "rounds": statistics.mean(len(i["round_ids"]) for i in shown.values()),
        "rows": statistics.mean(counts),
        "rows_min": counts[0],
        "rows_max": counts[-1],
        "cells": statistics.mean(cells),
        "units_per_team": units_per_team,
        # a typical team, for EXPLAIN: the one with the median number of rows
        "median_team": min(answers, key=lambda t: abs(answers[t] - counts[len(counts) // 2])),
        "rows_per_team": answers,
    }


def compute_calls(shown: dict[int, Any], today: dt.date) -> dict[str, Call]:
    return {
        "compute": lambda team: lambda s: compute(s, team, today),
        "bare": lambda team: lambda s: _all(s, bare_statement(shown[team.id]["round_ids"])),
        # The cost of any statement at all through the same session: a lower bound per query.
        "floor": lambda team: lambda s: _all(s, select(text("1"))),
    }


async def measure_tracemalloc(
    db: Database, teams: Sequence[Team], shown: dict[int, Any], today: dt.date
) -> dict[str, float]:
    """Peak Python allocation (KiB) during one call, over (part of) the sample; tracemalloc sees
    every thread, aiosqlite's worker included. Tracing is slow: `teams` is kept short."""
    peaks: dict[str, list[float]] = {"compute": [], "bare": [], "close_overhead": []}
    tracemalloc.start()
    try:
        for team in teams:
            for name, call in (
                ("compute", lambda s, t=team: compute(s, t, today)),
                ("bare", lambda s, t=team: _all(s, bare_statement(shown[t.id]["round_ids"]))),
                ("close_overhead", lambda s, t=team: freeze_new_units(s, SEALER, t)),
            ):
                async with db.session() as session:
                    await session.execute(text("SELECT 1"))
                    gc.collect()
                    base = tracemalloc.get_traced_memory()[0]
                    tracemalloc.reset_peak()
                    await call(session)
                    peaks[name].append((tracemalloc.get_traced_memory()[1] - base) / 1024)
    finally:
        tracemalloc.stop()
    return {
        "compute_peak_kib": max(peaks["compute"]),
        "compute_median_kib": statistics.median(peaks["compute"]),
        "bare_peak_kib": max(peaks["bare"]),
        "close_overhead_peak_kib": max(peaks["close_overhead"]),
    }


def rss_probe(url: str, team_ids: Sequence[int], today: dt.date) -> dict[str, float]:
    """A fresh process that only computes summaries: its RSS, before and at peak."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.summary_bench",
            "--rss-probe",
            url,
            ",".join(map(str, team_ids)),
            today.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _status_kib(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


async def _probe(url: str, team_ids: Sequence[int], today: dt.date) -> dict[str, float]:
    db = Database(url)
    teams = await load_teams(db, team_ids)
    async with db.session() as session:  # imports, compiled statements, connection: warm
        await compute(session, teams[0], today)
    gc.collect()
    before = _status_kib("VmRSS")
    for _ in range(3):
        for team in teams:
            async with db.session() as session:
                await compute(session, team, today)
    result: dict[str, float] = {
        "rss_before_kib": before,
        "rss_after_kib": _status_kib("VmRSS"),
        "rss_peak_kib": _status_kib("VmHWM"),
        "calls": 3 * len(teams),
    }
    await db.dispose()
    return result


BREAKDOWN = (
    (summaries, "summary_read"),
    (summary_module, "disclose"),
)


async def breakdown(
    db: Database, teams: Sequence[Team], today: dt.date, reps: int
) -> dict[str, Any]:
    """Where a compute() call spends its time, by the functions it calls (wrapped, timed)."""
    spent: dict[str, float] = {f"{m.__name__.rsplit('.', 1)[-1]}.{n}": 0.0 for m, n in BREAKDOWN}
    count: dict[str, int] = dict.fromkeys(spent, 0)

    def timer(label: str) -> Callable[[Any], Any]:
        def wrap(original: Any) -> Any:
            if asyncio.iscoroutinefunction(original):

                async def awrapper(*args: Any, **kwargs: Any) -> Any:
                    start = time.perf_counter()
                    try:
                        return await original(*args, **kwargs)
                    finally:
                        spent[label] += (time.perf_counter() - start) * 1000
                        count[label] += 1

                return awrapper

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    spent[label] += (time.perf_counter() - start) * 1000
                    count[label] += 1

            return wrapper

        return wrap

    total = 0.0
    calls = 0
    with counting_statements(db) as statements, ExitStack() as stack:
        for module, name in BREAKDOWN:
            label = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
            stack.enter_context(patched(module, name, timer(label)))
        for _ in range(reps):
            for team in teams:
                total += await timed(db, compute_calls({}, today)["compute"](team))
                statements[0] -= 1  # the SELECT 1 that `timed` sends first
                calls += 1
    parts = {
        k: {"ms_per_call": v / calls, "calls_per_summary": count[k] / calls}
        for k, v in spent.items()
    }
    inside = sum(v for v in spent.values()) / calls
    return {
        "total_ms": total / calls,
        "parts": parts,
        "rest_ms": total / calls - inside,
        "statements_per_summary": statements[0] / calls,
    }


# --------------------------------------------------------------------------- last-step extras
async def chart_times(db: Database, teams: Sequence[Team], today: dt.date) -> dict[str, float]:
    """`pulse_chart` called directly (card_for and send_to_readers run it in a worker thread
    through asyncio.to_thread: off the event loop, but the same CPU time)."""
    from dialogs.charts import pulse_chart
    from dialogs.i18n import Tr

    out: list[float] = []
    for n, team in enumerate(teams[:6]):
        async with db.session() as session:
            result = await compute(session, team, today)
        tr = Tr(team.language)
        start = time.perf_counter()
        png = pulse_chart(result, tr)
        ms = (time.perf_counter() - start) * 1000
        assert png.startswith(b"\x89PNG")
        if n:  # the first draw loads matplotlib's fonts: not counted
            out.append(ms)
    return stats(out)


async def _plan(db: Database, statement: Any) -> list[str]:
    try:
        sql = str(
            statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        )
    except Exception as error:  # a literal this dialect cannot render
        return [f"(not rendered: {error})"]
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            rows = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)).all()
            depth = {0: -1}
            lines = []
            for node, parent, _, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            return lines
        rows = (await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql)).all()
        return [r[0] for r in rows]


def _with_values(statement: Any, parameters: dict[str, Any]) -> Any:
    """The statement with its named bindparams replaced by typed literals of this call's values
    (an untyped `LIMIT :checkins` cannot be rendered otherwise)."""

    def replace(element: Any, **_: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in parameters:
            return literal(parameters[element.key])
        return None

    return visitors.replacement_traverse(statement, {}, replace)


async def explain(
    db: Database, team: Team, shown: dict[int, Any], today: dt.date
) -> dict[str, list[str]]:
    """EXPLAIN (QUERY PLAN) of every statement compute() really sends and of the bare query."""
    plans: dict[str, list[str]] = {}
    for n, (statement, parameters) in enumerate(
        await captured_statements(db, team, today), start=1
    ):
        # the module-level statements carry bindparams: rendered with this call's values
        plans[f"compute statement {n}"] = await _plan(db, _with_values(statement, parameters))
    plans["bare (the shown units' rounds)"] = await _plan(
        db, bare_statement(shown[team.id]["round_ids"])
    )
    return plans


# --------------------------------------------------------------------------- experiment
async def captured_statements(
    db: Database, team: Team, today: dt.date
) -> list[tuple[Any, dict[str, Any]]]:
    """The statements a real compute() call sends, with their parameters (the application's
    own module-level statements, not copies), whether sent through the ORM session or through
    its connection."""
    captured: list[tuple[Any, dict[str, Any]]] = []

    def grab(_conn: Any, statement: Any, multiparams: Any, params: Any, _options: Any) -> None:
        captured.append((statement, dict(multiparams[0] if multiparams else params or {})))

    event.listen(db.engine.sync_engine, "before_execute", grab)
    try:
        async with db.session() as session:
            await compute(session, team, today)
    finally:
        event.remove(db.engine.sync_engine, "before_execute", grab)
    return captured


async def replay(session: Any, statements: Sequence[tuple[Any, dict[str, Any]]]) -> int:
    """EXPERIMENT: compute()'s own statements, sent as it sends them (through the session's
    connection) and their rows fetched, and nothing else: no tuple unpacked, no disclose()."""
    rows = 0
    connection = await session.connection()
    for statement, parameters in statements:
        rows += len((await connection.execute(statement, parameters)).all())
    return rows


async def floors(session: Any, n: int) -> None:
    """EXPERIMENT: `n` statements that do nothing (`SELECT 1`): what n round trips cost at least."""
    for _ in range(n):
        await session.execute(select(text("1")))


async def cost_split(
    db: Database, teams: Sequence[Team], shown: dict[int, Any], today: dt.date, reps: int
) -> dict[str, Any]:
    """EXPERIMENT (measurement only, nothing in dialogs/ or storage/ changes): where the gap
    between compute() and the bare query lies. In the same interleaved pass: compute(); its
    own statements replayed with their rows fetched but nothing built from them
    (`statements_only`); as many `SELECT 1` as it sends statements (`n_floors`: the round trips
    alone); the bare query; one `SELECT 1`."""
    captured = {t.id: await captured_statements(db, t, today) for t in teams}
    sent = statistics.mean(len(c) for c in captured.values())
    calls = compute_calls(shown, today)
    calls["statements_only"] = lambda team: lambda s: replay(s, captured[team.id])
    calls["n_floors"] = lambda team: lambda s: floors(s, len(captured[team.id]))
    out = await measure_times(db, teams, calls, reps, "bare")
    out["statements_per_summary"] = sent
    return out


# --------------------------------------------------------------------------- one database
async def run_database(kind: str, args: argparse.Namespace, plan: Plan) -> dict[str, Any]:
    report: dict[str, Any] = {"database": kind, "steps": []}
    db = await fresh_database(kind, args.postgres_url)
    try:
        start = time.perf_counter()
        await migrate.upgrade(db)
        report["migrate_s"] = time.perf_counter() - start
        await create_bench_answers(db)
        sample_ids = sorted(
            random.Random(args.seed + 1).sample(
                [t.id for t in plan.teams], min(args.sample, len(plan.teams))
            )
        )
        filled = 0
        for fraction in STEPS:
            last = plan.step_end(fraction)
            start = time.perf_counter()
            await fill(db, plan, filled + 1, last, args.seed)
            fill_s = time.perf_counter() - start
            filled = last
            freezing = await freeze_all(db)
            today = plan.today(last)
            teams = await load_teams(db, sample_ids)
            phase = time.perf_counter()
            shown = await shown_rounds(db, teams, today)
            step: dict[str, Any] = {
                "rounds_per_team": last,
                "answers": plan.answers_until(last),
                "today": today.isoformat(),
                "fill_s": fill_s,
                "freeze_all": freezing,
                "read": await rows_read(db, shown),
                "check": await same_rows_check(db, shown),
                "times": await measure_times(
                    db, teams, compute_calls(shown, today), args.reps, "bare"
                ),
                "freeze": await freeze_times(db, teams, plan, args.seed, args.reps),
                "tracemalloc": await measure_tracemalloc(
                    db, teams[: 4 if args.quick else 10], shown, today
                ),
            }
            step["breakdown"] = await breakdown(db, teams, today, max(2, args.reps // 3))
            step["measure_s"] = time.perf_counter() - phase
            phase = time.perf_counter()
            step["rss"] = rss_probe(db.url, sample_ids, today)
            step["rss_probe_s"] = time.perf_counter() - phase
            report["steps"].append(step)
            t, f = step["times"], step["freeze"]
            print(
                f"  [{kind}] {last:2d} rounds/team, {step['answers']:>9,} answers: "
                f"fill {fill_s:5.1f}s, freeze {freezing['units_frozen']} units in "
                f"{freezing['wall_s']:.1f}s | compute {t['compute']['median']:.2f} ms, "
                f"bare {t['bare']['median']:.2f} ms, ratio {t['compute/bare']:.2f} | "
                f"one freeze {f['freeze']['median']:.2f} ms = {f['freeze/bare']:.2f}x bare | "
                f"peak {step['tracemalloc']['compute_peak_kib']:.0f} KiB, "
                f"RSS peak {step['rss']['rss_peak_kib'] / 1024:.1f} MiB "
                f"(measured in {step['measure_s']:.1f}s + {step['rss_probe_s']:.1f}s)",
                flush=True,
            )
        report["size_mib"] = await database_size(db)
        typical = next(t for t in teams if t.id == step["read"]["median_team"])
        teams = [typical, *(t for t in teams if t is not typical)]
        phases: dict[str, float] = {}
        for name, job in (
            ("chart", lambda: chart_times(db, teams, today)),
            ("plans", lambda: explain(db, typical, shown, today)),
            ("split", lambda: cost_split(db, teams, shown, today, args.reps)),
        ):
            phase = time.perf_counter()
            report[name] = await job()
            phases[name] = time.perf_counter() - phase
        report["phases_s"] = phases
        print(
            f"  [{kind}] extras: " + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()),
            flush=True,
        )
    finally:
        await db.dispose()
        if not args.keep:
            await drop_database(kind, args.postgres_url)
    return report


async def database_size(db: Database) -> float:
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            pages = await connection.scalar(text("PRAGMA page_count"))
            size = await connection.scalar(text("PRAGMA page_size"))
            return float(pages * size) / 2**20
        return (
            float(await connection.scalar(text("SELECT pg_database_size(current_database())")))
            / 2**20
        )


async def server_version(args: argparse.Namespace) -> str | None:
    try:
        import asyncpg

        connection = await asyncpg.connect(_plain(args.postgres_url), timeout=3)
    except Exception:  # any failure: not reachable
        return None
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


# --------------------------------------------------------------------------- report
def machine(pg_version: str | None) -> dict[str, Any]:
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1])
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import sqlalchemy

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem / 2**20, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "sqlalchemy": sqlalchemy.__version__,
    }


def _plan_lines(lines: Sequence[str], indent: str) -> None:
    for line in lines:
        print(indent + line)


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    a = result["args"]
    print()
    print(
        f"machine: {m['nproc']} CPU ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, SQLAlchemy {m['sqlalchemy']}"
    )
    print(
        f"data: {a['answers']:,} answers, {a['teams']} teams x {ROUNDS} biweekly rounds, "
        f"filled in {len(STEPS)} steps of history; sample of {a['sample']} teams x {a['reps']} "
        "timed calls of each query per step (ms per call; ratios are of medians)"
    )
    for db in result["databases"]:
        kind = db["database"]
        steps = db["steps"]
        print()
        fill_s = sum(s["fill_s"] for s in steps)
        print(
            f"=== {kind}: migrations {db['migrate_s']:.1f}s; fill {fill_s:.1f}s in all "
            f"({steps[-1]['answers'] / fill_s:,.0f} answers/s with rounds, teams, members, "
            f"sealed ballots, bench_answers, tensions, successes); {db['size_mib']:.0f} MiB at "
            "the end"
        )
        print(
            "the close job's freezing, all teams, after each fill (one transaction per team; "
            "still sealed: ballots of pooling teams' last rounds, under k together, waiting):"
        )
        print(
            f"  {'rounds':>6} {'answers':>9} | {'units':>5} {'wall':>6} {'ms/unit':>7} "
            f"{'stmts/unit':>10} | {'ms/team':>7} {'p90':>6} | {'units':>6} {'cells':>7} in all "
            f"| {'still sealed':>12}"
        )
        for s in steps:
            fz = s["freeze_all"]
            print(
                f"  {s['rounds_per_team']:>6} {s['answers']:>9,} | {fz['units_frozen']:>5} "
                f"{fz['wall_s']:>5.1f}s {fz['ms_per_unit']:>7.2f} "
                f"{fz['statements_per_unit']:>10.1f} | {fz['ms_per_team']['median']:>7.2f} "
                f"{fz['ms_per_team']['p90']:>6.2f} | {fz['units_total']:>6} "
                f"{fz['cells_total']:>7}        | {fz['sealed_left']:>12}"
            )
        print(
            "one freeze (the latest check-in unit of each sampled team, rolled back) against the "
            "bare GROUP BY over the same rows; ms, median (p90):"
        )
        print(
            f"  {'rounds':>6} {'ballots':>7} {'rows':>4} | {'freeze':>13} {'bare':>13} "
            f"{'floor':>5} | {'frz/bare':>8} | {'close overhead':>14}"
        )
        for s in steps:
            f = s["freeze"]
            print(
                f"  {s['rounds_per_team']:>6} {f['ballots']:>7.1f} {f['rows']:>4.0f} | "
                f"{f['freeze']['median']:>5.2f} ({f['freeze']['p90']:>5.2f}) "
                f"{f['bare']['median']:>5.2f} ({f['bare']['p90']:>5.2f}) "
                f"{f['floor']['median']:>5.2f} | {f['freeze/bare']:>8.2f} | "
                f"{f['close_overhead']['median']:>5.2f} ({f['close_overhead']['p90']:>5.2f})"
            )
        print(
            "  (freeze: dialogs.results.freeze_unit: open the sealed ballots, aggregate, "
            "generalise, store unit, cells and open answers, delete the ballots; close overhead: "
            "freeze_new_units with nothing new, i.e. what a close adds around the freeze)"
        )
        print("compute() against the bare GROUP BY over the rounds of the units it shows:")
        print(
            f"  {'rounds':>6} {'answers':>9} {'units':>5} {'rows':>4} {'cells':>5} | "
            f"{'compute':>7} {'p90':>6} | {'bare':>5} {'p90':>5} | {'floor':>5} | "
            f"{'cmp/bare':>8} {'p90':>5} | {'tm peak':>7} {'bare':>6} {'close':>6} | "
            f"{'RSS':>5} {'peak':>5}"
        )
        for s in steps:
            t, tm, rss, r = s["times"], s["tracemalloc"], s["rss"], s["read"]
            print(
                f"  {s['rounds_per_team']:>6} {s['answers']:>9,} {r['units_shown']:>5.1f} "
                f"{r['rows']:>4.0f} {r['cells']:>5.0f} | {t['compute']['median']:>7.2f} "
                f"{t['compute']['p90']:>6.2f} | {t['bare']['median']:>5.2f} "
                f"{t['bare']['p90']:>5.2f} | {t['floor']['median']:>5.2f} | "
                f"{t['compute/bare']:>8.2f} {t['compute/bare p90']:>5.2f} | "
                f"{tm['compute_peak_kib']:>4.0f}KiB {tm['bare_peak_kib']:>3.0f}KiB "
                f"{tm['close_overhead_peak_kib']:>3.0f}KiB | {rss['rss_before_kib'] / 1024:>4.0f}M "
                f"{rss['rss_peak_kib'] / 1024:>4.0f}M"
            )
        print(
            "  (units: shown by compute(); rows: answers behind them, read by the bare query; "
            "cells: frozen rows compute() reads instead; floor: `SELECT 1` through the same "
            "session; tm peak: tracemalloc peak of one compute(), of the bare query, and of "
            "freeze_new_units with nothing new; RSS: a fresh process after one summary, and its "
            f"peak after {steps[-1]['rss']['calls']} more)"
        )
        for s in steps:
            t, ck = s["times"], s["check"]
            print(
                f"  {s['rounds_per_team']:>2} rounds: per-team compute/bare median "
                f"{t['compute/bare per-team median']:.2f}, worst "
                f"{t['compute/bare per-team worst']:.2f}; cells = bare counts for "
                f"{ck['identical']} of {ck['teams']} teams ({ck['unit_dimensions_under_k']} "
                "unit-dimensions under k, held empty, left out); cells of the other kind's "
                f"dimensions: {ck['cells_of_the_other_kind']}; "
                f"{s['read']['units_per_team']:.1f} frozen units per team"
            )
        t, rows = steps[-1]["times"], steps[-1]["read"]["rows_per_team"]
        by_rows = sorted(rows, key=rows.__getitem__)
        ms = t["per_team_median_ms"]
        print(
            "  last step, compute/bare by team, fewest to most answers behind the summary: "
            + ", ".join(
                f"{rows[i]} rows {ms['compute'][i] / ms['bare'][i]:.2f}x"
                for i in (by_rows[0], by_rows[len(by_rows) // 2], by_rows[-1])
            )
            + f" (compute {ms['compute'][by_rows[0]]:.2f} -> {ms['compute'][by_rows[-1]]:.2f} ms, "
            f"bare {ms['bare'][by_rows[0]]:.2f} -> {ms['bare'][by_rows[-1]]:.2f} ms)"
        )
        c = db["chart"]
        print(
            f"pulse_chart (rendering, not SQL; called directly): median {c['median']:.0f} ms, "
            f"p90 {c['p90']:.0f} ms"
        )
        print(
            "compute() by what it calls, mean ms per summary at each step "
            "(x: calls per summary; 'itself': compute's own Python and the wrappers):"
        )
        names = list(steps[0]["breakdown"]["parts"])
        short = [n.split(".", 1)[1] for n in names]
        print(
            f"  {'rounds':>6} {'total':>6} {'stmts':>5} "
            + " ".join(f"{n[:13]:>13}" for n in short)
            + f" {'itself':>6}"
        )
        for s in steps:
            b = s["breakdown"]
            print(
                f"  {s['rounds_per_team']:>6} {b['total_ms']:>6.2f} "
                f"{b['statements_per_summary']:>5.1f} "
                + " ".join(
                    f"{b['parts'][n]['ms_per_call']:>8.2f} "
                    f"x{b['parts'][n]['calls_per_summary']:<3.0f}"
                    for n in names
                )
                + f" {b['rest_ms']:>6.2f}"
            )
        for name, lines in db["plans"].items():
            print(f"plan of {name}:")
            _plan_lines(lines, "   ")
        x = db["split"]
        floor4 = x["n_floors"]["median"]
        print(
            "EXPERIMENT cost_split (measurement only): compute() against its own "
            f"{x['statements_per_summary']:.0f} statement(s) replayed with nothing built "
            "(statements_only) and as many `SELECT 1` (n_floors), same interleaved pass:"
        )
        print(
            f"  compute {x['compute']['median']:.2f} ms ({x['compute/bare']:.2f}x bare) | "
            f"statements_only {x['statements_only']['median']:.2f} ms "
            f"({x['statements_only/bare']:.2f}x) | n_floors {floor4:.2f} ms "
            f"({x['n_floors/bare']:.2f}x) | bare {x['bare']['median']:.2f} ms | floor "
            f"{x['floor']['median']:.2f} ms"
        )
        print(
            f"  so: round trips {floor4:.2f} ms, the statements' own work "
            f"{x['statements_only']['median'] - floor4:.2f} ms, building the summary "
            "(rows unpacked, disclose) "
            f"{x['compute']['median'] - x['statements_only']['median']:.2f} ms"
        )


# --------------------------------------------------------------------------- main
def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.summary_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--answers", type=int)
    parser.add_argument("--teams", type=int)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="200k answers, 100 teams, fewer calls")
    parser.add_argument("--sample", type=int, help="teams timed (default 20; quick 10)")
    parser.add_argument(
        "--reps", type=int, help="timed calls per team and query (default 25; quick 5)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--postgres-url", default=DEFAULT_PG_URL, help="an admin URL (any database)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (bench/out/, passerelle_bench)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures there")
    args = parser.parse_args(argv)
    args.answers = args.answers or (200_000 if args.quick else 1_000_000)
    args.teams = args.teams or (100 if args.quick else 500)
    args.sample = args.sample or (10 if args.quick else 20)
    args.reps = args.reps or (5 if args.quick else 25)
    return args


async def main(args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    plan = make_plan(args.answers, args.teams, args.seed)
    print(
        f"plan: {args.answers:,} answers over {args.teams} teams x {ROUNDS} rounds "
        f"({time.perf_counter() - start:.1f}s)",
        flush=True,
    )
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    pg_version = await server_version(args)
    result: dict[str, Any] = {
        "machine": machine(pg_version),
        "args": {k: v for k, v in vars(args).items() if k not in ("json", "postgres_url")},
        "databases": [],
    }
    for kind in kinds:
        if kind == "postgresql" and pg_version is None:
            print(f"  [postgresql] not reachable at {args.postgres_url}: skipped", flush=True)
            continue
        result["databases"].append(await run_database(kind, args, plan))
    result["wall_s"] = time.perf_counter() - start
    return result


def cli(argv: Sequence[str] | None = None) -> None:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["--rss-probe"]:
        url, team_ids, today = raw[1], raw[2], raw[3]
        ids = [int(i) for i in team_ids.split(",")]
        print(json.dumps(asyncio.run(_probe(url, ids, dt.date.fromisoformat(today)))))
        return
    args = parse(raw)
    result = asyncio.run(main(args))
    print_report(result)
    print(
        f"\nwall time {result['wall_s']:.0f}s; peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (fill included)"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    target = args.json or OUT / ("summary_bench_quick.json" if args.quick else "summary_bench.json")
    target.write_text(json.dumps(result, indent=1, default=str))
    print(f"figures written to {target}")


if __name__ == "__main__":
    cli()
