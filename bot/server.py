"""The aiohttp application: health, metrics, the sandbox, Slack and Teams when configured.

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
from adapters.sandbox.app import Sandbox
from adapters.sandbox.transcript import Transcripts
from adapters.slack.app import SlackBridge
from adapters.slack.routes import SlackRoutes
from adapters.teams.app import TeamsBridge
from adapters.teams.botframework import BotFramework, Credentials
from adapters.teams.routes import TeamsRoutes
from bot import keys
from bot.outbox_worker import LANES, OutboxWorker
from bot.scheduler import Calendar
from bot.settings import Settings
from dialogs.engine import Engine
from dialogs.ports import Sender
from storage import outbox, teams
from storage.database import Database

log = logging.getLogger(__name__)
ENGINE = web.AppKey("engine", Engine)
WORKER = web.AppKey("worker", OutboxWorker)
SLACK = web.AppKey("slack", SlackBridge)
TEAMS = web.AppKey("teams", TeamsBridge)


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
    engine = engine or Engine(database, sealer=keys.load(settings).sealer)
    # The sandbox and its worker keep the engine's time, so a controlled clock (tests, demos)
    # decides what is due and when each message is shown as sent.
    transcripts = Transcripts(clock=engine.clock)
    slack = slack_bridge(settings, engine)
    teams_bridge = teams_bridge_for(settings, engine)
    senders: dict[str, Sender] = {transcripts.platform: transcripts}
    if slack is not None:
        senders[slack.sender.platform] = slack.sender
    if teams_bridge is not None:
        senders[teams_bridge.sender.platform] = teams_bridge.sender
    lease = dt.timedelta(seconds=settings.outbox_lease_seconds)
    # Every process paces its sends through the database: one pace per workspace, tenant and
    # conversation (conversations named by keyed hash), learned from the platforms' 429s.
    paces = DatabaseStore(database)
    if slack is not None:
        slack.sender.pacer.use(paces, tag=engine.sealer.tag, clock=engine.clock)
    if teams_bridge is not None:
        teams_bridge.sender.pacer.use(paces, tag=engine.sealer.tag, clock=engine.clock)
    worker = OutboxWorker(
        database,
        senders,
        clock=engine.clock,
        lease=lease,
        lanes=LANES,
        batch=settings.outbox_batch,
    )
    app = web.Application()
    app[ENGINE] = engine
    app[WORKER] = worker
    if slack is not None:
        app[SLACK] = slack
        if settings.serves_web:
            app.router.add_routes(SlackRoutes(slack).routes())
    if teams_bridge is not None:
        app[TEAMS] = teams_bridge
        if settings.serves_web:
            app.router.add_routes(TeamsRoutes(teams_bridge).routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    if sandbox_served(settings):
        app.router.add_routes(Sandbox(engine, transcripts, after_action=worker.drain).routes())
        app.router.add_get("/", to_sandbox)
    app.cleanup_ctx.append(_background(settings, engine, worker, slack))
    return app


def sandbox_served(settings: Settings) -> bool:
    if not settings.sandbox_wanted:
        return False
    if settings.role != "all":
        log.warning("sandbox not served: it needs --role all (one process), not %s", settings.role)
        return False
    if not is_loopback(settings.host):
        log.warning("sandbox not served: %s is not a loopback address", settings.host)
        return False
    return True


def slack_bridge(settings: Settings, engine: Engine) -> SlackBridge | None:
    """The Slack app, when Slack settings are present: a bot token or an OAuth client."""
    if not settings.slack_signing_secret:
        return None
    if not (settings.slack_bot_token or settings.slack_client_id):
        log.warning("SLACK_SIGNING_SECRET without SLACK_BOT_TOKEN or SLACK_CLIENT_ID: no Slack")
        return None
    return SlackBridge(
        engine,
        signing_secret=settings.slack_signing_secret,
        api_url=settings.slack_api_url,
        bot_token="" if settings.slack_client_id else settings.slack_bot_token,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
    )


def teams_bridge_for(settings: Settings, engine: Engine) -> TeamsBridge | None:
    """Teams with an app id (inbound tokens checked), or in local mode (no app id: the
    Agents Playground, the Emulator) only on a loopback address: without authentication,
    anyone who can reach the endpoint could speak as anyone."""
    credentials = Credentials(
        app_id=settings.microsoft_app_id,
        password=settings.microsoft_app_password,
        tenant_id=settings.microsoft_app_tenant_id,
        app_type=settings.microsoft_app_type,
    )
    if not credentials.app_id and not is_loopback(settings.host):
        log.warning("teams not served: no MICROSOFT_APP_ID and %s is not loopback", settings.host)
        return None
    return TeamsBridge(engine, BotFramework(credentials))


def _background(  # type: ignore[no-untyped-def]
    settings: Settings, engine: Engine, worker: OutboxWorker, slack: SlackBridge | None
):
    async def context(app: web.Application) -> AsyncIterator[None]:
        log.info("role: %s", settings.role)
        if slack is not None:
            await slack.open_http()  # both roles call the Web API: acks' views, sends
            await slack.resume_if_authorized()
            if settings.runs_worker:
                slack.worker.start()  # records what was acked: by any process, left behind too
        calendar = None
        if settings.scheduler_enabled and settings.runs_worker:
            calendar = Calendar(engine, settings.tick_seconds)
        task = None
        if calendar is not None:
            await calendar.start()
            task = asyncio.create_task(worker.run_forever(settings.outbox_interval_seconds))
        yield
        if slack is not None:
            # Nothing acknowledged is only in memory: what the worker did not record stays
            # in the intake, for the next start (or another process) to record.
            await slack.worker.stop()  # (never started in a web process: nothing to stop)
            await slack.intake.close()
        if calendar is not None:
            await calendar.stop()  # a tick under way finishes before the database closes
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if slack is not None:
            await slack.close_http()
        await engine.database.dispose()

    return context


async def to_sandbox(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/sandbox")


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
