"""PostgreSQL databases made in a cluster of the test module's own (its own port, autovacuum
off), for tests whose outcome depends on which transactions run in the whole cluster: the
maintenance's VACUUM FULL waits for every older transaction holding an id, in any database, so
on the shared cluster another pytest worker's migration can postpone it. A module uses it by
importing both fixtures: `from tests.own_cluster import database_url, own_cluster`; its
`database_url` replaces conftest's (SQLite stays a file)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import _plain, unavailable
from tests.pg_cluster import ThrowawayCluster, postgres_bin


async def _execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_plain(url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _without_autovacuum(cluster: ThrowawayCluster) -> None:
    """Autovacuum off, as on the shared cluster: an autovacuum's ANALYZE holds a snapshot, which
    postpones the maintenance as any older snapshot does; the tests decide who holds one."""
    await _execute(cluster.url, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()")
    while True:  # the reload is signalled, not awaited: a new session shows when it is done
        connection = await asyncpg.connect(_plain(cluster.url))
        try:
            if await connection.fetchval("SHOW autovacuum") == "off":
                return
        finally:
            await connection.close()


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[ThrowawayCluster]:
    try:
        postgres_bin()
    except RuntimeError as missing:
        unavailable(str(missing))
    cluster = ThrowawayCluster()
    asyncio.run(cluster.__aenter__())
    try:
        asyncio.run(_without_autovacuum(cluster))
        yield cluster
    finally:
        asyncio.run(cluster.close())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """conftest's, but PostgreSQL's databases are made in this module's own cluster."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"
        return
    cluster: ThrowawayCluster = request.getfixturevalue("own_cluster")
    name = f"passerelle_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(cluster.url, f'CREATE DATABASE "{name}"'))
    yield cluster.url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_execute(cluster.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
