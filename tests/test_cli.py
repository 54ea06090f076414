"""The CLI as an admin runs it: separate processes on a real database file."""

from __future__ import annotations

import os
import subprocess
import sys


def run(args, env):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_upgrade_demo_and_run_a_job(tmp_path):
    env = {**os.environ, "PASSERELLE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    assert run(["db", "upgrade"], env).returncode == 0
    first, second = run(["demo"], env), run(["demo"], env)
    assert "created" in first.stdout and "already exists" in second.stdout
    opened = run(["run", "checkin", "--team", "demo"], env)
    assert opened.returncode == 0 and "9 person(s) asked" in opened.stdout
    again = run(["run", "checkin", "--team", "demo", "--lang", "fr"], env)
    assert "déjà ouvert" in again.stdout
    missing = run(["run", "checkin", "--team", "nowhere"], env)
    assert missing.returncode == 2 and "no team named 'nowhere'" in missing.stderr
    bad_job = run(["run", "dance", "--team", "demo"], env)
    assert bad_job.returncode == 2 and "invalid choice" in bad_job.stderr
