"""Raw SQL reads, as someone holding the database would make them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from storage.database import Database


def is_pg(database: Database) -> bool:
    return database.engine.dialect.name == "postgresql"


async def fetch(database: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of ``sql`` as a dict, outside any session."""
    async with database.engine.connect() as connection:
        result = await connection.execute(text(sql), params)
        return [dict(row) for row in result.mappings().all()]
