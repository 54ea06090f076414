"""Scratch databases for a bench run: a SQLite file under bench/out/ or a PostgreSQL database
made through an admin connection and dropped at the end (other benches or tests may share the
server, hence the unique names)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from storage.database import Database

OUT = Path(__file__).resolve().parent.parent / "out"
KINDS = ("sqlite", "postgresql", "both")


def default_postgres_url(database: str) -> str:
    """The admin URL a bench uses unless told: PASSERELLE_BENCH_POSTGRES_URL, else the local
    server's `database`."""
    return os.environ.get(
        "PASSERELLE_BENCH_POSTGRES_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    )


def kinds(database: str) -> list[str]:
    """`--database sqlite|postgresql|both` as the databases to run on, in order."""
    return ["sqlite", "postgresql"] if database == "both" else [database]


def plain(url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def sibling_url(admin_url: str, name: str) -> str:
    """The URL of database `name` on the admin connection's server."""
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def unique_name(prefix: str, digits: int = 8) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:digits]}"


async def admin(admin_url: str, statement: str) -> None:
    """One statement on its own admin connection (CREATE/DROP DATABASE run outside a
    transaction)."""
    import asyncpg

    connection = await asyncpg.connect(plain(admin_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def postgres_version(admin_url: str) -> str | None:
    """The server's version, or None when it cannot be reached."""
    try:
        import asyncpg

        connection = await asyncpg.connect(plain(admin_url), timeout=3)
    except Exception:  # any failure: not reachable
        return None
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


def remove_sqlite(path: Path) -> None:
    """The SQLite file and what SQLite keeps beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str, prefix: str, digits: int = 8) -> AsyncIterator[str]:
    """A PostgreSQL database for this run only (a unique name), dropped afterwards; its URL."""
    name = unique_name(prefix, digits)
    await admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield sibling_url(admin_url, name)
    finally:
        await admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Scratch:
    """One database a bench builds and measures: `open()` makes it empty, `drop()` removes it."""

    kind: str  # "sqlite" or "postgresql"
    admin_url: str
    sqlite_file: Path
    pg_name: str

    @property
    def name(self) -> str:
        return str(self.sqlite_file) if self.kind == "sqlite" else self.pg_name

    async def open(self) -> Database:
        if self.kind == "sqlite":
            self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            remove_sqlite(self.sqlite_file)
            return Database(sqlite_url(self.sqlite_file))
        await admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        await admin(self.admin_url, f'CREATE DATABASE "{self.pg_name}"')
        return Database(sibling_url(self.admin_url, self.pg_name))

    async def drop(self) -> None:
        if self.kind == "sqlite":
            remove_sqlite(self.sqlite_file)
        else:
            await admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


async def settle(db: Database, tables: Sequence[str] = ()) -> None:
    """What the running app would have done by now: VACUUM ANALYZE (PostgreSQL's autovacuum)
    of `tables` (all when none), a WAL checkpoint (SQLite, as `storage.maintenance` does)."""
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            await connection.commit()
        else:
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE " + ", ".join(tables)))


async def analyze(db: Database) -> None:
    """PostgreSQL: statistics on every table (what autovacuum would do); SQLite: nothing."""
    if db.is_sqlite:
        return
    async with db.engine.connect() as connection:
        auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("ANALYZE"))


async def database_size_mib(db: Database) -> float:
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            pages = await connection.scalar(text("PRAGMA page_count"))
            size = await connection.scalar(text("PRAGMA page_size"))
            return float(pages * size) / 2**20
        return (
            float(await connection.scalar(text("SELECT pg_database_size(current_database())")))
            / 2**20
        )
