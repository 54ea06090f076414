"""What `passerelle` tells the person who runs it (issue 13): every command's and option's
help, the installed version, and a team that does not exist answered with the teams that do.
The real console script, in a subprocess, as an operator types it."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from bot.cli_args import JOB_HELP, NEEDS_KEY, parser
from dialogs.jobs import JOB_NAMES
from storage import migrate, teams
from storage.database import Database
from tests.outside_env import OUTSIDE

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("passerelle")  # what `pip install` put beside python


def passerelle(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT}: the package is not installed in this environment"
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )


def environment(tmp_path: Path) -> dict[str, str]:
    """A fresh clone's: no key, no platform, a SQLite database in tmp_path, a wide terminal
    (argparse wraps to COLUMNS; the checks below compare words, not lines)."""
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
    env["PASSERELLE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env["COLUMNS"] = "100"
    return env


def words(text: str) -> str:
    return " ".join(text.split())


def commands(
    command: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and sub-command under `command`, with the words that reach it."""
    found = [(path, command)]
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*path, name))
    return found


def test_every_command_and_option_says_what_it_does() -> None:
    every = commands(parser())
    assert {p for p, _ in every} >= {("serve",), ("demo",), ("run",), ("key", "new")}
    for path, command in every:
        assert command.description, f"passerelle {' '.join(path)}: no description"
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                listed = {a.dest: a.help for a in action._choices_actions}
                assert all(listed.values()) and set(listed) == set(action.choices), path
            elif not isinstance(action, argparse._HelpAction):
                assert action.help, f"passerelle {' '.join(path)}: {action.dest} says nothing"
    # Each job the rituals declare is explained by `run --help`, a new one too.
    assert set(JOB_NAMES) <= set(JOB_HELP), set(JOB_NAMES) - set(JOB_HELP)


def test_the_help_of_serve_demo_and_run_describes_them(tmp_path: Path) -> None:
    env = environment(tmp_path)
    by_path = dict(commands(parser()))
    for path in [(), ("serve",), ("demo",), ("run",)]:
        shown = passerelle([*path, "--help"], env)
        assert shown.returncode == 0 and not shown.stderr, shown.stderr
        out = words(shown.stdout)
        command = by_path[path]
        assert command.description and words(command.description) in out, out
        for action in command._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert words(str(action.help)) in out, (path, action.dest)
    run = words(passerelle(["run", "--help"], env).stdout)
    for job in JOB_NAMES:
        assert f"{job} {JOB_HELP[job]}" in run, job
    assert words(NEEDS_KEY) in run
    # Nothing was done: no key file, no database.
    assert list(tmp_path.iterdir()) == []


def test_version_is_the_installed_packages(tmp_path: Path) -> None:
    shown = passerelle(["--version"], environment(tmp_path))
    assert shown.returncode == 0, shown.stderr
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert shown.stdout == f"passerelle {version('passerelle')}\n"
    assert version("passerelle") == project  # the metadata is this tree's, not a stale install
    assert re.fullmatch(r"passerelle \d+\.\d+\.\d+\S*\n", shown.stdout)


async def _database(tmp_path: Path, slugs: list[str] | None) -> None:
    """The CLI's database: not upgraded (None), or upgraded with these teams."""
    if slugs is None:
        return
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    try:
        await migrate.upgrade(database)
        now = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
        async with database.session() as session, session.begin():
            for slug in slugs:
                await teams.create_team(session, slug=slug, name=f"Team {slug}", now=now)
    finally:
        await database.dispose()


def test_an_unknown_team_lists_the_teams_that_exist(tmp_path: Path) -> None:
    asyncio.run(_database(tmp_path, ["zeta-sud", "demo", "equipe-nord"]))
    missing = passerelle(["run", "checkin", "--team", "nowhere"], environment(tmp_path))
    assert missing.returncode == 2 and "checkin (nowhere)" not in missing.stdout  # no report
    assert "Traceback" not in missing.stderr
    assert missing.stderr.strip().endswith(
        "error: no team named 'nowhere'; known teams (slugs): demo, equipe-nord, zeta-sud"
    ), missing.stderr


def test_an_unknown_team_with_no_team_yet_says_how_to_make_one(tmp_path: Path) -> None:
    asyncio.run(_database(tmp_path, []))
    missing = passerelle(["run", "close", "--team", "demo"], environment(tmp_path))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "no team named 'demo', and there is no team yet" in missing.stderr
    assert "`passerelle demo`" in missing.stderr


def test_a_database_never_upgraded_is_said_without_a_traceback(tmp_path: Path) -> None:
    asyncio.run(_database(tmp_path, None))
    failed = passerelle(["run", "checkin", "--team", "demo"], environment(tmp_path))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "the database could not be read" in failed.stderr
    assert "passerelle db upgrade" in failed.stderr
