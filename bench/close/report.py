"""The close bench's printout: the machine, the data, and per database the close's and the
baseline's medians and p90s (work, and COMMIT included), their ratios, where the close spends
its time, and the checks."""

from __future__ import annotations

from typing import Any


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
