"""A round's close against a bare INSERT ... SELECT ... GROUP BY of the same ballots.

    .venv/bin/python -m bench.close_bench [--members 200] [--reps 30]
        [--database sqlite|postgresql|both] [--quick] [--no-settle]

What it does (docs/performance.md, "## Closing a round", has the method and the figures):
1. Builds the schema with the real migrations (`storage.migrate.upgrade`) on a fresh SQLite file
   under bench/out/ and on a fresh, uniquely named PostgreSQL database (dropped at the end),
   plus two tables of its own that nothing in dialogs/ or storage/ reads: `bench_ballots` (the
   ballots' answers in the clear, one row per item) and `bench_cells` (the baseline's output,
   the columns of `unit_cells`).
2. One team of `--members` people (200), sectors and positions drawn as in a partnership and
   recorded through the real `dialogs.anonymity.recording_scheme`, k = 5, no pooling.
3. Each repetition has fresh data: a new check-in round (`storage.rounds.open_round`, items
   from the real `dialogs.checkins.draw_items`: 5 items and an open question), every member's
   ballot recorded by the real `storage.ballots.record_ballot` (sealed, ledger marked; about
   5% of items "prefer not to answer", an open answer on about 30% of ballots), and the same
   ballots' item values written in the clear to `bench_ballots`; then what the server would
   have done while the round was open (PostgreSQL: VACUUM ANALYZE of the ledger, the sealed
   ballots and the baseline's rows; SQLite: a WAL checkpoint; `--no-settle` skips it). None of
   that is timed.
4. Then, in an order that alternates from one repetition to the next, each timed on a session
   whose connection is already checked out and in a transaction:
   - `close`: what the close job does, in one transaction — `storage.rounds.close_round`
     (count and erase the ledger) and `dialogs.results.freeze_new_units` (open the sealed
     ballots, aggregate, generalise, store the unit and its cells, write the open answers
     shuffled, delete the sealed ballots), then COMMIT;
   - `bare`: `INSERT INTO bench_cells SELECT <round id>, dimension, sector, position,
     count(DISTINCT ballot), count(value), sum(value), five counts ... FROM bench_ballots
     WHERE round_id = ... GROUP BY dimension, sector, position` (the statement the close used
     to send when answers were stored in the clear), then COMMIT.
   Each is timed to the end of its work and to the end of its COMMIT.
5. Checks at every repetition: the close froze exactly one unit, left no sealed ballot, wrote
   every open answer, and its cells are the baseline's cells generalised by
   `dialogs.disclosure.generalise` (the same rows were counted).
6. Prints median and p90 of each, their ratios, and where the close spends its time (the
   functions it calls, wrapped and timed during the timed repetitions: well under 0.1 ms of
   wrapping in a close of about 20 ms).

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
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    case,
    event,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import results
from dialogs.anonymity import recording_scheme
from dialogs.checkins import draw_items
from dialogs.content import ContentBank, load_bank
from dialogs.disclosure import Cell, generalise
from storage import ballots, migrate, rounds, summaries, teams
from storage.database import Database
from storage.models import Member, OpenAnswer, Round, Sealed, Team, UnitCell
from storage.rounds import ItemValue
from storage.sealing import Sealer

OUT = Path(__file__).resolve().parent / "out"
SQLITE_FILE = OUT / "close_bench.sqlite"
DEFAULT_PG_URL = os.environ.get(
    "PASSERELLE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
K = 5
SECTORS = (("public", 45), ("community", 45), ("other", 10))
POSITIONS = (("front_line", 60), ("manager", 28), ("coordinator", 12))
UNSET = 0.04  # members who left their sector (or position) unset
SKIPPED_ITEM = 0.05  # "prefer not to answer"
OPEN_ANSWER = 0.3  # ballots with an open answer
WORDS = [
    "équipe",
    "partenariat",
    "réunion",
    "dossier",
    "temps",
    "charge",
    "soutien",
    "clients",
    "accueil",
    "suivi",
]
# An ephemeral key: the bench seals and opens within one process.
SEALER = Sealer.ephemeral()

# The baseline's tables. `bench_ballots` holds in the clear what the sealed ballots hold;
# `bench_cells` has the columns of `unit_cells` (`unit_id` holds the round id).
BENCH_META = MetaData()
BENCH_BALLOTS = Table(
    "bench_ballots",
    BENCH_META,
    Column("id", String(32), primary_key=True),
    Column("round_id", Integer, nullable=False),
    Column("ballot", String(32), nullable=False),
    Column("item_id", String(16), nullable=False),
    Column("dimension", String(40), nullable=False),
    Column("value", Integer),
    Column("sector", String(16)),
    Column("position", String(16)),
    Index("bench_ballots_by_round", "round_id", "dimension"),
    sqlite_with_rowid=False,
)
BENCH_CELLS = Table(
    "bench_cells",
    BENCH_META,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, nullable=False),
    Column("dimension", String(40), nullable=False),
    Column("sector", String(16)),
    Column("position", String(16)),
    Column("respondents", Integer, nullable=False),
    Column("answers", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    *(Column(f"count_{v}", Integer, nullable=False) for v in range(1, 6)),
    Index("bench_cells_by_unit", "unit_id"),
)
CELL_COLUMNS = [c.name for c in BENCH_CELLS.columns if c.name != "id"]


# --------------------------------------------------------------------------- databases
def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _remove_sqlite_file() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)


async def _admin(pg_url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_plain(pg_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def fresh_database(kind: str, pg_url: str) -> tuple[Database, str]:
    """A new, empty database and its name (a file for SQLite). PostgreSQL's is uniquely named:
    other benches or tests may run on the same server."""
    if kind == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        _remove_sqlite_file()
        return Database(f"sqlite+aiosqlite:///{SQLITE_FILE}"), str(SQLITE_FILE)
    name = f"passerelle_close_bench_{uuid.uuid4().hex[:8]}"
    await _admin(pg_url, f'CREATE DATABASE "{name}"')
    return Database(pg_url.rsplit("/", 1)[0] + f"/{name}"), name


async def drop_database(kind: str, pg_url: str, name: str) -> None:
    if kind == "sqlite":
        _remove_sqlite_file()
    else:
        await _admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrated(db: Database) -> None:
    """The real schema (migrations, as `tests/conftest.py` builds it), then the bench's own."""
    await migrate.upgrade(db)
    async with db.engine.begin() as connection:
        await connection.run_sync(BENCH_META.create_all)


