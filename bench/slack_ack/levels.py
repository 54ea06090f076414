"""One run of the ack bench on one database: Passerelle and the two bare Bolt apps served in
this process, the FakeSlack in a child process, and per level and kind the same burst of
requests to each app in turn (the order rotating from level to level), the work after
Passerelle's acks awaited and measured."""

from __future__ import annotations

import argparse
import gc
import time
from dataclasses import dataclass, field

import aiohttp

from adapters.slack.platform import SLACK
from adapters.slack.routes import EVENTS_PATH
from bench.harness.databases import postgres_database
from bench.harness.figures import percentile
from bench.harness.http_load import load, serve
from bench.harness.remote_slack import RemoteSlack
from bench.harness.slack_team import ShiftedClock, fresh_database, round_card, seed_team, settings
from bench.slack_ack.apps import BARE, INLINE, bare_app
from bench.slack_ack.workload import answered, clicks, open_round, submissions
from bot.server import build_app
from dialogs.engine import Engine


@dataclass
class Level:
    database: str
    app: str
    kind: str
    concurrency: int
    latencies: list[float]
    wall: float
    statuses: dict[int, int]
    bad: int
    thanked: list[float] = field(default_factory=list)  # ack -> views.update, s

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def thanked_p50(self) -> float:
        return percentile(self.thanked, 50)

    @property
    def thanked_p99(self) -> float:
        return percentile(self.thanked, 99)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99) * 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else float("nan")


async def run_on(args: argparse.Namespace, label: str, url: str | None) -> list[Level]:
    levels = [int(c) for c in args.levels.split(",")]
    kinds = ["view_submission", "block_actions"] if args.kind == "both" else [args.kind]
    results: list[Level] = []
    clock = ShiftedClock()
    database = await fresh_database("slack_ack_bench", url)
    slack = RemoteSlack()
    try:
        # Trigger ids are made when the bodies are built, before a level starts: a level of
        # 500 clicks at concurrency 1 lasts longer than Slack's 3 s, so views.open after the
        # ack would be refused as expired (the ack itself does not depend on it).
        slack.set("trigger_ttl", 3600.0)
        engine = Engine(database, clock=clock)
        refs = await seed_team(engine, slack, args.requests)
        app = build_app(settings(slack), database, engine)
        bridge = app[SLACK]
        runner, passerelle = await serve(app)
        bare_runner, bare = await serve(bare_app(slack))
        inline_runner, inline = await serve(bare_app(slack, inline=True))
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            # warm both apps (Bolt's first-request work, users.info cache is NOT warmed)
            round_id = await open_round(engine, clock)
            card = await round_card(engine, round_id)
            for url_ in (passerelle, bare, inline):
                warm, _ = submissions(bridge, slack, card, refs[:1])
                await load(http, url_ + EVENTS_PATH, warm, 1)
            await bridge.settle()
            if args.gc_freeze:
                # What a server can do once started: move everything alive (modules, metadata,
                # the seeded data) out of the collector's sight, so that a full collection
                # scans only what was made since; see docs/performance.md (Slack).
                gc.collect()
                gc.freeze()
            for index, concurrency in enumerate(levels):
                for kind in kinds:
                    round_id = await open_round(engine, clock)
                    card = await round_card(engine, round_id)
                    order = [("passerelle", passerelle), (BARE, bare), (INLINE, inline)]
                    # each app first, second and third in turn
                    order = order[index % 3 :] + order[: index % 3]
                    for name, url_ in order:
                        if kind == "view_submission":
                            bodies, view_ids = submissions(bridge, slack, card, refs)
                        else:
                            bodies, view_ids = clicks(bridge, slack, card, refs), []
                        before = slack.calls_count()
                        commits = bridge.intake.commits
                        done = await load(http, url_ + EVENTS_PATH, bodies, concurrency)
                        statuses, bad = done.statuses, done.bad
                        level = Level(
                            label, name, kind, concurrency, done.latencies, done.wall, statuses, bad
                        )
                        results.append(level)
                        extra = ""
                        if name == "passerelle":
                            settle_started = time.perf_counter()
                            await bridge.settle()
                            after = time.perf_counter() - settle_started
                            if kind == "view_submission":
                                updated = slack.updated_at(before)
                                level.thanked = [
                                    updated[view_id] - acked
                                    for view_id, acked in zip(view_ids, done.acked_at, strict=True)
                                    if view_id in updated
                                ]
                                extra = (
                                    f" intake commits {bridge.intake.commits - commits};"
                                    f" ballots recorded {await answered(engine, round_id)}"
                                    f" views.update ok {slack.ok_calls('views.update', before)};"
                                    f" thanks shown after the ack: p50 {level.thanked_p50:.2f} s"
                                    f" p99 {level.thanked_p99:.2f} s"
                                )
                            extra += (
                                f" web-api calls after acks {slack.calls_count() - before};"
                                f" work after the last ack {after:.1f} s"
                            )
                        print(
                            f"  {label:10} {kind:15} c={concurrency:<3} {name:11}"
                            f" p50 {level.p50:7.1f} ms  p99 {level.p99:7.1f} ms"
                            f"  {level.throughput:7.1f} req/s  statuses {statuses} bad {bad}"
                            f"{extra}",
                            flush=True,
                        )
        await bare_runner.cleanup()
        await inline_runner.cleanup()
        await runner.cleanup()
    finally:
        slack.close()
    await database.dispose()
    return results


async def run(args: argparse.Namespace) -> list[Level]:
    results: list[Level] = []
    wanted = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for label in wanted:
        if label == "sqlite":
            results += await run_on(args, label, None)
            continue
        async with postgres_database(args.postgres_url, "passerelle_slack_bench", 10) as url:
            results += await run_on(args, label, url)
    return results
