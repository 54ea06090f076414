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
   - sealed, as `dialogs.checkins.ballot_store.record_ballot` seals it (same payload, same
     purpose, one row of `sealed` per ballot, under an ephemeral `Sealer`), for the close job
     to freeze;
   - in the clear, one row per answer, in `bench_answers`: a table the bench creates itself
     with the columns and index of the `answers` table that Passerelle no longer has
     (migration 0005 dropped it). It exists only for the baseline: nothing in dialogs/ or
     storage/ reads it.
3. After each fill, freezes every team's new units as the close job does
   (`dialogs.checkins.results.freeze_new_units`: open the sealed ballots, aggregate,
   generalise, store the cells and the open answers, delete the ballots; one transaction per
   team), timed as a whole and per unit frozen; then, for a sample of teams, one freeze
   (`dialogs.checkins.results.freeze_unit` of the latest check-in unit, its ballots sealed
   again, rolled back) against the bare GROUP BY over the same rows of `bench_answers`.
4. For the same sample: `dialogs.summaries.pulse.compute` (read-only) against the bare
   `SELECT dimension, value, count(*) FROM bench_answers WHERE round_id IN (...) GROUP BY 1, 2`
   over the rounds of exactly the units compute() shows — the same statement over the same
   rows as the bare query of the earlier runs over `answers` — and a `SELECT 1` floor. Median
   and p90 per call; ratios of medians; where compute() spends its time, call by call; a check
   that the frozen cells compute() reads count the same answers as the bare query (except the
   dimensions of a unit under k, which the generalised cells hold empty).
5. Memory: tracemalloc peak during one compute() call, and the RSS of a fresh process that only
   computes summaries (a subprocess, so the fill does not pollute it), at each step.
6. At the last step: `dialogs.summaries.charts.pulse_chart` (rendering, not SQL), EXPLAIN plans
   of the statements compute() really sends (captured, rendered with that call's values), and one
   labelled EXPERIMENT, a measurement only (nothing in dialogs/ or storage/ is replaced): in the
   same interleaved pass, compute() against its own captured statements replayed with their
   rows fetched and nothing built, and against as many `SELECT 1` — which splits compute()'s
   time into round trips, the statements' own work, and building the summary in Python.

Performance is reported as figures and ratios measured in the same run, never asserted. The
parts live in bench/summary/ (one job a module), what every bench shares in bench/harness/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness.databases import KINDS, default_postgres_url
from bench.harness.runner import per_database, write_figures
from bench.summary.memory import probe
from bench.summary.plan import ROUNDS, make_plan
from bench.summary.report import print_report
from bench.summary.run import run_database


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.summary_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--answers", type=int)
    parser.add_argument("--teams", type=int)
    parser.add_argument("--database", choices=KINDS, default="both")
    parser.add_argument("--quick", action="store_true", help="200k answers, 100 teams, fewer calls")
    parser.add_argument("--sample", type=int, help="teams timed (default 20; quick 10)")
    parser.add_argument(
        "--reps", type=int, help="timed calls per team and query (default 25; quick 5)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--postgres-url",
        default=default_postgres_url("postgres"),
        help="an admin URL (any database)",
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
    return await per_database(args, lambda kind: run_database(kind, args, plan), start)


def cli(argv: Sequence[str] | None = None) -> None:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["--rss-probe"]:
        url, team_ids, today = raw[1], raw[2], raw[3]
        ids = [int(i) for i in team_ids.split(",")]
        print(json.dumps(asyncio.run(probe(url, ids, dt.date.fromisoformat(today)))))
        return
    args = parse(raw)
    result = asyncio.run(main(args))
    print_report(result)
    print(
        f"\nwall time {result['wall_s']:.0f}s; peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (fill included)"
    )
    write_figures(
        result, args.json, "summary_bench_quick.json" if args.quick else "summary_bench.json"
    )


if __name__ == "__main__":
    cli()
