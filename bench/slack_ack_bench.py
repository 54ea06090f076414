"""Slack ack latency: the real Passerelle app against a bare Bolt app that only acks.

    .venv/bin/python -m bench.slack_ack_bench [--requests 500] [--levels 1,10,25,50,100]
        [--kind view_submission|block_actions|both] [--quick]

Both apps run in this process, each on its own aiohttp server on 127.0.0.1, mounted the same
way (a signed POST /slack/events turned into a Bolt request, the Bolt response into an aiohttp
one); the load generator (aiohttp, one keep-alive pool) and a FakeSlack Web API share the loop.

- Passerelle: ``bot.server.build_app`` with Slack settings pointing at the FakeSlack, a SQLite
  file database under bench/out/ (real migrations), one team of N members (written straight into
  the database, onboarded, so no welcome message is queued), a check-in round opened with
  ``engine.jobs.run("checkin", slug)``. Each level opens a new round, and each request is a
  different member submitting a valid check-in modal (every scale answered).
- Baseline: a bare ``slack_bolt.AsyncApp`` (same signing secret) whose view_submission and
  block_actions listeners only ``ack()``.

view_submission: Passerelle acks a modal submission with the engine's answer (Slack's
``response_action``), so its ack INCLUDES recording the ballot in the database; only the
"thanks" DM is posted after the ack. block_actions (the "open the form" button): Passerelle
acks first and works after (users.info, views.open), like the baseline.

Per level: ``--requests`` requests with at most ``level`` in flight; latency from sending the
request to the full HTTP response (the ack); p50, p99, throughput; ratios Passerelle/baseline.
The order of the two apps alternates from level to level. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import platform
import secrets
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.slack.app import CALLBACK_ID, SlackBridge
from adapters.slack.blocks import OPEN_FORM_ACTION, messages_for
from adapters.slack.routes import EVENTS_PATH
from bot.server import SLACK, build_app
from bot.settings import Settings
from dialogs.cards import Card
from dialogs.engine import Engine
from storage import migrate, rounds, teams
from storage.database import Database
from storage.models import Member, OutboxMessage
from tests.fake_slack import FakeSlack
from tests.slack_signing import (
    SIGNING_SECRET,
    TEAM_ID,
    action,
    block_actions,
    interaction,
    signed_headers,
    view_submission,
)

OUT = Path(__file__).resolve().parent / "out"
CHANNEL = "C0BENCH"
SLUG = "bench"
SECTORS = ("public", "community", "other")
POSITIONS = ("front_line", "manager")


class ShiftedClock:
    """Real time plus an offset the benchmark can move (a new round needs a new minute)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def user_ref(n: int) -> str:
    return f"U0B{n:06d}"


def _remove_old(path: Path) -> None:
    OUT.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


async def fresh_database(name: str) -> Database:
    path = OUT / f"{name}.sqlite"
    _remove_old(path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(database)
    return database


async def seed_team(engine: Engine, slack: FakeSlack, members: int) -> list[str]:
    """A team linked to a Slack channel, ``members`` onboarded members, users in the fake."""
    refs = [user_ref(n) for n in range(members)]
    for ref in refs:
        slack.add_user(ref, tz="America/Toronto", locale="en-US")
        slack.dm_id(ref)
    slack.add_channel(CHANNEL, "bench", members=refs)
    now = engine.clock()
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session,
            slug=SLUG,
            name="Bench",
            now=now,
            language="en",
            timezone="America/Toronto",
            quiet_start=0,  # no quiet hours: the round goes out whatever the time of the run
            quiet_end=0,
        )
        await teams.link_channel(session, team, "slack", TEAM_ID, CHANNEL, "bench")
        for n, ref in enumerate(refs):
            session.add(
                Member(
                    team_id=team.id,
                    platform="slack",
                    workspace=TEAM_ID,
                    user_ref=ref,
                    display_name=ref.lower(),
                    sector=SECTORS[n % 3],
                    position=POSITIONS[n % 2],
                    language="en",
                    timezone="America/Toronto",
                    is_coordinator=n == 0,
                    onboarded=True,
                )
            )
    return refs


