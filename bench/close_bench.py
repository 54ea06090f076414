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
3. Each repetition has fresh data: a new check-in round
   (`dialogs.checkins.round_store.open_round`, items from the real
   `dialogs.checkins.rounds.draw_items`: 5 items and an open question), every member's ballot
   recorded by the real `dialogs.checkins.ballot_store.record_ballot` (sealed, ledger marked;
   about 5% of items "prefer not to answer", an open answer on about 30% of ballots), and the same
   ballots' item values written in the clear to `bench_ballots`; then what the server would
   have done while the round was open (PostgreSQL: VACUUM ANALYZE of the ledger, the sealed
   ballots and the baseline's rows; SQLite: a WAL checkpoint; `--no-settle` skips it). None of
   that is timed.
4. Then, in an order that alternates from one repetition to the next, each timed on a session
   whose connection is already checked out and in a transaction:
   - `close`: what the close job does, in one transaction —
     `dialogs.checkins.round_store.close_round` (count and erase the ledger) and
     `dialogs.checkins.results.freeze_new_units` (open the sealed ballots, aggregate,
     generalise, store the unit and its cells, write the open answers shuffled, delete the
     sealed ballots), then COMMIT;
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

Performance is reported as figures and ratios measured in the same run, never asserted. The
parts live in bench/close/ (one job a module), what every bench shares in bench/harness/.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.close.report import print_report
from bench.close.run import run_database
from bench.harness.databases import KINDS, default_postgres_url
from bench.harness.runner import per_database, write_figures


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.close_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--members", type=int, default=200, help="members, all answering")
    parser.add_argument("--reps", type=int, help="timed repetitions (default 30; quick 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed repetitions first")
    parser.add_argument("--database", choices=KINDS, default="both")
    parser.add_argument("--quick", action="store_true", help="10 repetitions")
    parser.add_argument(
        "--no-settle",
        dest="settle",
        action="store_false",
        help="close right after the ballots, without the VACUUM / checkpoint of open days",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--postgres-url", default=default_postgres_url("test"), help="an admin URL")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (bench/out/, PostgreSQL's)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures there")
    args = parser.parse_args(argv)
    args.reps = args.reps or (10 if args.quick else 30)
    return args


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async def one(kind: str) -> dict[str, Any]:
        report = await run_database(kind, args)
        print(
            f"  [{kind}] close {report['close']['total']['median']:.2f} ms, bare "
            f"{report['bare']['total']['median']:.2f} ms (COMMIT included), ratio "
            f"{report['ratio_total']:.2f} ({report['wall_s']:.0f} s)",
            flush=True,
        )
        return report

    return await per_database(args, one)


def cli(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(main(args))
    print_report(result)
    print(f"\nwall time {result['wall_s']:.0f} s")
    write_figures(result, args.json, "close_bench_quick.json" if args.quick else "close_bench.json")


if __name__ == "__main__":
    cli()
