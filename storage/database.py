"""Engine and sessions, chosen by URL: SQLite by default, PostgreSQL through asyncpg."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DEFAULT_URL = "sqlite+aiosqlite:///./passerelle.db"


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
    return create_async_engine(url, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted content is overwritten, not left in free pages (tension drafts, erased ledgers).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
