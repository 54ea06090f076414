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
import contextlib
import datetime as dt
import gc
import logging
import multiprocessing
import os
import platform
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
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
from dialogs.events import Actor
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
BARE, INLINE = "bare bolt", "bare inline"


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


async def fresh_database(name: str, url: str | None = None) -> Database:
    """A migrated database: a SQLite file under bench/out/, or the PostgreSQL `url` given."""
    if url is None:
        path = OUT / f"{name}.sqlite"
        _remove_old(path)
        url = f"sqlite+aiosqlite:///{path}"
    database = Database(url)
    await migrate.upgrade(database)
    return database


DEFAULT_POSTGRES = os.environ.get(
    "PASSERELLE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def _admin(admin_url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database for this run only (a unique name), dropped afterwards."""
    name = f"passerelle_slack_bench_{uuid.uuid4().hex[:10]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RemoteSlack:
    """A FakeSlack in a child process (spawned, its own event loop), driven over a pipe: the
    methods the benchmarks use, run in the child's loop, results sent back."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_remote_slack_main, args=(child,), daemon=True)
        self._process.start()
        ready = self._pipe.recv()
        self.api_url: str = ready["api_url"]
        self.bot_token: str = ready["bot_token"]
        self.signing_secret: str = ready["signing_secret"]
        self._env: dict[str, str] = ready["env"]

    def _ask(self, *command: Any) -> Any:
        self._pipe.send(command)
        kind, value = self._pipe.recv()
        if kind == "error":
            raise RuntimeError(value)
        return value

    def env(self) -> dict[str, str]:
        return dict(self._env)

    def add_user(self, user_id: str, **fields: Any) -> None:
        self._ask("call", "add_user", (user_id,), fields)

    def add_channel(self, channel_id: str, name: str, **fields: Any) -> None:
        self._ask("call", "add_channel", (channel_id, name), fields)

    def dm_id(self, user_id: str) -> str:
        return str(self._ask("call", "dm_id", (user_id,), {}))

    def add_views(self, views: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
        return list(self._ask("add_views", views))

    def set(self, name: str, value: Any) -> None:
        self._ask("set", name, value)

    def calls_count(self) -> int:
        return int(self._ask("calls_count"))

    def ok_calls(self, method: str, since: int) -> int:
        return int(self._ask("ok_calls", method, since))

    def updated_at(self, since: int) -> dict[str, float]:
        """view id -> time.monotonic() (one clock for every process) of its first views.update."""
        return dict(self._ask("updated_at", since))

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._ask("stop")
        self._process.join(timeout=10)


def _remote_slack_main(pipe: Any) -> None:
    asyncio.run(_remote_slack(pipe))


async def _remote_slack(pipe: Any) -> None:
    loop = asyncio.get_running_loop()
    async with FakeSlack() as slack:
        pipe.send(
            {
                "api_url": slack.api_url,
                "bot_token": slack.bot_token,
                "signing_secret": slack.signing_secret,
                "env": slack.env(),
            }
        )
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            kind, *rest = command
            try:
                if kind == "stop":
                    pipe.send(("ok", None))
                    return
                if kind == "call":
                    name, args, kwargs = rest
                    result = getattr(slack, name)(*args, **kwargs)
                    pipe.send(("ok", result if name == "dm_id" else None))
                elif kind == "add_views":
                    (views,) = rest
                    pipe.send(("ok", [slack.add_view(v, view_id=i) for v, i in views]))
                elif kind == "set":
                    setattr(slack, rest[0], rest[1])
                    pipe.send(("ok", None))
                elif kind == "calls_count":
                    pipe.send(("ok", len(slack.calls)))
                elif kind == "updated_at":
                    (since,) = rest
                    first: dict[str, float] = {}
                    for c in slack.calls[since:]:
                        if c.method == "views.update" and c.ok:
                            first.setdefault(str(c.params.get("view_id")), c.at)
                    pipe.send(("ok", first))
                elif kind == "ok_calls":
                    method, since = rest
                    found = sum(1 for c in slack.calls[since:] if c.method == method and c.ok)
                    pipe.send(("ok", found))
                else:
                    pipe.send(("error", f"unknown command {kind!r}"))
            except Exception as error:  # the bench, not the fake, should stop
                pipe.send(("error", repr(error)))


Slack = FakeSlack | RemoteSlack


async def seed_team(
    engine: Engine,
    slack: Slack,
    members: int,
    *,
    slug: str = SLUG,
    channel: str = CHANNEL,
    first: int = 0,
) -> list[str]:
    """A team linked to a Slack channel, ``members`` onboarded members (user refs numbered
    from ``first``), users in the fake."""
    refs = [user_ref(first + n) for n in range(members)]
    for ref in refs:
        slack.add_user(ref, tz="America/Toronto", locale="en-US")
        slack.dm_id(ref)
    slack.add_channel(channel, slug, members=refs)
    now = engine.clock()
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session,
            slug=slug,
            name="Bench" if slug == SLUG else f"Bench {slug}",
            now=now,
            language="en",
            timezone="America/Toronto",
            quiet_start=0,  # no quiet hours: the round goes out whatever the time of the run
            quiet_end=0,
        )
        await teams.link_channel(session, team, "slack", TEAM_ID, channel, slug)
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


def settings(slack: Slack) -> Settings:
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


def bare_app(slack: Slack, *, inline: bool = False) -> web.Application:
    """A Bolt app that acks and does nothing else, mounted like Passerelle's: with Bolt's
    default (its runner polls for the ack every 10 ms) or, ``inline``, with
    process_before_response=True, as Passerelle runs its listeners."""
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        process_before_response=inline,
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


def submissions(
    bridge: SlackBridge, slack: RemoteSlack, card: Card, refs: Sequence[str]
) -> tuple[list[bytes], list[str]]:
    """Signed-to-be submission bodies, and the id of each one's modal."""
    # Each modal's metadata is signed for the person it is opened for.
    views = [bridge.modal(card, Actor("slack", TEAM_ID, ref)) for ref in refs]
    view = views[0]
    names = [
        b["element"]["action_id"]
        for b in view["blocks"]
        if b.get("type") == "input" and b["element"]["type"] == "radio_buttons"
    ]
    bodies = []
    held = slack.add_views(
        [(v, f"VB{n:08d}{secrets.token_hex(3).upper()}") for n, v in enumerate(views)]
    )
    for n, (ref, shown) in enumerate(zip(refs, held, strict=True)):
        answers = {name: str((n + i) % 5 + 1) for i, name in enumerate(names)}
        payload = view_submission(shown, answers, user_id=ref, strict=False)
        bodies.append(interaction(payload))
    return bodies, [str(shown["id"]) for shown in held]


def clicks(bridge: SlackBridge, slack: RemoteSlack, card: Card, refs: Sequence[str]) -> list[bytes]:
    (_, blocks), *_ = messages_for(card)
    bodies = []
    for ref in refs:
        # The round's DM as the outbox's sender posts it (the engine rebuilds the form when
        # "open the form" is clicked).
        message = {"ts": "1700000000.000100", "blocks": blocks, "text": "", "type": "message"}
        payload = block_actions(
            [action(blocks, OPEN_FORM_ACTION)],
            user_id=ref,
            channel_id=slack.dm_id(ref),
            message=message,
        )
        bodies.append(interaction(payload))
    return bodies


@dataclass
class Loaded:
    latencies: list[float]
    wall: float
    statuses: dict[int, int]
    bad: int
    acked_at: list[float]  # time.monotonic() of each body's ack, in the bodies' order


async def load(
    http: aiohttp.ClientSession, url: str, bodies: Sequence[bytes], concurrency: int
) -> Loaded:
    """POST every body, signed at send time, ``concurrency`` at a time."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acked_at = [0.0] * len(bodies)
    bad = 0
    queue = iter(enumerate(bodies))

    async def one_client() -> None:
        nonlocal bad
        for index, body in queue:
            headers = signed_headers(body, SIGNING_SECRET)
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                text = await response.read()
            latencies.append(time.perf_counter() - started)
            acked_at[index] = time.monotonic()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status != 200 or (text and b"errors" in text):
                bad += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return Loaded(latencies, time.perf_counter() - started, statuses, bad, acked_at)


async def answered(engine: Engine, round_id: int) -> int:
    async with engine.database.session() as session:
        members = await rounds.members_with_status(session, round_id, rounds.ANSWERED)
        return len(members)


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
        async with postgres_database(args.postgres_url) as url:
            results += await run_on(args, label, url)
    return results


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--levels", default="1,10,25,50,100")
    parser.add_argument(
        "--kind", choices=["view_submission", "block_actions", "both"], default="both"
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
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
    print(f"machine: {machine()}")
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
