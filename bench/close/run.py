"""One database of the close bench: the team, untimed warm-up repetitions, then the timed
ones (each on a fresh round, the close and the baseline in alternating order, the close's
parts wrapped), summed up as figures and ratios."""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.close.data import Voter, make_team, migrated, new_round, voters
from bench.close.probes import Timing, check, timed_bare, timed_close, wrapped_parts
from bench.harness.databases import OUT, Scratch, analyze, settle, unique_name
from bench.harness.figures import stats
from dialogs.content import ContentBank, load_bank
from storage.database import Database

SQLITE_FILE = OUT / "close_bench.sqlite"
# What autovacuum would have cleaned while the round was open: the ledger, the sealed
# ballots, the baseline's rows.
SETTLED_TABLES = ("participation", "sealed", "bench_ballots")


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
        # What the server would have done in the three days a round is open. PostgreSQL:
        # autovacuum (each ballot rewrites every ledger row of the round, so 200 ballots leave
        # 40,000 dead ledger rows the close's `lock_ledger` would otherwise scan); SQLite: the
        # WAL checkpoint `storage.maintenance` runs.
        await settle(db, SETTLED_TABLES)
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


async def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    scratch = Scratch(kind, args.postgres_url, SQLITE_FILE, unique_name("passerelle_close_bench"))
    db = await scratch.open()
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
            await scratch.drop()
    report["wall_s"] = time.perf_counter() - start
    report["database_name"] = scratch.name
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
