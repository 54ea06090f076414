"""Slack ack latency: the real Passerelle app against a bare Bolt app that only acks.

    .venv/bin/python -m bench.slack_ack_bench [--requests 500] [--levels 1,10,25,50,100]
        [--kind view_submission|block_actions|both] [--database sqlite|postgresql|both]
        [--postgres-url URL] [--gc-freeze] [--quick]

The three apps run in this process, each on its own aiohttp server on 127.0.0.1, mounted the
same way (a signed POST /slack/events turned into a Bolt request, the Bolt response into an
aiohttp one); the load generator (aiohttp, one keep-alive pool) shares their loop (in a child
process of its own it made the figures worse on a 2-CPU machine, where it then took turns with
the database and the fake for the second CPU). The FakeSlack Web API runs in a child process
(``RemoteSlack``): Slack's own work is not on our CPU in production, and in the same loop the
fake's JSON checks and copies were most of what the work after an ack cost.

- Passerelle: ``bot.server.build_app`` with Slack settings pointing at the FakeSlack, a SQLite
  file database under bench/out/ or a PostgreSQL database made for the run (``--database``:
  created with a unique name, dropped at the end), real migrations, one team of N members
  (written straight into the database, onboarded, so no welcome message is queued), a check-in
  round opened with ``engine.jobs.run("checkin", slug)``. Each level opens a new round, and
  each request is a different member submitting a valid check-in modal (every scale
  answered), a modal the FakeSlack holds (as if views.open had shown it).
- Baselines: two bare ``slack_bolt.AsyncApp`` (same signing secret) whose view_submission and
  block_actions listeners only ``ack()``: one with Bolt's default settings ("bare bolt"; its
  listener runner polls for the ack every 10 ms), one with ``process_before_response=True``
  ("bare inline"), which is how Passerelle runs its listeners (they ack, hand their work to a
  task and return).

view_submission: Passerelle checks a modal submission without the database, seals it and
COMMITS it to the intake with its de-duplication mark (group commit: every submission waiting
at that moment, rows and marks, in one transaction), and only then acks it with a neutral
"recording" view (``response_action: update``). The intake worker (2 rows at a time on SQLite,
4 on PostgreSQL, in the same loop as the acks, from the first commit on) records each ballot
(users.info, the engine, which deletes the intake row in the same transaction) and replaces
that view with the engine's reply (the thanks) by views.update. Printed after each level:
ballots recorded, views.update calls, the intake's transactions (group commits), and the
seconds from each submission's ack to the views.update showing its thanks (thx50, thx99), once
the work after the acks is done.
block_actions (the "open the form" button): Passerelle acks, then marks the delivery (the
marks waiting at that moment in one transaction), does users.info and views.open.

``--requests`` is the size of the burst: each level sends that many submissions, ``level`` at
a time. The recording is CPU-bound in the app's one loop (the engine's work per ballot), so
the thanks of a long burst (500) wait for the ballots acked before them; ``--requests 50
--levels 50`` is one burst of 50 submissions at once.

Per level: ``--requests`` requests with at most ``level`` in flight; latency from sending the
request to the full HTTP response (the ack); p50, p99, throughput; ratios Passerelle/baseline.
The order of the three apps rotates from level to level. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from bench.harness.databases import KINDS, default_postgres_url
from bench.harness.machine import machine_line
from bench.slack_ack.levels import run
from bench.slack_ack.report import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--levels", default="1,10,25,50,100")
    parser.add_argument(
        "--kind", choices=["view_submission", "block_actions", "both"], default="both"
    )
    parser.add_argument("--database", choices=list(KINDS), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=default_postgres_url("test"),
        help="an admin connection allowed to CREATE DATABASE (a database is made for the run)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after start-up (both apps share the process: a full collection"
        " otherwise pauses the loop 100-200 ms)",
    )
    parser.add_argument("--quick", action="store_true", help="100 requests per level")
    args = parser.parse_args()
    if args.quick:
        args.requests = 100
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {machine_line()}")
    print(
        f"{args.requests} requests per level; levels {args.levels}; database {args.database};"
        f" gc.freeze() after start-up: {'yes' if args.gc_freeze else 'no'};"
        " Passerelle acks view_submission once COMMITTED to the intake (a 'recording' view)"
        " with its mark, and records the ballot after; block_actions before any database work"
    )
    started = time.perf_counter()
    results = asyncio.run(run(args))
    report(results)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
