"""The summary bench's printout: the machine and the data, then per database the freezing,
the single freeze, compute() against the bare query, the checks, the chart, the breakdown,
the plans and the EXPERIMENT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.summary.plan import ROUNDS, STEPS


def plan_lines(lines: Sequence[str], indent: str) -> None:
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
            "  (freeze: dialogs.checkins.results.freeze_unit: open the sealed ballots, aggregate, "
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
            plan_lines(lines, "   ")
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
