"""A check-in round fanned out to N members against a FakeSlack that enforces a rate limit.

    .venv/bin/python -m bench.slack_fanout_bench [--members 2000] [--per-minute 2400]
        [--window 5] [--workers 1] [--no-pace] [--pace-factor 1.0] [--quick]

A team of ``--members`` members on Slack (users and DMs created in the FakeSlack, members
written straight into a SQLite file database under bench/out/, onboarded); the FakeSlack
limits chat.postMessage and conversations.open each to ``--per-minute`` calls in any sliding
window of ``--window`` seconds (scaled: per_minute * window / 60 calls per window), answering
HTTP 429 with Retry-After beyond. The sender paces itself (``adapters.slack.sender.Pace``,
per workspace and method) to that limit (``--pace-factor`` times it; ``--no-pace`` for none),
and posts each DM to the member's user id: one call per DM, no conversations.open.
``engine.jobs.run("checkin", slug)`` queues one DM per member; then ``--workers`` real
``OutboxWorker``s with the real Slack sender (through ``bot.server.build_app``'s wiring)
drain the outbox until every row is sent (or failed).

The bound: the first window's calls at once, then a window's worth every window, so
``ceil((N - per_window) / per_window) * window`` (for 2,000 members at 200 per 5 s, 45 s, the
same as ``(N - burst) / rate``). Printed: wall time of the drain, its ratio to the
bound, 429s met, duplicates (a member with more than one DM) and misses (a member without).
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import math
import time

from adapters.slack.sender import Pace
from bench.slack_ack_bench import (
    SLUG,
    ShiftedClock,
    fresh_database,
    machine,
    seed_team,
    settings,
)
from bot.outbox_worker import OutboxWorker
from bot.server import SLACK, build_app
from dialogs.engine import Engine
from storage import outbox
from tests.fake_slack import FakeSlack


async def run(args: argparse.Namespace) -> None:
    clock = ShiftedClock()
    database = await fresh_database("slack_fanout_bench")
    async with FakeSlack() as slack:
        engine = Engine(database, clock=clock)
        refs = await seed_team(engine, slack, args.members)
        app = build_app(settings(slack), database, engine)
        sender = app[SLACK].sender
        per_window = max(1, round(args.per_minute * args.window / 60))
        rate = args.per_minute / 60
        for method in ("chat.postMessage", "conversations.open"):
            slack.rate_limit(method, per_window, window_seconds=args.window)
        if args.pace:
            # The sender's own pace set to the limit the fake enforces, as one would set it to
            # a workspace's known limit.
            pace = Pace(calls=max(1, round(per_window * args.pace_factor)), seconds=args.window)
            sender.paces = {"chat.postMessage": pace, "conversations.open": pace}
        else:
            sender.paces = {}
        result = await engine.jobs.run("checkin", SLUG)
        print(f"round opened: {result.message} count {result.count}", flush=True)
        workers = [
            OutboxWorker(database, {"slack": sender}, clock=clock, name=f"bench-{n}")
            for n in range(args.workers)
        ]

        async def pending() -> int:
            async with database.session() as session:
                counts = await outbox.counts(session)
            return counts.get("pending", 0)

        done = asyncio.Event()

        async def drive(worker: OutboxWorker) -> None:
            while not done.is_set():
                if not await worker.drain_once():
                    await asyncio.sleep(0.05)

        async def watch() -> None:
            last = time.perf_counter()
            while await pending():
                await asyncio.sleep(0.25)
                if time.perf_counter() - last > 5:
                    last = time.perf_counter()
                    sent = len(slack.calls_to("chat.postMessage"))
                    print(
                        f"  t={time.perf_counter() - started:5.1f}s sent {sent}"
                        f" 429s {len(slack.rejected)}",
                        flush=True,
                    )
            done.set()

        started = time.perf_counter()
        tasks = [asyncio.create_task(drive(w)) for w in workers]
        await asyncio.wait_for(watch(), timeout=args.timeout)
        wall = time.perf_counter() - started
        await asyncio.gather(*tasks)
        async with database.session() as session:
            counts = await outbox.counts(session)

    posted = [c for c in slack.calls_to("chat.postMessage") if c.ok]

    def member(channel: str) -> str | None:  # a user id posts into that person's DM
        return channel if channel in slack.users else slack.channels[channel].user

    per_member = collections.Counter(member(str(c.params["channel"])) for c in posted)
    duplicates = sum(1 for ref in refs if per_member[ref] > 1)
    misses = sum(1 for ref in refs if per_member[ref] == 0)
    rejected = collections.Counter(c.method for c in slack.rejected)
    retry_afters = collections.Counter(c.retry_after for c in slack.rejected)
    opened = slack.calls_to("conversations.open")
    # The fastest the limit allows: a window's worth at once, then a window's worth each window
    # (for 2,000 members and 200 per 5 s: 9 windows, 45 s, which is also (N - burst) / rate).
    bound = math.ceil(max(0, args.members - per_window) / per_window) * args.window
    met = wall / bound <= 1.15 and not duplicates and not misses
    first = min(c.at for c in posted)
    last = max(c.at for c in posted)
    print(
        f"members {args.members}; limit {args.per_minute}/min ({per_window} per {args.window:g} s"
        f" window) on chat.postMessage and on conversations.open; workers {args.workers};"
        f" client pace {f'the limit x {args.pace_factor:g}' if args.pace else 'none'}"
    )
    print(
        f"DMs posted {len(posted)}; members with a DM {len(per_member)}; duplicates {duplicates};"
        f" misses {misses}; outbox {counts}"
    )
    print(
        f"429s {sum(rejected.values())} by method {dict(rejected)}; Retry-After values"
        f" {dict(retry_afters)}; conversations.open calls {len(opened)}"
    )
    print(
        f"drain wall {wall:.1f} s (first post to last {last - first:.1f} s); bound"
        f" {bound:.1f} s (a window's worth per window after the first); ratio {wall / bound:.3f}"
        f" -> aim 1.15x {'MET' if met else 'NOT MET'}"
    )
    print(f"achieved {len(posted) / wall:.1f} msg/s against a limit of {rate:.1f} msg/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--per-minute", type=int, default=2400)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--no-pace",
        dest="pace",
        action="store_false",
        help="no client-side pace (the sender sends as fast as it can, like before)",
    )
    parser.add_argument(
        "--pace-factor",
        type=float,
        default=1.0,
        help="the sender's pace as a fraction of the fake's limit (default 1.0: the limit)",
    )
    parser.add_argument("--quick", action="store_true", help="300 members")
    args = parser.parse_args()
    if args.quick:
        args.members = 300
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {machine()}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
