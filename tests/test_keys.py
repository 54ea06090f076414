"""The sealing key (bot/keys.py): where it comes from, when it is made, when it is refused,
rotation, and the rows `key check` counts. The CLI, as processes, is in test_cli.py."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot import keys
from bot.settings import Settings
from storage import sealed, teams
from storage.database import Database
from storage.models import Intake
from storage.sealing import SealBroken, Sealer, new_secret
from tests.conftest import START
from tests.outside_env import OUTSIDE


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    for name in OUTSIDE:
        monkeypatch.delenv(name, raising=False)


def settings(tmp_path: Path, **env: str) -> Settings:
    env.setdefault("PASSERELLE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'team.db'}")
    return Settings(_env_file=None, **env)  # type: ignore[arg-type]


def private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_local_sandbox_gets_a_key_file_beside_its_database_once(tmp_path: Path) -> None:
    first = keys.load(settings(tmp_path))
    assert first.created and first.path == tmp_path / "team.key"
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    written = first.path.read_text()
    second = keys.load(settings(tmp_path))
    assert not second.created and second.key_id == first.key_id
    assert first.path.read_text() == written
    # What the first sealed, the second opens: the point of a key kept across restarts.
    blob = first.sealer.seal("p", {"text": "bonjour"})
    assert second.sealer.open("p", blob) == {"text": "bonjour"}


def test_a_check_does_not_make_a_key(tmp_path: Path) -> None:
    with pytest.raises(keys.KeyProblem, match="no sealing key yet"):
        keys.load(settings(tmp_path), create=False)
    assert not (tmp_path / "team.key").exists()


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    """Eight processes make the key at once: one file wins, and all then hold the same key."""
    program = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from bot import keys
        from bot.settings import Settings
        from storage.sealing import new_secret
        secret = new_secret()
        sys.stdin.readline()  # start together
        created = keys.create_key_file(Path("{tmp_path / "race.key"}"), secret)
        url = "sqlite+aiosqlite:///{tmp_path / "race.db"}"
        key = keys.load(Settings(_env_file=None, PASSERELLE_DATABASE_URL=url))
        print(key.key_id, created)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", program],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    outputs = [racer.communicate(timeout=60)[0].split() for racer in racers]
    assert all(racer.returncode == 0 for racer in racers)
    assert len({key_id for key_id, _ in outputs}) == 1
    assert [created for _, created in outputs].count("True") == 1
    assert [p.name for p in tmp_path.iterdir() if "key" in p.name] == ["race.key"]  # no leftovers


def test_create_key_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    assert keys.create_key_file(path, "a" * 40)
    assert not keys.create_key_file(path, "b" * 40)
    assert path.read_text().strip() == "a" * 40


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = private_file(tmp_path / "sealing.key", new_secret(), mode)
    with pytest.raises(keys.KeyProblem, match=rf"permissions {mode:04o} .* too open") as refused:
        keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY_FILE=str(path)))
    assert f"chmod 600 {path}" in str(refused.value)
    # The file made beside the database is held to the same rule.
    beside = private_file(tmp_path / "team.key", new_secret(), mode)
    with pytest.raises(keys.KeyProblem, match="too open"):
        keys.load(settings(tmp_path))
    previous = private_file(tmp_path / "old.keys", new_secret(), mode)
    with pytest.raises(keys.KeyProblem, match="too open"):
        keys.load(
            settings(
                tmp_path,
                PASSERELLE_SECRET_KEY=new_secret(),
                PASSERELLE_PREVIOUS_SECRET_KEYS_FILE=str(previous),
            )
        )
    assert beside.exists()


def test_a_key_file_named_by_the_setting_is_used(tmp_path: Path) -> None:
    secret = new_secret()
    path = private_file(tmp_path / "sealing.key", secret + "\n")
    key = keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY_FILE=str(path)))
    assert key.key_id == Sealer(secret).key_id and key.path == path
    assert not (tmp_path / "team.key").exists()  # a configured key: nothing made


@pytest.mark.parametrize(
    "platform",
    [
        {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1"},
        {"SLACK_APP_TOKEN": "xapp-1"},
        {"MICROSOFT_APP_ID": "00000000-0000-0000-0000-000000000000"},
    ],
)
def test_a_chat_platform_without_a_key_is_refused(tmp_path: Path, platform: dict[str, str]) -> None:
    with pytest.raises(keys.KeyProblem) as refused:
        keys.load(settings(tmp_path, **platform))
    message = str(refused.value)
    assert "opened after a restart" in message  # why
    assert "passerelle key new" in message and "PASSERELLE_SECRET_KEY_FILE" in message  # how
    assert not (tmp_path / "team.key").exists()
    # Even with the sandbox switched on: real people's submissions may arrive.
    with pytest.raises(keys.KeyProblem):
        keys.load(settings(tmp_path, PASSERELLE_SANDBOX="true", **platform))


def test_postgresql_without_a_key_is_refused(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://passerelle@127.0.0.1:5432/passerelle"
    with pytest.raises(keys.KeyProblem, match="not a local SQLite file"):
        keys.load(settings(tmp_path, PASSERELLE_DATABASE_URL=url))
    secret = new_secret()
    key = keys.load(settings(tmp_path, PASSERELLE_DATABASE_URL=url, PASSERELLE_SECRET_KEY=secret))
    assert key.key_id == Sealer(secret).key_id


def test_an_in_memory_database_gets_a_key_that_dies_with_it(tmp_path: Path) -> None:
    key = keys.load(settings(tmp_path, PASSERELLE_DATABASE_URL="sqlite+aiosqlite://"))
    assert key.ephemeral and key.path is None
    assert list(tmp_path.iterdir()) == []


def test_unusable_keys_are_refused_with_their_source(tmp_path: Path) -> None:
    short = "x" * 31
    with pytest.raises(keys.KeyProblem, match=r"PASSERELLE_SECRET_KEY is too short \(31"):
        keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY=short))
    path = private_file(tmp_path / "short.key", short)
    with pytest.raises(keys.KeyProblem, match=r"short\.key is too short"):
        keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY_FILE=str(path)))
    empty = private_file(tmp_path / "empty.key", "\n")
    with pytest.raises(keys.KeyProblem, match="is empty"):
        keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY_FILE=str(empty)))
    with pytest.raises(keys.KeyProblem, match="does not exist"):
        keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY_FILE=str(tmp_path / "none.key")))
    with pytest.raises(keys.KeyProblem, match=r"PREVIOUS_SECRET_KEYS \(#2\) is too short"):
        keys.load(
            settings(
                tmp_path,
                PASSERELLE_SECRET_KEY=new_secret(),
                PASSERELLE_PREVIOUS_SECRET_KEYS=f"{new_secret()},{short}",
            )
        )
    with pytest.raises(keys.KeyProblem, match="only one"):
        keys.load(
            settings(
                tmp_path,
                PASSERELLE_SECRET_KEY=new_secret(),
                PASSERELLE_SECRET_KEY_FILE=str(path),
            )
        )


@pytest.mark.parametrize("where", ["variable", "file"])
def test_rotation_opens_old_blobs_and_seals_new_ones_under_the_new_key(
    tmp_path: Path, where: str
) -> None:
    old, older, new = new_secret(), new_secret(), new_secret()
    old_blob = keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY=old)).sealer.seal("p", [1])
    if where == "variable":
        previous = {"PASSERELLE_PREVIOUS_SECRET_KEYS": f" {older} , {old} "}
    else:
        path = private_file(tmp_path / "previous.keys", f"{older}\n\n{old}\n")
        previous = {"PASSERELLE_PREVIOUS_SECRET_KEYS_FILE": str(path)}
    rotated = keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY=new, **previous))
    assert rotated.sealer.open("p", old_blob) == [1]
    assert [s.key_id for s in rotated.previous] == [Sealer(older).key_id, Sealer(old).key_id]
    new_blob = rotated.sealer.seal("p", [2])
    assert rotated.key_id == Sealer(new).key_id != Sealer(old).key_id
    assert rotated.current.opens(new_blob) and not rotated.current.opens(old_blob)
    assert not Sealer(old).opens(new_blob)  # sealed under the new key, not the old
    # The old secret removed: its blobs no longer open.
    with pytest.raises(SealBroken):
        keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY=new)).sealer.open("p", old_blob)


def test_the_secret_never_shows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret, old = new_secret(), new_secret()
    configured = settings(
        tmp_path, PASSERELLE_SECRET_KEY=secret, PASSERELLE_PREVIOUS_SECRET_KEYS=old
    )
    shown = [repr(configured), str(configured), configured.model_dump_json()]
    shown.append(str(configured.model_dump()))
    with caplog.at_level(logging.DEBUG):
        key = keys.load(configured)
    shown.append(caplog.text)
    assert key.key_id in caplog.text  # the log says which key, by its id
    for text in shown:
        assert secret not in text and old not in text
    with pytest.raises(keys.KeyProblem) as refused:
        keys.load(settings(tmp_path, PASSERELLE_SECRET_KEY="too short but secret"))
    assert "too short but secret" not in str(refused.value)


def test_key_beside_never_names_the_database() -> None:
    assert keys.key_path_beside(Path("data/passerelle.db")) == Path("data/passerelle.key")
    assert keys.key_path_beside(Path("x.key")) == Path("x.key.key")
    assert keys.key_path_beside(Path("base")) == Path("base.key")


async def test_count_sealed_names_each_row_by_its_key(database: Database, tmp_path: Path) -> None:
    """Counted on SQLite and PostgreSQL, from the blobs' headers: nothing is opened."""
    current, old, lost = new_secret(), new_secret(), new_secret()
    key = keys.load(
        settings(
            tmp_path,
            PASSERELLE_DATABASE_URL=database.url,
            PASSERELLE_SECRET_KEY=current,
            PASSERELLE_PREVIOUS_SECRET_KEYS=old,
        )
    )
    async with database.session() as session, session.begin():
        team = await teams.create_team(session, slug="t", name="T", now=START)
        for secret, count in ((current, 3), (old, 2), (lost, 1)):
            for _ in range(count):
                await sealed.seal(
                    session, Sealer(secret), team_id=team.id, kind="ballot", batch="b", payload={}
                )
        blob = Sealer(lost).seal("intake", {"who": "x"})
        await session.execute(insert(Intake).values(platform="slack", blob=blob))
    rows = await keys.count_sealed(database, key)
    assert rows.current == 3
    assert rows.previous == {Sealer(old).key_id: 2}
    assert rows.unopenable == 2 and rows.total == 7
