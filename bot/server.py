"""The aiohttp application: health, metrics, and each platform package in `PLATFORMS` that is
configured (the sandbox, Slack, Teams: adapters/platform.py says what a platform brings).

What a process serves and runs follows its role (`passerelle serve --role`, PASSERELLE_ROLE):
- `web`: the HTTP endpoints people's platforms call (Slack, Teams), /healthz and /metrics.
  A Slack submission is sealed into the intake and committed before its ack, so acknowledged
  work is in the database, not in this process; it is recorded by a worker.
- `worker`: the calendar, the outbox worker and the Slack intake's recording (the Slack and
  Teams bridges are built for their senders and the recording, their routes not served),
  with /healthz and /metrics only, for the health checks.
- `all` (the default): both, in one process; the only role that serves the sandbox, whose
  conversations live in the serving process's memory and which sends its own messages after
  each action.
At least one `worker` or `all` process must run: nothing else records Slack's acknowledged
submissions or sends the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from adapters.pacing import DatabaseStore
from adapters.platform import Host, Mount, load
from bot import keys
from bot.outbox_worker import LANES, OutboxWorker
from bot.scheduler import Calendar
from bot.settings import Settings
from dialogs.engine import Engine
from storage import outbox, teams
from storage.database import Database

log = logging.getLogger(__name__)
ENGINE = web.AppKey("engine", Engine)
WORKER = web.AppKey("worker", OutboxWorker)
MOUNTS = web.AppKey("platforms", dict[str, Mount])
# The platform packages this server knows, one line each (adapters/platform.py): each one is
# built when its settings are present, its sender given to the outbox worker, its routes served.
PLATFORMS = (
    "adapters.sandbox",
    "adapters.slack",
    "adapters.teams",
    "adapters.console",
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_app(
    settings: Settings, database: Database | None = None, engine: Engine | None = None
) -> web.Application:
    database = database or Database(settings.database_url)
    # Built here, the engine seals under the configured key (bot/keys.py: KeyProblem if none).
    engine = engine or Engine(
        database, sealer=keys.load(settings).sealer, operator=settings.operator
    )
    worker: OutboxWorker  # built once the platforms have given their senders

    async def drain() -> int:
        return await worker.drain()

    # Every process paces its sends through the database: one pace per workspace, tenant and
    # conversation (conversations named by keyed hash), learned from the platforms' 429s.
    host = Host(engine, settings, is_loopback(settings.host), DatabaseStore(database), drain)
    mounts = {p.name: m for p in load(PLATFORMS) if (m := p.build(host)) is not None}
    worker = OutboxWorker(
        database,
        {m.sender.platform: m.sender for m in mounts.values()},
        clock=engine.clock,
        lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
        lanes=LANES,
        batch=settings.outbox_batch,
    )
    app = web.Application()
    app[ENGINE] = engine
    app[WORKER] = worker
    app[MOUNTS] = mounts
    for mount in mounts.values():
        mount.attach(app)
        if settings.serves_web:
            app.router.add_routes(mount.routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.cleanup_ctx.append(_background(settings, engine, worker, list(mounts.values())))
    return app


def _background(  # type: ignore[no-untyped-def]
    settings: Settings, engine: Engine, worker: OutboxWorker, mounts: list[Mount]
):
    async def context(app: web.Application) -> AsyncIterator[None]:
        log.info("role: %s", settings.role)
        for mount in mounts:
            await mount.start(runs_worker=settings.runs_worker)
        calendar = None
        if settings.scheduler_enabled and settings.runs_worker:
            calendar = Calendar(engine, settings.tick_seconds)
        task = None
        if calendar is not None:
            await calendar.start()
            task = asyncio.create_task(worker.run_forever(settings.outbox_interval_seconds))
        yield
        for mount in mounts:
            await mount.stop()
        if calendar is not None:
            await calendar.stop()  # a tick under way finishes before the database closes
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for mount in mounts:
            await mount.close()
        await engine.database.dispose()

    return context


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers (within a couple of seconds), else 503. An outage needs
    no restart: pooled connections are pinged before use (storage/database.py), so this
    process serves again as soon as the database is back."""
    if not await request.app[ENGINE].database.reachable():
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: counts only, never content or people."""
    engine, worker = request.app[ENGINE], request.app[WORKER]
    async with engine.database.session() as session:
        by_status = await outbox.counts(session)
        team_count = len(await teams.all_teams(session))
    lines = [
        "# HELP passerelle_outbox_messages Outbox messages by status.",
        "# TYPE passerelle_outbox_messages gauge",
    ]
    lines += [
        f'passerelle_outbox_messages{{status="{s}"}} {n}' for s, n in sorted(by_status.items())
    ]
    lines += [
        "# HELP passerelle_teams Partnership teams.",
        "# TYPE passerelle_teams gauge",
        f"passerelle_teams {team_count}",
        "# HELP passerelle_sent_total Messages sent by this process.",
        "# TYPE passerelle_sent_total counter",
        f"passerelle_sent_total {worker.sent}",
    ]
    return web.Response(
        text="\n".join(lines) + "\n",
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
