"""The CLI as an admin runs it: separate processes on a real database file."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from storage import migrate, sealed, teams
from storage.database import Database
from storage.sealing import Sealer, new_secret
from tests.cluster import free_port
from tests.conftest import START
from tests.outside_env import OUTSIDE


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A fresh clone's environment: nothing about keys or platforms, a database in tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
    env["PASSERELLE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return {**env, **extra}


def run(
    args: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,  # the tests that care run where no .env is
        capture_output=True,
        text=True,
        timeout=120,
    )


def key_id_in(output: str) -> str:
    found = re.search(r"key id ([0-9a-f]{8})", output)
    assert found, output
    return found.group(1)


def test_upgrade_demo_and_run_a_job(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run(["db", "upgrade"], env).returncode == 0
    first, second = run(["demo"], env), run(["demo"], env)
    assert "created" in first.stdout and "already exists" in second.stdout
    opened = run(["run", "checkin", "--team", "demo"], env)
    assert opened.returncode == 0 and "9 people asked" in opened.stdout
    again = run(["run", "checkin", "--team", "demo", "--lang", "fr"], env)
    assert "déjà ouvert" in again.stdout
    missing = run(["run", "checkin", "--team", "nowhere"], env)
    assert missing.returncode == 2 and "no team named 'nowhere'" in missing.stderr
    bad_job = run(["run", "dance", "--team", "demo"], env)
    assert bad_job.returncode == 2 and "invalid choice" in bad_job.stderr


def test_make_run_creates_the_key_beside_the_database_once(tmp_path: Path) -> None:
    """`make run` on a fresh clone: the key file is made by the first command that needs it,
    mode 0600, its place said once; every later run uses the same key."""
    env = environment(tmp_path)
    upgraded = run(["db", "upgrade"], env, tmp_path)
    first = run(["demo"], env, tmp_path)
    key_file = tmp_path / "cli.key"
    assert upgraded.returncode == 0 and first.returncode == 0, upgraded.stderr + first.stderr
    said = upgraded.stdout + first.stdout
    assert said.count(f"sealing key: created {key_file}") == 1
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    written = key_file.read_text()
    checked = run(["key", "check"], env, tmp_path)
    assert checked.returncode == 0 and str(key_file) in checked.stdout
    second = run(["demo"], env, tmp_path)
    assert second.returncode == 0 and "sealing key: created" not in second.stdout
    assert key_file.read_text() == written
    again = run(["key", "check"], env, tmp_path)
    assert key_id_in(again.stdout) == key_id_in(checked.stdout)
    assert key_id_in(again.stdout) == Sealer(written.strip()).key_id


def wait_for_exit(process: subprocess.Popen[str], seconds: float) -> int:
    """The exit code, once the process has ended; fails if it is still running by then."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still running after {seconds} s") from None
    return process.returncode


def serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_with_slack_and_no_key_refuses_to_start(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        SLACK_SIGNING_SECRET="signing-secret",
        SLACK_BOT_TOKEN="xoxb-test",
        PASSERELLE_PORT="0",
        PASSERELLE_SCHEDULER="false",
    )
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    server = serve(env, tmp_path)
    assert wait_for_exit(server, 60) == 2  # refused before binding, not served until killed
    _, stderr = server.communicate()
    assert "no sealing key" in stderr
    assert "opened after a restart" in stderr  # why
    assert "passerelle key new" in stderr and "PASSERELLE_SECRET_KEY_FILE" in stderr  # how
    assert not (tmp_path / "cli.key").exists()  # no key made behind the operator's back


def test_a_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "sealing.key"
    key_file.write_text(new_secret())
    key_file.chmod(0o640)
    env = environment(tmp_path, PASSERELLE_SECRET_KEY_FILE=str(key_file))
    for args in (["demo"], ["key", "check"]):
        refused = run(args, env, tmp_path)
        assert refused.returncode == 2
        assert f"permissions 0640 for the key file {key_file} are too open" in refused.stderr
        assert f"chmod 600 {key_file}" in refused.stderr
    key_file.chmod(0o600)
    assert run(["key", "check"], env, tmp_path).returncode == 0


