"""Copies of one prepared database, for the authorization matrix (tests/test_authorization.py).

A matrix cell must start from the prepared world and, when it is refused, leave every table as
it was. Copying the world for every cell is what made the matrix slow (a `CREATE DATABASE ...
TEMPLATE` costs a quarter of a second on an idle machine, seconds on a busy one), so:

- `shared` is ONE copy on which refused cells run one after another, each between two
  snapshots of every table. A refused cell changes nothing, so the next one starts from the
  world; one that wrongly changes something fails, and `renew()` replaces the copy so the
  cells after it start from the world again.
- `own()` gives an allowed cell a world of its own: a file copy on SQLite (a fraction of a
  millisecond); on PostgreSQL the shared copy, through one connection whose outer transaction
  is rolled back afterwards (the engine's `session.begin()` becomes a savepoint; SQLAlchemy's
  "join an external transaction" recipe), then checked to be the world again.
- `snapshot()` reads every table of the database (the catalog's list, not only our models:
  Alembic's and the Slack store's tables too) in ONE query: each table's rows as text,
  sorted, joined.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from storage import migrate
from storage.database import Database
from tests.conftest import POSTGRES_ADMIN_URL, _admin

T = TypeVar("T")
Snapshot = dict[str, str | None]  # table name: its rows as text, sorted (None: no rows)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


class Joined(Database):
    """A Database whose sessions all run inside `connection`'s open transaction: each
    `session.begin()` is a savepoint, so the caller's rollback undoes every commit. It has no
    engine of its own (no `Database.__init__`): it borrows the shared copy's."""

    def __init__(self, database: Database, connection: AsyncConnection) -> None:
        self.url = database.url
        self.engine = database.engine
        self.sessions = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )


class Copies:
    """Copies of one prepared world on one database (see the module's docstring)."""

    kind = ""

    def __init__(self, template_url: str) -> None:
        self.template_url = template_url  # the world; never opened by a cell
        self.shared = Database(template_url)  # replaced by `start()`
        self.query = ""
        self.world: Snapshot = {}
        self.copies_made = 0

    async def start(self) -> None:
        self.shared = Database(await self._copy())
        self.query = await self._snapshot_query(self.shared)
        self.world = await self.snapshot(self.shared)

    async def close(self) -> None:
        await self._forget(self.shared)

    async def renew(self) -> None:
        """A new shared copy, the world again (after a cell that changed the old one)."""
        old, self.shared = self.shared, Database(await self._copy())
        await self._forget(old)

    async def snapshot(self, database: Database) -> Snapshot:
        async with database.engine.connect() as connection:
            rows = (await connection.execute(text(self.query))).all()
        return {name: content for name, content in rows}

    @asynccontextmanager
    async def own(self) -> AsyncIterator[Database]:
        """A world of the caller's own, thrown away afterwards."""
        url = await self._copy()
        database = Database(url)
        try:
            yield database
        finally:
            await self._forget(database)

    async def _forget(self, database: Database) -> None:
        await database.dispose()
        await self._drop(database.url)

    async def _copy(self) -> str:
        raise NotImplementedError

    async def _drop(self, url: str) -> None:
        raise NotImplementedError

    async def _snapshot_query(self, database: Database) -> str:
        raise NotImplementedError


class SqliteCopies(Copies):
    kind = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "world.db"
        super().__init__(f"sqlite+aiosqlite:///{self.path}")

    async def _copy(self) -> str:
        target = self.directory / f"copy-{uuid.uuid4().hex[:10]}.db"
        shutil.copyfile(self.path, target)  # the world's engine is disposed: no WAL pending
        self.copies_made += 1
        return f"sqlite+aiosqlite:///{target}"

    async def _drop(self, url: str) -> None:
        path = Path(url.split("///", 1)[1])
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)

    async def _snapshot_query(self, database: Database) -> str:
        parts = []
        async with database.engine.connect() as connection:
            tables = (
                await connection.execute(
                    text(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                        " AND name NOT LIKE 'sqlite%' ORDER BY name"
                    )
                )
            ).scalars()
            for table in list(tables):
                columns = (
                    await connection.execute(text(f"PRAGMA table_info({_ident(table)})"))
                ).all()
                row = " || '|' || ".join(f"quote({_ident(c.name)})" for c in columns)
                parts.append(
                    f"SELECT {_literal(table)} AS name, (SELECT group_concat(r, char(10)) FROM"
                    f" (SELECT {row} AS r FROM {_ident(table)} ORDER BY r)) AS content"
                )
        return " UNION ALL ".join(parts)


class PostgresCopies(Copies):
    kind = "postgresql"

    def __init__(self) -> None:
        self.base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        self.name = f"authz_world_{uuid.uuid4().hex[:10]}"
        super().__init__(f"{self.base}/{self.name}")

    async def create(self) -> None:
        await _admin(f"CREATE DATABASE {_ident(self.name)}")

    async def destroy(self) -> None:
        await _admin(f"DROP DATABASE IF EXISTS {_ident(self.name)} WITH (FORCE)")

    async def _copy(self) -> str:
        cell = f"authz_copy_{uuid.uuid4().hex[:10]}"
        await _admin(f"CREATE DATABASE {_ident(cell)} TEMPLATE {_ident(self.name)}")
        self.copies_made += 1
        return f"{self.base}/{cell}"

    async def _drop(self, url: str) -> None:
        await _admin(f"DROP DATABASE IF EXISTS {_ident(url.rsplit('/', 1)[1])} WITH (FORCE)")

    async def _snapshot_query(self, database: Database) -> str:
        async with database.engine.connect() as connection:
            tables = (
                await connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                        " ORDER BY tablename"
                    )
                )
            ).scalars()
            return " UNION ALL ".join(
                f"SELECT {_literal(table)} AS name, (SELECT string_agg(r::text, E'\\n'"
                f' ORDER BY r::text COLLATE "C") FROM {_ident(table)} AS r) AS content'
                for table in list(tables)
            )

    @asynccontextmanager
    async def own(self) -> AsyncIterator[Database]:
        """The shared copy inside a transaction rolled back afterwards; then checked to be
        the world again (a write that escaped the transaction would otherwise leak into the
        next cells: the copy is renewed and the cell fails)."""
        async with self.shared.engine.connect() as connection:
            outer = await connection.begin()
            try:
                yield Joined(self.shared, connection)
            finally:
                await outer.rollback()
        escaped = changed_tables(self.world, await self.snapshot(self.shared))
        if escaped:
            await self.renew()
            raise AssertionError(f"writes outside the cell's transaction: {escaped}")


async def prepared(copies: Copies, build: Callable[[Database], Awaitable[T]]) -> T:
    """Migrates and fills the template with `build`, then makes the shared copy."""
    database = Database(copies.template_url)
    try:
        await migrate.upgrade(database)
        world = await build(database)
    finally:
        await database.dispose()
    await copies.start()
    return world
