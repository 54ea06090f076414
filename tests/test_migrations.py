"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.models import Base


async def test_migrated_database_matches_the_models(database):
    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_private_tables_have_no_rowid_on_sqlite(database):
    if database.engine.dialect.name != "sqlite":
        return
    async with database.engine.connect() as connection:
        for table in ("answers", "open_answers", "tensions", "successes", "pre_reflections"):
            sql = (
                await connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
                )
            ).scalar_one()
            assert "WITHOUT ROWID" in sql.upper(), table
