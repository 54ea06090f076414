"""INSERT ... ON CONFLICT DO NOTHING for both dialects: the base of every idempotent write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(
    session: AsyncSession, table: Table, values: dict[str, Any], conflict: list[str]
) -> bool:
    """Insert a row unless one with the same `conflict` columns exists. True when inserted."""
    dialect = session.bind.dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = builder(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))
