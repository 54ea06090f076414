"""The ack bench's table: per database, kind and level, Passerelle's p50/p99 and throughput
beside the two baselines', their ratios, the thanks' delays, and the aim at 50 in flight."""

from __future__ import annotations

from bench.slack_ack.apps import BARE, INLINE
from bench.slack_ack.levels import Level


def report(results: list[Level]) -> None:
    print(
        f"\nP = passerelle, B = {BARE} (Bolt's default: it polls for the ack every 10 ms),"
        f" I = {INLINE} (process_before_response=True, as Passerelle); same run, same"
        " requests, same loop"
    )
    print(
        f"{'database':10} {'kind':15} {'c':>4} {'p50 P':>7} {'p50 B':>7} {'p50 I':>7}"
        f" {'p99 P':>7} {'p99 B':>7} {'p99 I':>7} {'P/B':>5} {'P/I':>5}"
        f" {'rps P':>6} {'rps B':>6} {'rps I':>6} {'thx50':>6} {'thx99':>6}"
    )
    by = {(r.database, r.app, r.kind, r.concurrency): r for r in results}
    for r in results:
        if r.app != "passerelle":
            continue
        b = by[(r.database, BARE, r.kind, r.concurrency)]
        i = by[(r.database, INLINE, r.kind, r.concurrency)]
        print(
            f"{r.database:10} {r.kind:15} {r.concurrency:>4} {r.p50:7.1f} {b.p50:7.1f}"
            f" {i.p50:7.1f} {r.p99:7.1f} {b.p99:7.1f} {i.p99:7.1f} {r.p99 / b.p99:5.2f}"
            f" {r.p99 / i.p99:5.2f} {r.throughput:6.0f} {b.throughput:6.0f} {i.throughput:6.0f}"
            f" {r.thanked_p50:6.2f} {r.thanked_p99:6.2f}"
        )
    print(
        "thx50/thx99: seconds from a submission's ack to the views.update that shows its"
        " thanks (its ballot recorded), Passerelle, view_submission"
    )
    for r in results:
        if r.app == "passerelle" and r.concurrency == 50:
            verdict = "MET" if r.p99 < 100 else "NOT MET"
            print(
                f"aim p99 < 100 ms at 50 concurrent ({r.database}, {r.kind}): {r.p99:.1f} ms"
                f" -> {verdict}"
            )
