"""`passerelle serve | db upgrade | demo | run <job> --team <team> | teams package`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from adapters.slack.app import SlackBridge
from adapters.teams.package import PackageError, build_package
from bot.demo import seed
from bot.server import SLACK, build_app
from bot.settings import Settings
from dialogs.engine import Engine
from dialogs.i18n import t
from dialogs.jobs import JOB_NAMES, UnknownJob, UnknownTeam
from storage import migrate
from storage.database import Database


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="passerelle",
        description=(
            "Passerelle: check-ins, anonymous tensions, successes and reflexive prompts for "
            "mixed partnership teams."
        ),
    )
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve", help="serve HTTP (sandbox, Slack, Teams), the calendar and the outbox"
    )
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="apply migrations")
    commands.add_parser("demo", help="seed the demo partnership for the sandbox (once)")
    run = commands.add_parser("run", help="run a calendar job now for one team")
    run.add_argument("job", choices=JOB_NAMES)
    run.add_argument("--team", required=True, help="the team's short name (slug), e.g. demo")
    run.add_argument("--lang", choices=["fr", "en"], default="en", help="language of the report")
    teams = commands.add_parser("teams", help="Microsoft Teams helpers")
    teams_commands = teams.add_subparsers(dest="teams_command", required=True)
    package = teams_commands.add_parser(
        "package", help="build the Teams app package (a zip to upload in Teams)"
    )
    package.add_argument("--app-id", help="the bot's Microsoft app id (default: MICROSOFT_APP_ID)")
    package.add_argument(
        "--base-url", required=True, help="public https URL of the server, e.g. https://host"
    )
    package.add_argument("--out", type=Path, default=Path("passerelle-teams.zip"))
    package.add_argument("--version", default="1.0.0", help="the app's version, MAJOR.MINOR.PATCH")
    package.add_argument("--developer-name", default="Passerelle", help="shown in Teams' app page")
    return root


async def upgrade(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()


async def demo(settings: Settings) -> bool:
    database = Database(settings.database_url)
    try:
        return await seed(Engine(database))
    finally:
        await database.dispose()


async def run_job(settings: Settings, job: str, team: str, lang: str) -> int:
    database = Database(settings.database_url)
    try:
        result = await Engine(database).jobs.run(job, team)
    except UnknownTeam:
        print(f"error: no team named {team!r}", file=sys.stderr)
        return 2
    except UnknownJob:
        print(f"error: no job named {job!r}", file=sys.stderr)
        return 2
    finally:
        await database.dispose()
    print(f"{job} ({team}): {t(lang, result.message, count=result.count)}")
    return 0


def teams_package(settings: Settings, args: argparse.Namespace) -> int:
    app_id = args.app_id if args.app_id is not None else settings.microsoft_app_id
    try:
        data = build_package(
            app_id,
            base_url=args.base_url,
            developer_name=args.developer_name,
            version=args.version,
        )
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        args.out.write_bytes(data)
    except OSError as error:
        print(f"error: cannot write {args.out}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: upload it in Teams (Apps, Manage your apps, Upload an app)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "db":
        asyncio.run(upgrade(settings))
        print("database is up to date")
        return 0
    if args.command == "demo":
        created = asyncio.run(demo(settings))
        print("demo partnership created" if created else "demo partnership already exists")
        return 0
    if args.command == "run":
        return asyncio.run(run_job(settings, args.job, args.team, args.lang))
    if args.command == "teams":
        return teams_package(settings, args)
    print(f"Passerelle on http://{settings.host}:{settings.port}/sandbox")
    app = build_app(settings)
    if settings.slack_app_token and SLACK in app:
        app.cleanup_ctx.append(socket_mode(app[SLACK], settings.slack_app_token))
    elif settings.slack_app_token:
        print(
            "warning: SLACK_APP_TOKEN is set but Slack is off: Socket Mode also needs "
            "SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (see docs/slack.md)",
            file=sys.stderr,
        )
    # Start-up objects (modules, the engine, content banks) live as long as the process: out of
    # the collector's sight, a full collection no longer pauses every request for them
    # (bench/slack_ack_bench.py --gc-freeze measures it).
    gc.collect()
    gc.freeze()
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


def socket_mode(bridge: SlackBridge, app_token: str):  # type: ignore[no-untyped-def]
    """Slack over a WebSocket (SLACK_APP_TOKEN), for teams without a public URL."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bridge.app, app_token)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        yield
        await handler.close_async()  # type: ignore[no-untyped-call]

    return context


if __name__ == "__main__":
    sys.exit(main())