def settings(slack: FakeSlack) -> Settings:
    env: dict[str, object] = {
        "PASSERELLE_SCHEDULER": False,
        "PASSERELLE_SANDBOX": False,
        **slack.env(),
    }
    return Settings(**env)  # type: ignore[arg-type]


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.python_implementation()} {platform.python_version()}, {cpus} CPU, " + (
        platform.platform()
    )


# --------------------------------------------------------------------------- the ack bench
@dataclass
class Level:
    app: str
    kind: str
    concurrency: int
    latencies: list[float]
    wall: float
    statuses: dict[int, int]
    bad: int

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99) * 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else float("nan")


def bare_app(slack: FakeSlack) -> web.Application:
    """A Bolt app that acks and does nothing else, mounted like Passerelle's."""
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        process_before_response=False,
    )

    async def only_ack(ack: Any) -> None:
        await ack()

    bolt.view(CALLBACK_ID)(only_ack)
    bolt.action(OPEN_FORM_ACTION)(only_ack)

    async def events(request: web.Request) -> web.StreamResponse:
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)
    return app


async def round_card(engine: Engine, round_id: int) -> Card:
    """The check-in card the round queued (the same for every member of one language)."""
    async with engine.database.session() as session:
        row = (
            await session.execute(
                select(OutboxMessage.payload)
                .where(OutboxMessage.idem_key.like(f"%checkin:{round_id}:%"))
                .limit(1)
            )
        ).scalar_one()
    return Card.model_validate(row)


async def open_round(engine: Engine, clock: ShiftedClock) -> int:
    await engine.jobs.run("close", SLUG)
    clock.offset += dt.timedelta(days=1)  # a new minute: a new forced occurrence
    result = await engine.jobs.run("checkin", SLUG)
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, SLUG)
        assert team is not None
        round_ = await rounds.open_round_of(session, team.id)
        assert round_ is not None, result
        return round_.id


def submissions(bridge: SlackBridge, card: Card, refs: Sequence[str]) -> list[bytes]:
    view = bridge.modal(card)
    names = [
        b["element"]["action_id"]
        for b in view["blocks"]
        if b.get("type") == "input" and b["element"]["type"] == "radio_buttons"
    ]
    bodies = []
    for n, ref in enumerate(refs):
        answers = {name: str((n + i) % 5 + 1) for i, name in enumerate(names)}
        shown = {**view, "id": f"VB{n:08d}{secrets.token_hex(3).upper()}"}
        payload = view_submission(shown, answers, user_id=ref, strict=False)
        bodies.append(interaction(payload))
    return bodies


def clicks(slack: FakeSlack, card: Card, refs: Sequence[str]) -> list[bytes]:
    (_, blocks), *_ = messages_for(card)
    bodies = []
    for ref in refs:
        message = {"ts": "1700000000.000100", "blocks": blocks, "text": "", "type": "message"}
        payload = block_actions(
            [action(blocks, OPEN_FORM_ACTION)],
            user_id=ref,
            channel_id=slack.dm_id(ref),
            message=message,
        )
        bodies.append(interaction(payload))
    return bodies


