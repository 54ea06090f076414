"""Engine and sessions, chosen by URL: SQLite by default, PostgreSQL through asyncpg.

A database server can go away (a restart, a failover, an upgrade): every pooled connection is
pinged before use (`pool_pre_ping`: a connection the server closed is replaced, so the process
recovers by itself when the server returns), a new connection gives up after CONNECT_SECONDS
(asyncpg waits 60 s by default, far past Slack's 3 s), and `unavailable` tells an outage
(answer "try again in a minute", keep the work for later) from a failure of the work itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DEFAULT_URL = "sqlite+aiosqlite:///./passerelle.db"
# Connections to other services (Slack, the Bot Connector) fail with OSErrors too: a chain
# that passes through their client's error is about them, not the database.
_OTHER_CLIENTS = ("aiohttp", "slack_sdk", "requests", "urllib3", "msrest", "botframework")
# A connection to a server that answers takes milliseconds; one that does not must fail soon
# enough for an ack that has to reach Slack within 3 s (see docs/operations.md).
CONNECT_SECONDS = 1.5
# Waiting for a pooled connection when all are busy: a busy server, not an outage, but an
# answer past this is useless to Slack and the Bot Connector alike.
POOL_WAIT_SECONDS = 10.0

try:  # the PostgreSQL driver's own words for "not reachable now" (absent without asyncpg)
    import asyncpg.exceptions as _pg

    _PG_AWAY: tuple[type[BaseException], ...] = (
        _pg.PostgresConnectionError,  # class 08: the connection failed or was closed
        _pg.OperatorInterventionError,  # 57P0x: shutting down, starting up, crashed
        _pg.TooManyConnectionsError,
    )
except ImportError:  # pragma: no cover - SQLite-only installs
    _PG_AWAY = ()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str = DEFAULT_URL, **engine_options: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = make_engine(url, **engine_options)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> AsyncSession:
        return self.sessions()

    async def reachable(self, patience: float = CONNECT_SECONDS + 0.5) -> bool:
        """Whether the database answers a trivial query within `patience` seconds."""
        try:
            async with asyncio.timeout(patience), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def make_engine(url: str, **options: Any) -> AsyncEngine:
    # An error's message must never quote what someone wrote (a tension, an open answer).
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        # Several writers (the web app, the scheduler, the outbox worker) share one file:
        # wait for the lock instead of failing at once.
        options.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_timeout", POOL_WAIT_SECONDS)
    if "+asyncpg" in url:
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("timeout", CONNECT_SECONDS)
        options["connect_args"] = connect_args
    return create_async_engine(url, **options)


def unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached now (down, restarting, out of
    connections or too slow to connect) rather than that the work itself failed: the work is
    to be kept and tried again once the database is back, without counting it against it.

    SQLAlchemy wraps the driver's errors (`.orig`, `__cause__`) and raises a refused
    connection as the bare OSError; every link of the chain is looked at."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if type(current).__module__.split(".")[0] in _OTHER_CLIENTS:
            continue
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
            return True  # a connection lost, or none free in the pool in time
        if isinstance(current, (OSError, TimeoutError, *_PG_AWAY)):
            return True  # refused, reset, unreachable; a connect that timed out
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True  # another writer held SQLite's lock past the busy timeout
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted content is overwritten, not left in free pages (tension drafts, erased ledgers).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
