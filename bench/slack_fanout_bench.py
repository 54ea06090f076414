"""A fan-out against a FakeSlack whose limits the sender is not told, with 1 or 2 workers.

    .venv/bin/python -m bench.slack_fanout_bench [--scenario workspace|channel|both]
        [--members 2000] [--processes 1|2] [--workspace-rate 8] [--workspace-burst 8]
        [--channel-rate 1] [--channel-burst 3] [--channels 4] [--posts 60] [--sqlite]

The FakeSlack enforces hidden token buckets on chat.postMessage (tests/fake_slack/limits.py
`hidden_limit`): `workspace` one per workspace (``--workspace-rate`` a second, ``--workspace-burst``
at once), `channel` one per channel (``--channel-rate``, ``--channel-burst``), `both` the two
together. Beyond them it answers 429 with Retry-After. The sender starts from its defaults
(adapters/slack/sender.py) and learns the limit from those answers, through the pace shared in
the database (adapters/pacing.py, storage/send_paces.py).

Work: a check-in round to ``--members`` members (one DM each; `workspace`, `both`) and, for
`channel` and `both`, ``--posts`` posts to each of ``--channels`` channels queued in the outbox.
``--processes 2`` runs two OutboxWorkers, each with its own database engine, its own Slack
sender and its own pacer (what two processes hold), on one PostgreSQL (a fresh database per
run); ``--sqlite`` runs one worker on a SQLite file instead.

The bound: the fastest the hidden limits allow, (calls - burst) / rate for the workspace
bucket, (posts - burst) / rate for each channel's, the larger of the two. Printed: wall time,
its ratio to the bound, 429s as a share of calls, duplicates and misses. Figures, not
assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time

from adapters.slack.platform import SLACK
from bench.harness.databases import default_postgres_url, postgres_database
from bench.harness.machine import machine_line
from bench.harness.slack_team import SLUG, ShiftedClock, fresh_database, seed_team, settings
from bot.outbox_worker import LANES, OutboxWorker
from bot.server import build_app
from dialogs.cards import Card, Paragraph
from dialogs.engine import Engine
from storage import outbox
from storage.database import Database
from storage.sealing import Sealer
from tests.fake_slack import Call, FakeSlack
from tests.slack_signing import TEAM_ID

POST = "chat.postMessage"


async def queue_posts(
    database: Database, channels: list[str], posts: int, now: dt.datetime
) -> None:
    async with database.session() as session, session.begin():
        for n in range(posts):
            for channel in channels:
                card = Card(title=f"post {n}", blocks=[Paragraph(text=f"{channel} {n}")])
                await outbox.enqueue(
                    session,
                    idem_key=f"post:{channel}:{n}",
                    envelope=outbox.Envelope("slack", TEAM_ID, "channel", channel),
                    payload=card.model_dump(mode="json"),
                    not_before=now,
                )


async def run(args: argparse.Namespace, url: str | None) -> None:
    clock = ShiftedClock()
    database = await fresh_database("slack_fanout_bench", url)
    sealer = Sealer.ephemeral()  # one key for every worker: the same conversation scopes
    dms = args.scenario in ("workspace", "both")
    channels = [f"C0POST{n}" for n in range(args.channels)] if args.scenario != "workspace" else []
    async with FakeSlack() as slack:
        engine = Engine(database, clock=clock, sealer=sealer)
        refs = await seed_team(engine, slack, args.members if dms else 1)
        for channel in channels:
            slack.add_channel(channel, channel.lower(), members=refs[:1])
        if args.scenario in ("workspace", "both"):
            slack.hidden_limit(POST, args.workspace_rate, burst=args.workspace_burst)
        if args.scenario in ("channel", "both"):
            slack.hidden_limit(POST, args.channel_rate, burst=args.channel_burst, per_channel=True)
        if dms:
            result = await engine.jobs.run("checkin", SLUG)
            print(f"round opened: {result.message} count {result.count}", flush=True)
        await queue_posts(database, channels, args.posts, clock())
        databases = [database] + [Database(database.url) for _ in range(args.processes - 1)]
        workers = []
        for n, own in enumerate(databases):
            app = build_app(settings(slack), own, Engine(own, clock=clock, sealer=sealer))
            sender = app[SLACK].sender
            workers.append(
                OutboxWorker(own, {"slack": sender}, clock=clock, name=f"bench-{n}", lanes=LANES)
            )
        async with database.session() as session:
            queued = (await outbox.counts(session)).get("pending", 0)
        done = asyncio.Event()

        async def drive(worker: OutboxWorker) -> None:
            # As the server's loop (run_forever): lanes claim again as they free up.
            while not done.is_set():
                if not await worker.drain():
                    await asyncio.sleep(0.05)

        async def watch() -> None:
            last = time.perf_counter()
            while True:
                async with database.session() as session:
                    counts = await outbox.counts(session)
                if not counts.get("pending") and not counts.get("sending"):
                    break
                await asyncio.sleep(0.25)
                if time.perf_counter() - last > 10:
                    last = time.perf_counter()
                    print(
                        f"  t={time.perf_counter() - started:5.1f}s sent {counts.get('sent', 0)}"
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
        for own in databases[1:]:
            await own.dispose()
        await database.dispose()

    posted = [c for c in slack.calls_to(POST) if c.ok]
    rejected = len(slack.rejected_calls_to(POST))

    def target(call: Call) -> str:
        channel = str(call.params["channel"])
        if channel in slack.users:
            return channel
        owner = slack.channels[channel].user
        return owner or f"{channel}:{call.params.get('text')}"

    per_target = collections.Counter(target(c) for c in posted)
    expected = ([*refs] if dms else []) + [
        f"{c}:post {n}" for c in channels for n in range(args.posts)
    ]
    duplicates = sum(1 for key in expected if per_target[key] > 1)
    misses = sum(1 for key in expected if per_target[key] == 0)
    total = len(posted) + rejected
    bounds = []
    if args.scenario in ("workspace", "both"):
        bounds.append(max(0, len(expected) - args.workspace_burst) / args.workspace_rate)
    if channels:
        bounds.append(max(0, args.posts - args.channel_burst) / args.channel_rate)
    bound = max(bounds)
    ratio = wall / bound if bound else float("inf")
    met = ratio <= 1.2 and rejected <= 0.02 * total and not duplicates and not misses
    print(
        f"scenario {args.scenario}; processes {args.processes}; database"
        f" {'sqlite' if url is None else 'postgresql'}; messages {queued}"
        f" ({len(refs) if dms else 0} DMs, {len(channels)} channels x {args.posts} posts);"
        f" hidden limits: workspace {args.workspace_rate:g}/s burst {args.workspace_burst}"
        f" {'on' if args.scenario != 'channel' else 'off'}, channel {args.channel_rate:g}/s"
        f" burst {args.channel_burst} {'on' if channels else 'off'}"
    )
    print(
        f"posted {len(posted)}; 429s {rejected} ({100 * rejected / max(1, total):.2f}% of"
        f" {total} calls); duplicates {duplicates}; misses {misses}; outbox {counts}"
    )
    print(
        f"wall {wall:.1f} s; bound {bound:.1f} s; ratio {ratio:.3f}; achieved"
        f" {len(posted) / wall:.2f} msg/s -> aim (1.2x, <2% 429s, 0 dup, 0 miss)"
        f" {'MET' if met else 'NOT MET'}",
        flush=True,
    )


async def main_async(args: argparse.Namespace) -> None:
    if args.sqlite:
        if args.processes != 1:
            raise SystemExit("two workers need PostgreSQL")
        await run(args, None)
        return
    async with postgres_database(args.postgres, "passerelle_slack_bench", 10) as url:
        await run(args, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("workspace", "channel", "both"), default="both")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1)
    parser.add_argument("--workspace-rate", type=float, default=8.0)
    parser.add_argument("--workspace-burst", type=int, default=8)
    parser.add_argument("--channel-rate", type=float, default=1.0)
    parser.add_argument("--channel-burst", type=int, default=3)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument("--sqlite", action="store_true", help="one worker on a SQLite file")
    parser.add_argument("--postgres", default=default_postgres_url("test"))
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {machine_line()}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