async def load(
    http: aiohttp.ClientSession, url: str, bodies: Sequence[bytes], concurrency: int
) -> tuple[list[float], float, dict[int, int], int]:
    """POST every body, signed at send time, ``concurrency`` at a time."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    bad = 0
    queue = iter(bodies)

    async def one_client() -> None:
        nonlocal bad
        for body in queue:
            headers = signed_headers(body, SIGNING_SECRET)
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                text = await response.read()
            latencies.append(time.perf_counter() - started)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status != 200 or (text and b"errors" in text):
                bad += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, statuses, bad


async def answered(engine: Engine, round_id: int) -> int:
    async with engine.database.session() as session:
        members = await rounds.members_with_status(session, round_id, rounds.ANSWERED)
        return len(members)


async def run(args: argparse.Namespace) -> list[Level]:
    levels = [int(c) for c in args.levels.split(",")]
    kinds = ["view_submission", "block_actions"] if args.kind == "both" else [args.kind]
    results: list[Level] = []
    clock = ShiftedClock()
    database = await fresh_database("slack_ack_bench")
    async with FakeSlack() as slack:
        # Trigger ids are made when the bodies are built, before a level starts: a level of
        # 500 clicks at concurrency 1 lasts longer than Slack's 3 s, so views.open after the
        # ack would be refused as expired (the ack itself does not depend on it).
        slack.trigger_ttl = 3600.0
        engine = Engine(database, clock=clock)
        refs = await seed_team(engine, slack, args.requests)
        app = build_app(settings(slack), database, engine)
        bridge = app[SLACK]
        runner, passerelle = await serve(app)
        bare_runner, bare = await serve(bare_app(slack))
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            # warm both apps (Bolt's first-request work, users.info cache is NOT warmed)
            round_id = await open_round(engine, clock)
            card = await round_card(engine, round_id)
            for url in (passerelle, bare):
                await load(http, url + EVENTS_PATH, submissions(bridge, card, refs[:1]), 1)
            for index, concurrency in enumerate(levels):
                for kind in kinds:
                    round_id = await open_round(engine, clock)
                    card = await round_card(engine, round_id)
                    order = [("passerelle", passerelle), ("bare bolt", bare)]
                    if index % 2:
                        order.reverse()
                    for name, url in order:
                        bodies = (
                            submissions(bridge, card, refs)
                            if kind == "view_submission"
                            else clicks(slack, card, refs)
                        )
                        before = len(slack.calls)
                        latencies, wall, statuses, bad = await load(
                            http, url + EVENTS_PATH, bodies, concurrency
                        )
                        level = Level(name, kind, concurrency, latencies, wall, statuses, bad)
                        results.append(level)
                        if name == "passerelle":
                            await bridge.settle()
                            extra = ""
                            if kind == "view_submission":
                                extra = f" ballots recorded {await answered(engine, round_id)}"
                            extra += f" web-api calls after acks {len(slack.calls) - before}"
                        else:
                            extra = ""
                        print(
                            f"  {kind:15} c={concurrency:<3} {name:10} p50 {level.p50:7.1f} ms"
                            f"  p99 {level.p99:7.1f} ms  {level.throughput:7.1f} req/s"
                            f"  statuses {statuses} bad {bad}{extra}",
                            flush=True,
                        )
        await bare_runner.cleanup()
        await runner.cleanup()
    return results


def report(results: list[Level]) -> None:
    print("\nratios passerelle / bare bolt (same run, same requests, same loop)")
    print(
        f"{'kind':15} {'c':>4} {'p50 P':>8} {'p50 B':>8} {'x':>6} {'p99 P':>8} {'p99 B':>8}"
        f" {'x':>6} {'rps P':>7} {'rps B':>7} {'x':>5}"
    )
    by = {(r.app, r.kind, r.concurrency): r for r in results}
    for r in results:
        if r.app != "passerelle":
            continue
        b = by[("bare bolt", r.kind, r.concurrency)]
        print(
            f"{r.kind:15} {r.concurrency:>4} {r.p50:8.1f} {b.p50:8.1f} {r.p50 / b.p50:6.2f}"
            f" {r.p99:8.1f} {b.p99:8.1f} {r.p99 / b.p99:6.2f} {r.throughput:7.0f}"
            f" {b.throughput:7.0f} {r.throughput / b.throughput:5.2f}"
        )
    for r in results:
        if r.app == "passerelle" and r.concurrency == 50:
            verdict = "MET" if r.p99 < 100 else "NOT MET"
            print(f"aim p99 < 100 ms at 50 concurrent ({r.kind}): {r.p99:.1f} ms -> {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--levels", default="1,10,25,50,100")
    parser.add_argument(
        "--kind", choices=["view_submission", "block_actions", "both"], default="both"
    )
    parser.add_argument("--quick", action="store_true", help="100 requests per level")
    args = parser.parse_args()
    if args.quick:
        args.requests = 100
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {machine()}")
    print(
        f"{args.requests} requests per level; levels {args.levels}; SQLite file database;"
        " Passerelle acks view_submission AFTER recording the ballot (response_action),"
        " block_actions BEFORE its work"
    )
    started = time.perf_counter()
    results = asyncio.run(run(args))
    report(results)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
