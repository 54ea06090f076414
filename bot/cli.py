"""`passerelle serve [--role web|worker|all] | db upgrade | demo | run <job> --team <team> |
key new | key check | teams package | --version`: what each does; the arguments and their help
are in bot/cli_args.py."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from adapters.slack.app import SlackBridge
from adapters.slack.platform import SLACK
from adapters.teams.package import PackageError, build_package
from bot import keys, logs
from bot.cli_args import parser
from bot.demo import seed
from bot.server import build_app
from bot.settings import Settings
from dialogs.checkins import results
from dialogs.engine import Engine
from dialogs.i18n import t
from dialogs.jobs import UnknownJob, UnknownTeam
from storage import migrate, teams
from storage.database import Database
from storage.maintenance import vacuum_private_tables
from storage.sealing import Sealer, new_secret


async def upgrade(settings: Settings, sealer: Sealer | None) -> None:
    """Migrate; then bring results frozen before the sealed inbox to the at-rest rule, and
    drop the old row versions that held what the migration erased (`sealer`: for migrations
    that seal what an older version kept in the clear; they refuse to run without it)."""
    database = Database(settings.database_url)
    try:
        await migrate.upgrade(database, sealer=sealer)
        await results.generalise_all_teams(database)
        # Always: a migration may have deleted or rewritten private rows (0005 does), whose
        # old versions must not outlive the upgrade.
        await vacuum_private_tables(database)
    finally:
        await database.dispose()


async def demo(settings: Settings, sealer: Sealer) -> bool:
    database = Database(settings.database_url)
    try:
        return await seed(Engine(database, sealer=sealer))
    finally:
        await database.dispose()


async def run_job(settings: Settings, sealer: Sealer, job: str, team: str, lang: str) -> int:
    """0: the job ran; 2: no such team or job (said on stderr, with the known teams);
    1: the database could not be read."""
    database = Database(settings.database_url)
    try:
        result = await Engine(database, sealer=sealer).jobs.run(job, team)
    except UnknownTeam:
        print(unknown_team(team, await team_slugs(database)), file=sys.stderr)
        return 2
    except UnknownJob:
        print(f"error: no job named {job!r}", file=sys.stderr)
        return 2
    except (DBAPIError, OSError) as error:  # unreachable, or not upgraded: say so, no traceback
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        print(
            f"error: the database could not be read ({reason}): check "
            "PASSERELLE_DATABASE_URL, and run `passerelle db upgrade` first",
            file=sys.stderr,
        )
        return 1
    finally:
        await database.dispose()
    print(f"{job} ({team}): {t(lang, result.message, count=result.count)}")
    return 0


async def team_slugs(database: Database) -> list[str]:
    async with database.session() as session:
        return sorted(team.slug for team in await teams.all_teams(session))


def unknown_team(team: str, known: list[str]) -> str:
    if not known:
        return (
            f"error: no team named {team!r}, and there is no team yet: `passerelle demo` "
            "creates the demo team (slug demo); a coordinator sets a team up in its channel"
        )
    return f"error: no team named {team!r}; known teams (slugs): {', '.join(known)}"


def configured_key(settings: Settings, *, create: bool = True) -> keys.Key | None:
    """The sealing key, or None after saying on stderr why there is none and what to do."""
    try:
        key = keys.load(settings, create=create)
    except keys.KeyProblem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return None
    if key.created and key.path is not None:
        print(
            f"sealing key: created {key.path.resolve()} beside the database "
            "(mode 0600). Keep it: what is sealed under it cannot be opened without it."
        )
    return key


def key_new(path: Path | None) -> int:
    secret = new_secret()
    key_id = Sealer(secret).key_id
    if path is not None:
        try:
            created = keys.create_key_file(path, secret)
        except keys.KeyProblem as problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        if not created:
            print(f"error: {path} exists: a key file is never overwritten", file=sys.stderr)
            return 1
        print(f"wrote {path} (mode 0600, key id {key_id}): set PASSERELLE_SECRET_KEY_FILE={path}")
        return 0
    print(secret)
    # The advice goes to stderr: `passerelle key new > file` writes the secret alone.
    print(
        f"\nA new sealing secret (key id {key_id}) is printed above. Keep a copy in your secrets "
        "manager, apart from the database and its backups, then give it to the server as "
        "PASSERELLE_SECRET_KEY, or in a file readable only by the server's user named by "
        "PASSERELLE_SECRET_KEY_FILE (`passerelle key new --file PATH` writes one, mode 0600). "
        "Rotating? Keep the old secret in PASSERELLE_PREVIOUS_SECRET_KEYS until "
        "`passerelle key check` counts no row under it (docs/operations.md).",
        file=sys.stderr,
    )
    return 0


async def key_check(settings: Settings) -> int:
    """0: the key is usable and opens every sealed row; 1: some rows are under a key this
    server does not hold, or they could not be counted; 2: no usable key."""
    key = configured_key(settings, create=False)
    if key is None:
        return 2
    print(f"sealing key: found, from {key.source} (key id {key.key_id})")
    if key.previous:
        ids = ", ".join(old.key_id for old in key.previous)
        print(f"previous keys: {len(key.previous)} (key id {ids})")
    where = keys.database_file(settings.database_url)
    if isinstance(where, Path) and not where.exists():
        print(f"sealed rows: none (no database at {where} yet)")
        return 0
    database = Database(settings.database_url)
    try:
        rows = await keys.count_sealed(database, key)
    except Exception as error:  # unreachable, or not upgraded: say so, quote no values
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        print(f"sealed rows: not counted, the database could not be read ({reason})")
        return 1
    finally:
        await database.dispose()
    print(f"sealed rows: {rows.current} under the current key")
    for key_id, count in rows.previous.items():
        print(f"sealed rows: {count} under previous key {key_id}")
    print(f"sealed rows: {rows.unopenable} that this server cannot open")
    if rows.unopenable:
        print(
            f"warning: {rows.unopenable} sealed row(s) are under a key this server does not "
            "hold: if that key is lost, their people will be asked again when their batch "
            "opens; if you still have it, add it to PASSERELLE_PREVIOUS_SECRET_KEYS",
            file=sys.stderr,
        )
        return 1
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
    try:
        settings = Settings()
    except ValidationError as problem:  # say which setting, not a traceback
        for error in problem.errors():
            where = ".".join(str(part) for part in error["loc"])
            print(f"error: setting {where}: {error['msg']}", file=sys.stderr)
        return 2
    if args.command == "serve" and args.role is not None:
        settings = settings.model_copy(update={"role": args.role})
    logs.configure(settings.log_level)
    if args.command == "db":
        # The key is needed only to seal what an older version stored in the clear: without
        # one, the upgrade goes on and such a migration says what it needs.
        try:
            key: keys.Key | None = keys.load(settings)
        except keys.KeyProblem as problem:
            print(
                f"warning: no sealing key ({problem}); migrations that must seal will say so",
                file=sys.stderr,
            )
            key = None
        if key is not None and key.created and key.path is not None:
            print(f"sealing key: created {key.path.resolve()} beside the database (mode 0600)")
        asyncio.run(upgrade(settings, key.sealer if key is not None else None))
        print("database is up to date")
        return 0
    if args.command == "key" and args.key_command == "new":
        return key_new(args.file)
    if args.command == "key":
        return asyncio.run(key_check(settings))
    if args.command == "teams":
        return teams_package(settings, args)
    # Every command below builds an engine, which seals and opens under the configured key.
    key = configured_key(settings)
    if key is None:
        return 2
    if args.command == "demo":
        created = asyncio.run(demo(settings, key.sealer))
        print("demo partnership created" if created else "demo partnership already exists")
        return 0
    if args.command == "run":
        return asyncio.run(run_job(settings, key.sealer, args.job, args.team, args.lang))
    where = "/sandbox" if settings.role == "all" and settings.sandbox_wanted else ""
    print(f"Passerelle ({settings.role}) on http://{settings.host}:{settings.port}{where}")
    print(f"sealing key: {key.source} (key id {key.key_id})")
    database = Database(settings.database_url)
    engine = Engine(database, sealer=key.sealer, operator=settings.operator)
    app = build_app(settings, database, engine)
    if settings.slack_app_token and SLACK in app and settings.serves_web:
        # Socket Mode is Slack's way in: a web process's, never a worker's.
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