def test_the_secret_never_shows_in_output_or_logs(tmp_path: Path) -> None:
    secret, old = new_secret(), new_secret()
    port = free_port()
    env = environment(
        tmp_path,
        PASSERELLE_SECRET_KEY=secret,
        PASSERELLE_PREVIOUS_SECRET_KEYS=old,
        PASSERELLE_LOG_LEVEL="DEBUG",
        PASSERELLE_SCHEDULER="false",
        PASSERELLE_PORT=str(port),
    )
    outputs = [run(["db", "upgrade"], env, tmp_path), run(["demo"], env, tmp_path)]
    outputs.append(run(["run", "checkin", "--team", "demo"], env, tmp_path))
    outputs.append(run(["key", "check"], env, tmp_path))
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    server = serve(env, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:  # served: /healthz answers (start-up logged everything it logs)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the server did not answer in 60 s"
                time.sleep(0.1)  # polling a port: no event to await from another process
    finally:
        server.send_signal(signal.SIGTERM)
        wait_for_exit(server, 30)
    stdout, stderr = server.communicate()
    texts = [o.stdout + o.stderr for o in outputs] + [stdout + stderr]
    assert f"key id {Sealer(secret).key_id}" in stdout  # serve says which key, by its id
    for text in texts:
        assert secret not in text and old not in text


async def seal_rows(url: str, counts: dict[str, int]) -> None:
    """A migrated database with one team and rows sealed under each secret given."""
    database = Database(url)
    try:
        await migrate.upgrade(database)
        async with database.session() as session, session.begin():
            team = await teams.create_team(session, slug="t", name="T", now=START)
            for secret, count in counts.items():
                for _ in range(count):
                    await sealed.seal(
                        session,
                        Sealer(secret),
                        team_id=team.id,
                        kind="tension",
                        batch="week",
                        payload={"text": "confidential words"},
                    )
    finally:
        await database.dispose()


def test_key_check_counts_the_rows_it_cannot_open(tmp_path: Path) -> None:
    current, old, lost = new_secret(), new_secret(), new_secret()
    env = environment(tmp_path, PASSERELLE_SECRET_KEY=current, PASSERELLE_PREVIOUS_SECRET_KEYS=old)
    asyncio.run(seal_rows(env["PASSERELLE_DATABASE_URL"], {current: 2, old: 3, lost: 1}))
    checked = run(["key", "check"], env, tmp_path)
    assert checked.returncode == 1, checked.stderr
    lines = checked.stdout.splitlines()
    assert (
        f"sealing key: found, from PASSERELLE_SECRET_KEY (key id {Sealer(current).key_id})" in lines
    )
    assert f"previous keys: 1 (key id {Sealer(old).key_id})" in lines
    assert "sealed rows: 2 under the current key" in lines
    assert f"sealed rows: 3 under previous key {Sealer(old).key_id}" in lines
    assert "sealed rows: 1 that this server cannot open" in lines
    assert "confidential" not in checked.stdout + checked.stderr  # counts, never content
    # The lost secret found again and kept as a previous key: every row opens.
    env["PASSERELLE_PREVIOUS_SECRET_KEYS"] = f"{old},{lost}"
    recovered = run(["key", "check"], env, tmp_path)
    assert recovered.returncode == 0, recovered.stdout
    assert "sealed rows: 0 that this server cannot open" in recovered.stdout


def test_key_check_without_a_database_or_a_key(tmp_path: Path) -> None:
    env = environment(tmp_path, PASSERELLE_SECRET_KEY=new_secret())
    nothing_yet = run(["key", "check"], env, tmp_path)
    assert nothing_yet.returncode == 0 and "no database at" in nothing_yet.stdout
    assert not (tmp_path / "cli.db").exists()  # a check creates nothing
    unreachable = environment(
        tmp_path,
        PASSERELLE_SECRET_KEY=new_secret(),
        PASSERELLE_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none",
    )
    down = run(["key", "check"], unreachable, tmp_path)
    assert down.returncode == 1 and "not counted" in down.stdout
    no_key = run(["key", "check"], environment(tmp_path), tmp_path)
    assert no_key.returncode == 2 and "no sealing key yet" in no_key.stderr
    assert not (tmp_path / "cli.key").exists()


def test_key_new_prints_a_usable_secret_or_writes_a_private_file(tmp_path: Path) -> None:
    made = run(["key", "new"], environment(tmp_path), tmp_path)
    assert made.returncode == 0
    secret = made.stdout.strip()  # alone on stdout: `passerelle key new > file` works
    assert len(secret) >= 32 and "\n" not in secret
    assert Sealer(secret).key_id in made.stderr  # the advice, on stderr
    assert "PASSERELLE_SECRET_KEY" in made.stderr
    assert run(["key", "new"], environment(tmp_path), tmp_path).stdout.strip() != secret
    path = tmp_path / "etc" / "sealing.key"
    path.parent.mkdir()
    written = run(["key", "new", "--file", str(path)], environment(tmp_path), tmp_path)
    assert written.returncode == 0 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() not in written.stdout + written.stderr
    assert key_id_in(written.stdout) == Sealer(path.read_text().strip()).key_id
    again = run(["key", "new", "--file", str(path)], environment(tmp_path), tmp_path)
    assert again.returncode == 1 and "never overwritten" in again.stderr
    env = environment(tmp_path, PASSERELLE_SECRET_KEY_FILE=str(path))
    assert key_id_in(run(["key", "check"], env, tmp_path).stdout) == key_id_in(written.stdout)
