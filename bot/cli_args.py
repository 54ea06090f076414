"""What `passerelle` accepts, and what its `--help` says about each command and option.

The command line speaks English (docs/operations.md, "Commands"): it is read by whoever runs
the server, not by the teams; `run --lang fr` gives a job's report in French.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.settings import ROLES
from dialogs.jobs import JOB_NAMES

# What each job does, shown by `passerelle run --help` (the README's table, in one line each).
JOB_HELP = {
    "checkin": "open a check-in round and ask every active, unpaused member",
    "reminders": "send the open round's one reminder to those who neither answered nor skipped",
    "close": "close the open round and send the summary to managers and coordinators",
    "batch": "publish the approved tensions and anonymous successes in the team channels",
    "success": "send the success reminder",
    "tension-prompt": "send the periodic anonymous tension prompt, with a success prompt",
    "reflexive-invite": "invite pre-reflections for the next reflexive-space meeting",
    "reflexive": "post the reflexive-space question with the pre-reflections",
    "summary": "send the current summary to managers and coordinators",
    "review": "send the tensions waiting for review to the coordinators",
}
NEEDS_KEY = (
    "Needs the sealing key (PASSERELLE_SECRET_KEY or PASSERELLE_SECRET_KEY_FILE; with a local "
    "SQLite database and no platform configured, one is created beside the database): exits "
    "with code 2 without it."
)
SETTINGS = "Settings come from the environment or a .env file (docs/operations.md)."


def package_version() -> str:
    """The installed distribution's version (pyproject.toml, as installed)."""
    try:
        return version("passerelle")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class Paragraphs(argparse.HelpFormatter):
    """Wraps each paragraph of a description or an epilog to the terminal's width, where
    argparse's default would run them together; a list (indented lines: a name, two spaces,
    its text) keeps one entry a line, its text wrapped under itself."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.split("\n\n"):
            lines = block.splitlines()
            if not any(line.startswith("  ") for line in lines):
                blocks.append(
                    textwrap.fill(
                        " ".join(lines), width, initial_indent=indent, subsequent_indent=indent
                    )
                )
                continue
            kept = []
            for line in lines:
                entry = re.match(r"\s+\S+\s{2,}", line)
                hanging = indent + " " * (entry.end() if entry else 0)
                kept.append(
                    textwrap.fill(line, width, initial_indent=indent, subsequent_indent=hanging)
                )
            blocks.append("\n".join(kept))
        return "\n\n".join(blocks)


def _jobs_epilog() -> str:
    width = max(len(name) for name in JOB_NAMES)
    lines = [f"  {name:<{width}}  {JOB_HELP.get(name, '')}".rstrip() for name in JOB_NAMES]
    return (
        "jobs:\n" + "\n".join(lines) + "\n\nExample: passerelle run checkin --team demo\n\n"
        "A team that does not exist: the error lists the known teams' slugs (exit code 2)."
    )


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A sub-command: `summary` in its parent's list, `description` (and `epilog`) in its own
    --help, which argparse would otherwise leave empty."""
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=Paragraphs,
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="passerelle",
        description=(
            "Passerelle: check-ins, anonymous tensions, successes and reflexive prompts for "
            "mixed partnership teams. " + SETTINGS
        ),
        epilog="Each command has its own help: passerelle COMMAND --help.",
        formatter_class=Paragraphs,
    )
    root.add_argument(
        "--version",
        action="version",
        version=f"passerelle {package_version()}",
        help="print the installed version and exit",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = _command(
        commands,
        "serve",
        "serve HTTP (sandbox, Slack, Teams), the calendar and the outbox",
        "Run the server until stopped (Ctrl-C or SIGTERM): the HTTP endpoints (the sandbox at "
        "/sandbox, Slack, Teams, /healthz, /metrics) on PASSERELLE_HOST:PASSERELLE_PORT "
        "(default 127.0.0.1:3978), the calendar's tick and the outbox worker that sends what "
        "the jobs queued.\n\n" + NEEDS_KEY,
    )
    serve.add_argument(
        "--role",
        choices=ROLES,
        help=(
            "web: the HTTP endpoints only; worker: the calendar, the outbox and the recording "
            "of Slack submissions, with /healthz and /metrics; all: both (default: "
            "PASSERELLE_ROLE, else all)"
        ),
    )
    db = _command(
        commands,
        "db",
        "database maintenance",
        "Apply the database migrations (Alembic) to PASSERELLE_DATABASE_URL, then drop the old "
        "row versions of what they erased. Run it after installing or upgrading, before "
        "`passerelle serve`.",
    )
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply every pending migration")
    _command(
        commands,
        "demo",
        "seed the demo partnership for the sandbox (once)",
        "Create the demo partnership (team slug `demo`, nine people) that the local sandbox "
        "shows; does nothing if it already exists. Not for a production database.\n\n" + NEEDS_KEY,
    )
    run = _command(
        commands,
        "run",
        "run a calendar job now for one team",
        "Run one calendar job now, for one team, ignoring the calendar's cadence, and print "
        "what it did. It only queues messages: a running `passerelle serve` sends them.\n\n"
        + NEEDS_KEY,
        _jobs_epilog(),
    )
    run.add_argument("job", choices=JOB_NAMES, metavar="JOB", help="the job to run (see below)")
    run.add_argument(
        "--team", required=True, metavar="SLUG", help="the team's short name (slug), e.g. demo"
    )
    run.add_argument(
        "--lang", choices=["fr", "en"], default="en", help="language of the report (default: en)"
    )
    key = _command(
        commands,
        "key",
        "the sealing key (docs/operations.md)",
        "Make a sealing key, or check the one configured (docs/operations.md, 'The sealing key').",
    )
    key_commands = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    new = _command(
        key_commands,
        "new",
        "make a new sealing secret",
        "Make a new sealing secret: printed alone on standard output (the advice goes to "
        "standard error), or written to a new file with mode 0600.",
    )
    new.add_argument(
        "--file", type=Path, help="write it to this new file (mode 0600) instead of printing it"
    )
    _command(
        key_commands,
        "check",
        "whether the key is found, its id, and sealed rows it cannot open",
        "Say whether the sealing key is found and its key id, and count the sealed rows under "
        "the current key, under each previous key and under a key this server does not hold. "
        "Exit code 0: every sealed row opens; 1: some do not, or the database could not be "
        "read; 2: no usable key.",
    )
    teams = _command(
        commands,
        "teams",
        "Microsoft Teams helpers",
        "Microsoft Teams helpers (docs/teams.md).",
    )
    teams_commands = teams.add_subparsers(dest="teams_command", required=True, metavar="ACTION")
    package = _command(
        teams_commands,
        "package",
        "build the Teams app package (a zip to upload in Teams)",
        "Build the Teams app package: the manifest (French, with its English text) and the "
        "icons in a zip, to upload in Teams (Apps, Manage your apps, Upload an app).",
    )
    package.add_argument("--app-id", help="the bot's Microsoft app id (default: MICROSOFT_APP_ID)")
    package.add_argument(
        "--base-url", required=True, help="public https URL of the server, e.g. https://host"
    )
    package.add_argument(
        "--out",
        type=Path,
        default=Path("passerelle-teams.zip"),
        help="where to write the zip (default: passerelle-teams.zip)",
    )
    package.add_argument("--version", default="1.0.0", help="the app's version, MAJOR.MINOR.PATCH")
    package.add_argument("--developer-name", default="Passerelle", help="shown in Teams' app page")
    return root