async def postgres_version(pg_url: str) -> str | None:
    try:
        import asyncpg

        connection = await asyncpg.connect(_plain(pg_url), timeout=3)
    except Exception:  # any failure: not reachable
        return None
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


# --------------------------------------------------------------------------- the team
def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str | None:
    if rng.random() < UNSET:
        return None
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


async def make_team(db: Database, members: int, rng: random.Random) -> int:
    """One team of `members` onboarded people; its id."""
    anchor = dt.date(2026, 1, 6)
    async with db.session() as session, session.begin():
        team = Team(
            slug="close-bench",
            name="Partenariat du banc",
            k=K,
            anchor_on=anchor,
            pool_small_rounds=False,
            created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        session.add(team)
        await session.flush()
        for i in range(members):
            position = _weighted(rng, POSITIONS)
            session.add(
                Member(
                    team_id=team.id,
                    platform="slack",
                    workspace="TBENCH",
                    user_ref=f"U{i:05d}",
                    display_name=f"Personne {i}",
                    sector=_weighted(rng, SECTORS),
                    position=position,
                    is_coordinator=position == "coordinator",
                    onboarded=True,
                )
            )
        return team.id


@dataclass(frozen=True)
class Voter:
    id: int
    sector: str | None  # as recorded on ballots (recording scheme applied)
    position: str | None


async def voters(db: Database, team_id: int) -> list[Voter]:
    """The members with their segments as `dialogs.checkins.submit` records them."""
    async with db.session() as session:
        team = await session.get(Team, team_id)
        assert team is not None
        scheme = recording_scheme(await teams.group_sizes(session, team_id), team.k)
        people = (await session.scalars(select(Member).where(Member.team_id == team_id))).all()
        return [Voter(m.id, *scheme.apply(m.sector, m.position)) for m in people]


# --------------------------------------------------------------------------- one round's data
@dataclass
class RoundData:
    round_id: int
    ballots: int
    texts: int
    rows: int


def _ballot(
    rng: random.Random, bank: ContentBank, items: Sequence[str]
) -> tuple[list[ItemValue], str | None]:
    """One member's answers: values around a personal level, some skipped, maybe a text."""
    level = rng.uniform(2.0, 4.5)
    values = [
        ItemValue(
            item,
            bank.dimension_of(item),
            None if rng.random() < SKIPPED_ITEM else min(5, max(1, round(rng.gauss(level, 0.8)))),
        )
        for item in items
    ]
    text_ = None
    if rng.random() < OPEN_ANSWER:
        text_ = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
    return values, text_


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


async def new_round(
    db: Database,
    bank: ContentBank,
    team_id: int,
    people: Sequence[Voter],
    seq: int,
    history: list[list[str]],
    rng: random.Random,
) -> RoundData:
    """Open a round, record every member's ballot through the real path (sealed, ledger
    marked), and write the same answers in the clear to `bench_ballots`. Not timed."""
    opened = dt.datetime(2026, 1, 6, 15, tzinfo=dt.UTC) + dt.timedelta(days=14 * seq)
    async with db.session() as session, session.begin():
        team = await session.get(Team, team_id)
        assert team is not None
        draw = draw_items(bank, team, seq, history[:12])
        history.insert(0, draw.items)
        round_ = await rounds.open_round(
            session,
            team_id=team_id,
            occurrence=opened.date().isoformat(),
            kind=draw.kind,
            items=draw.items,
            open_question_id=draw.open_question_id,
            opened_at=opened,
            opened_on=opened.date(),
            remind_at=opened + dt.timedelta(hours=48),
            closes_at=opened + dt.timedelta(hours=72),
            member_ids=[p.id for p in people],
        )
        assert round_ is not None
        clear: list[dict[str, Any]] = []
        texts = 0
        for person in people:
            values, open_text = _ballot(rng, bank, draw.items)
            recorded = await ballots.record_ballot(
                session,
                SEALER,
                round_=round_,
                member_id=person.id,
                values=values,
                sector=person.sector,
                position=person.position,
                open_text=open_text,
            )
            assert recorded
            texts += open_text is not None and round_.open_question_id is not None
            ballot = _hex(rng)
            clear += [
                {
                    "id": _hex(rng),
                    "round_id": round_.id,
                    "ballot": ballot,
                    "item_id": v.item_id,
                    "dimension": v.dimension,
                    "value": v.value,
                    "sector": person.sector,
                    "position": person.position,
                }
                for v in values
            ]
        await session.execute(insert(BENCH_BALLOTS), clear)
        return RoundData(round_.id, len(people), texts, len(clear))


async def settled(db: Database) -> None:
    """What the running server would have done in the three days a round is open. PostgreSQL:
    autovacuum — each ballot rewrites every ledger row of the round (`storage.rounds.mark`),
    so 200 ballots leave 40,000 dead ledger rows, which the close's `lock_ledger` would
    otherwise scan. SQLite: the WAL checkpoint `storage.maintenance` runs."""
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            await connection.commit()
        else:
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE participation, sealed, bench_ballots"))


# --------------------------------------------------------------------------- the two timed calls
def bare_statement(round_id: int) -> Any:
    """The baseline: one INSERT ... SELECT ... GROUP BY of the round's answers into a table of
    cells, as `storage.summaries.freeze` did when answers were stored in the clear."""
    b = BENCH_BALLOTS.c
    grouped = (
        select(
            literal(round_id),
            b.dimension,
            b.sector,
            b.position,
            func.count(func.distinct(case((b.value.is_not(None), b.ballot)))),
            func.count(b.value),
            func.coalesce(func.sum(b.value), 0),
            *(func.sum(case((b.value == v, 1), else_=0)) for v in range(1, 6)),
        )
        .where(b.round_id == round_id)
        .group_by(b.dimension, b.sector, b.position)
    )
    return insert(BENCH_CELLS).from_select(CELL_COLUMNS, grouped)


@dataclass(frozen=True)
class Timing:
    work_ms: float  # to the end of the work, before COMMIT
    total_ms: float  # COMMIT included


async def timed_close(db: Database, team_id: int, round_id: int) -> tuple[Timing, int, int]:
    """close_round + freeze_new_units in one transaction, as the close job runs them (the team
    and the round are loaded first, untimed: the job has them in hand). Returns the timing,
    the units frozen and the statements sent (between the start and the end of the work)."""
    with counting_statements(db) as counted:
        async with db.session() as session:
            team = await session.get(Team, team_id)
            round_ = await session.get(Round, round_id)
            assert team is not None and round_ is not None
            before = counted[0]
            start = time.perf_counter()
            await rounds.close_round(session, round_)
            frozen = await results.freeze_new_units(session, SEALER, team)
            work = time.perf_counter()
            statements = counted[0] - before
            await session.commit()
            end = time.perf_counter()
    return Timing((work - start) * 1000, (end - start) * 1000), frozen, statements


async def timed_bare(db: Database, round_id: int) -> Timing:
    async with db.session() as session:
        await session.execute(text("SELECT 1"))  # connection checked out, transaction begun
        start = time.perf_counter()
        await session.execute(bare_statement(round_id))
        work = time.perf_counter()
        await session.commit()
        end = time.perf_counter()
    return Timing((work - start) * 1000, (end - start) * 1000)


# --------------------------------------------------------------------------- checks
CellKey = tuple[Any, ...]  # (dimension, sector, position, respondents, answers, total, counts)


async def _cells(session: AsyncSession, table: Any, unit_id: int) -> list[CellKey]:
    """The cells of one unit in `unit_cells` or `bench_cells` (same columns)."""
    c = table.c
    rows = await session.execute(
        select(
            c.dimension,
            c.sector,
            c.position,
            c.respondents,
            c.answers,
            c.total,
            *(c[f"count_{v}"] for v in range(1, 6)),
        ).where(c.unit_id == unit_id)
    )
    return [(*row[:6], tuple(row[6:])) for row in rows.all()]


def _generalised(raw: Sequence[CellKey]) -> set[CellKey]:
    """The baseline's cells as the close must have stored them."""
    cells = generalise([Cell(0, *row) for row in raw], K)
    return {
        (c.dimension, c.sector, c.position, c.respondents, c.values, c.total, c.counts)
        for c in cells
    }


async def check(db: Database, data: RoundData) -> tuple[dict[str, bool], tuple[int, int]]:
    """The close counted the same rows as the baseline: its cells are the baseline's cells
    generalised; nothing stayed sealed; every open answer was written. Also: how many cells
    the close stored and the baseline wrote."""
    async with db.session() as session:
        # one team, one unit per round: the newest unit is this round's
        unit_id = int(await session.scalar(select(func.max(UnitCell.unit_id))) or 0)
        stored = await _cells(session, UnitCell.__table__, unit_id)
        raw = await _cells(session, BENCH_CELLS, data.round_id)
        sealed_left = await session.scalar(select(func.count()).select_from(Sealed))
        texts = await session.scalar(
            select(func.count()).where(OpenAnswer.round_id == data.round_id)
        )
    checks = {
        "same_cells": set(stored) == _generalised(raw),
        "nothing_sealed": sealed_left == 0,
        "texts_written": texts == data.texts,
    }
    return checks, (len(stored), len(raw))


# --------------------------------------------------------------------------- where the close goes
# What the close calls, by the module attribute it is called through (so wrapping it there is
# what the close really runs). `sealer.open` is the decryption of one ballot.
PARTS: tuple[tuple[Any, str], ...] = (
    (rounds, "close_round"),
    (summaries, "last_frozen_seq"),
    (rounds, "closed_after"),
    (ballots, "take_ballots"),
    (SEALER, "open"),
    (results, "aggregate"),
    (results, "generalise"),
    (summaries, "freeze"),
    (ballots, "write_open_answers"),
    (results, "_drop_unpublishable"),
)


def _label(owner: Any, name: str) -> str:
    return f"sealer.{name}" if owner is SEALER else f"{owner.__name__.rsplit('.', 1)[-1]}.{name}"


@contextmanager
def wrapped_parts(spent: dict[str, float]) -> Iterator[None]:
    """Time every part in PARTS while inside the block (ms added to `spent`)."""

    def wrap(label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    spent[label] += (time.perf_counter() - start) * 1000

            return timed_async

        def timed_sync(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += (time.perf_counter() - start) * 1000

        return timed_sync

    with ExitStack() as stack:
        for owner, name in PARTS:
            label = _label(owner, name)
            spent.setdefault(label, 0.0)
            original = getattr(owner, name)
            setattr(owner, name, wrap(label, original))
            stack.callback(_restore, owner, name, original)
        yield


def _restore(owner: Any, name: str, original: Any) -> None:
    if owner is SEALER:
        delattr(owner, name)  # the instance attribute goes; the method is there again
    else:
        setattr(owner, name, original)


@contextmanager
def counting_statements(db: Database) -> Iterator[list[int]]:
    count = [0]

    def on_execute(*_: Any) -> None:
        count[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield count
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", on_execute)


# --------------------------------------------------------------------------- one database
def stats(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return {"median": statistics.median(ordered), "p90": p90, "n": len(ordered)}


@dataclass(frozen=True)
class Repetition:
    close: Timing
    bare: Timing
    statements: int  # sent by the close
    setup_s: float
    checks: dict[str, bool]
    cells: tuple[int, int]  # (stored by the close, written by the baseline)


@dataclass
class Bench:
    """What every repetition on one database shares."""

    db: Database
    bank: ContentBank
    team_id: int
    people: Sequence[Voter]
    rng: random.Random
    settle: bool
    history: list[list[str]] = field(default_factory=list)
    seq: int = 0


async def one_repetition(bench: Bench, close_first: bool) -> Repetition:
    """Fresh data, then the close and the baseline on it, in the order given."""
    db = bench.db
    bench.seq += 1
    start = time.perf_counter()
    data = await new_round(
        db, bench.bank, bench.team_id, bench.people, bench.seq, bench.history, bench.rng
    )
    if bench.settle:
        await settled(db)
    setup = time.perf_counter() - start
    close = bare = None
    statements = 0
    for which in ("close", "bare") if close_first else ("bare", "close"):
        gc.collect()  # a collection inside one timed call and not the other is noise
        if which == "close":
            close, frozen, statements = await timed_close(db, bench.team_id, data.round_id)
            assert frozen == 1, f"the close froze {frozen} units"
        else:
            bare = await timed_bare(db, data.round_id)
    assert close is not None and bare is not None
    checks, cells = await check(db, data)
    return Repetition(close, bare, statements, setup, checks, cells)


async def analyze(db: Database) -> None:
    """PostgreSQL: statistics on the tables the warm-up filled (what autovacuum would do)."""
    if db.is_sqlite:
        return
    async with db.engine.connect() as connection:
        auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("ANALYZE"))


async def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    db, name = await fresh_database(kind, args.postgres_url)
    spent: dict[str, float] = {}
    reps: list[Repetition] = []
    try:
        await migrated(db)
        rng = random.Random(args.seed)
        team_id = await make_team(db, args.members, rng)
        bench = Bench(db, load_bank(), team_id, await voters(db, team_id), rng, args.settle)
        for n in range(args.warmup):  # compiled statements, caches, the pool: warm
            await one_repetition(bench, close_first=n % 2 == 0)
        await analyze(db)
        with wrapped_parts(spent):
            for n in range(args.reps):
                reps.append(await one_repetition(bench, close_first=n % 2 == 0))
        report = summarise(kind, reps, spent)
    finally:
        await db.dispose()
        if not args.keep:
            await drop_database(kind, args.postgres_url, name)
    report["wall_s"] = time.perf_counter() - start
    report["database_name"] = name
    return report


def summarise(kind: str, reps: Sequence[Repetition], spent: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {"database": kind, "reps": len(reps)}
    for label in ("close", "bare"):
        series = [getattr(r, label) for r in reps]
        out[label] = {
            "work": stats([t.work_ms for t in series]),
            "total": stats([t.total_ms for t in series]),
        }
    for part in ("work", "total"):
        c, b = out["close"][part], out["bare"][part]
        out[f"ratio_{part}"] = c["median"] / b["median"]
        out[f"ratio_{part}_p90"] = c["p90"] / b["p90"]
    out["statements_per_close"] = statistics.mean(r.statements for r in reps)
    out["setup_s_per_round"] = statistics.mean(r.setup_s for r in reps)
    out["parts_ms"] = {label: ms / len(reps) for label, ms in spent.items()}
    out["failed_checks"] = {name: sum(not r.checks[name] for r in reps) for name in reps[0].checks}
    out["cells_stored"] = statistics.mean(r.cells[0] for r in reps)
    out["cells_bare"] = statistics.mean(r.cells[1] for r in reps)
    return out


# --------------------------------------------------------------------------- report
def machine(pg_version: str | None) -> dict[str, Any]:
    import sqlalchemy

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "sqlalchemy": sqlalchemy.__version__,
    }


def print_report(result: dict[str, Any]) -> None:
    m, a = result["machine"], result["args"]
    print()
    print(
        f"machine: {m['nproc']} CPU ({m['cpu']}), load {m['loadavg'][0]:.2f} at the start, "
        f"Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, "
        f"SQLAlchemy {m['sqlalchemy']}"
    )
    print(
        f"data: one team of {a['members']} members, every one answering; each repetition a "
        f"fresh round; {a['reps']} timed repetitions after {a['warmup']} untimed, the order "
        "of the two calls alternating (ms; ratios are of medians, and of p90s)"
    )
    for db in result["databases"]:
        print()
        print(
            f"=== {db['database']}: {db['statements_per_close']:.0f} statements per close; "
            f"{db['cells_stored']:.1f} cells stored per close (generalised), "
            f"{db['cells_bare']:.1f} by the baseline; "
            f"{db['setup_s_per_round']:.2f} s to open and fill each round (untimed"
            f"{', VACUUM or checkpoint included' if a['settle'] else ', not settled'}); "
            f"{db['wall_s']:.0f} s in all"
        )
        print(f"  {'':<6} {'work':>17} {'COMMIT included':>21}")
        print(f"  {'':<6} {'median':>8} {'p90':>8} {'median':>10} {'p90':>10}")
        for label in ("close", "bare"):
            w, t = db[label]["work"], db[label]["total"]
            print(
                f"  {label:<6} {w['median']:>8.2f} {w['p90']:>8.2f} "
                f"{t['median']:>10.2f} {t['p90']:>10.2f}"
            )
        print(
            f"  {'ratio':<6} {db['ratio_work']:>8.2f} {db['ratio_work_p90']:>8.2f} "
            f"{db['ratio_total']:>10.2f} {db['ratio_total_p90']:>10.2f}"
        )
        parts = db["parts_ms"]
        print(
            "  the close, mean ms per close by what it calls (sealer.open is inside take_ballots):"
        )
        print("    " + ", ".join(f"{label} {ms:.2f}" for label, ms in parts.items()))
        failed = {k: v for k, v in db["failed_checks"].items() if v}
        print(
            "  checks (cells = baseline's cells generalised, nothing left sealed, every open "
            f"answer written): {'all passed' if not failed else f'FAILED {failed}'}"
        )


# --------------------------------------------------------------------------- main
def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.close_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--members", type=int, default=200, help="members, all answering")
    parser.add_argument("--reps", type=int, help="timed repetitions (default 30; quick 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed repetitions first")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="10 repetitions")
    parser.add_argument(
        "--no-settle",
        dest="settle",
        action="store_false",
        help="close right after the ballots, without the VACUUM / checkpoint of open days",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL, help="an admin URL")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (bench/out/, PostgreSQL's)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures there")
    args = parser.parse_args(argv)
    args.reps = args.reps or (10 if args.quick else 30)
    return args


async def main(args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    pg_version = await postgres_version(args.postgres_url)
    result: dict[str, Any] = {
        "machine": machine(pg_version),
        "args": {k: v for k, v in vars(args).items() if k not in ("json", "postgres_url")},
        "databases": [],
    }
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        if kind == "postgresql" and pg_version is None:
            print(f"  [postgresql] not reachable at {args.postgres_url}: skipped", flush=True)
            continue
        report = await run_database(kind, args)
        print(
            f"  [{kind}] close {report['close']['total']['median']:.2f} ms, bare "
            f"{report['bare']['total']['median']:.2f} ms (COMMIT included), ratio "
            f"{report['ratio_total']:.2f} ({report['wall_s']:.0f} s)",
            flush=True,
        )
        result["databases"].append(report)
    result["wall_s"] = time.perf_counter() - start
    return result


def cli(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(main(args))
    print_report(result)
    print(f"\nwall time {result['wall_s']:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    target = args.json or OUT / ("close_bench_quick.json" if args.quick else "close_bench.json")
    target.write_text(json.dumps(result, indent=1, default=str))
    print(f"figures written to {target}")


if __name__ == "__main__":
    cli()
