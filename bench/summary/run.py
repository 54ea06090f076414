"""One database of the summary bench: migrations, then for each step of history the fill,
the close job's freezing and every measurement on the sampled teams; at the last step the
extras."""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from bench.harness.databases import OUT, Scratch, database_size_mib
from bench.summary.costs import breakdown, cost_split
from bench.summary.fill import create_bench_answers, fill
from bench.summary.freezing import freeze_all, freeze_times
from bench.summary.memory import measure_tracemalloc, rss_probe
from bench.summary.plan import STEPS, Plan
from bench.summary.plans import chart_times, explain
from bench.summary.reading import compute_calls, rows_read, same_rows_check, shown_rounds
from bench.summary.timing import load_teams, measure_times
from storage import migrate

SQLITE_FILE = OUT / "summary_bench.sqlite"
# One name, dropped first if a run left it: `--keep` keeps it to poke at.
PG_DATABASE = "passerelle_bench"


async def run_database(kind: str, args: argparse.Namespace, plan: Plan) -> dict[str, Any]:
    report: dict[str, Any] = {"database": kind, "steps": []}
    scratch = Scratch(kind, args.postgres_url, SQLITE_FILE, PG_DATABASE)
    db = await scratch.open()
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
        report["size_mib"] = await database_size_mib(db)
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
            await scratch.drop()
    return report
