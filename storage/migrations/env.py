"""Alembic environment.

`storage.migrate.upgrade` hands over a live connection (config.attributes["connection"]) so an
upgrade can run inside an already running event loop; run by hand, this file opens its own.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from storage.database import DEFAULT_URL, make_engine
from storage.migrate import foreign_tables
from storage.models import Base, UtcDateTime

config = context.config
# alembic.ini's model_modules (a platform's tables among them) join Base.metadata on import.
FOREIGN_TABLES = foreign_tables(config)
target_metadata = Base.metadata


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Migrations name the database type, not our Python-side decorator of it."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(
    item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate leaves a library's tables alone (slack_sdk's: their schema is its own)."""
    table = item if kind == "table" else getattr(item, "table", None)
    return getattr(table, "name", name) not in FOREIGN_TABLES


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    # Run by hand: `alembic -c storage/alembic.ini -x url=sqlite+aiosqlite:///./x.db upgrade head`.
    # (`passerelle db upgrade` hands over its own connection; settings are read only in bot/.)
    url = context.get_x_argument(as_dictionary=True).get("url", DEFAULT_URL)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


shared = config.attributes.get("connection")
if shared is not None:
    run_with(shared)
else:
    asyncio.run(run_standalone())
