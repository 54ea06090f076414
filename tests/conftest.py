"""Shared fixtures: a migrated database on SQLite and (when reachable) PostgreSQL, a clock
under the test's control, the engine, and a recording sender behind a real outbox worker."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.outbox_worker import OutboxWorker
from dialogs.engine import Engine
from dialogs.ports import Delivery
from storage import migrate
from storage.database import Database

# Fixtures shared by several test modules, kept next to what they set up.
pytest_plugins = [
    "tests.connector_fixtures",
    "tests.fake_slack_fixtures",
    "tests.teams_rig",
]

POSTGRES_ADMIN_URL = os.environ.get(
    "PASSERELLE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# Set by .ci/run: a missing PostgreSQL or Chromium fails the run instead of skipping.
REQUIRE_SERVICES = os.environ.get("PASSERELLE_REQUIRE_SERVICES") == "1"
# A Tuesday, 10:00 in Toronto: inside working hours, outside quiet hours.
START = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def unavailable(reason: str) -> None:
    """Skip on a laptop without the service; fail where CI promised it."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


class Clock:
    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


class RecordingSender:
    """A sender that keeps what it was asked to deliver."""

    platform = "sandbox"

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    async def send(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)

    def to(self, address: str, kind: str = "direct") -> list[Delivery]:
        return [d for d in self.deliveries if d.address == address and d.kind == kind]

    def titles(self, address: str, kind: str = "direct") -> list[str]:
        return [d.card.title for d in self.to(address, kind)]


def postgres_reachable() -> bool:
    import asyncpg

    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(_plain(POSTGRES_ADMIN_URL), timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def postgres_ok() -> bool:
    return postgres_reachable()


# For a module whose tests exercise dialogs, not SQL: ``pytestmark = SQLITE_ONLY``.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_ok: bool
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"
        return
    if not postgres_ok:
        unavailable("PostgreSQL is not reachable at " + POSTGRES_ADMIN_URL)
    name = f"passerelle_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_plain(POSTGRES_ADMIN_URL))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await migrate.upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(database: Database, clock: Clock) -> Engine:
    return Engine(database, clock=clock)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def worker(database: Database, sender: RecordingSender, clock: Clock) -> OutboxWorker:
    return OutboxWorker(database, {"sandbox": sender}, clock=clock, name="test-worker")


_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any name lookup or connection beyond loopback, from any thread."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in _LOOPBACK:
            raise OSError(f"test tried to resolve {name!r}: loopback only")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            raise OSError(f"test tried to connect to {address!r}: loopback only")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
