"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import coordination  # noqa: F401  (its tables join Base.metadata)
from storage.models import Base
from storage.slack_installations import TABLES as SLACK_TABLES


def only_our_models(item, name, kind, reflected, compare_to):
    """slack_sdk's tables (migration 0002) are slack_sdk's schema, not our models."""
    table = item if kind == "table" else getattr(item, "table", None)
    return getattr(table, "name", name) not in SLACK_TABLES


async def test_migrated_database_matches_the_models(database):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"include_object": only_our_models})
        return compare_metadata(context, Base.metadata)

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_private_tables_have_no_rowid_on_sqlite(database):
    if database.engine.dialect.name != "sqlite":
        return
    async with database.engine.connect() as connection:
        for table in (
            "sealed",
            "intake",
            "open_answers",
            "tensions",
            "successes",
            "tension_tokens",
        ):
            sql = (
                await connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
                )
            ).scalar_one()
            assert "WITHOUT ROWID" in sql.upper(), table


async def test_slack_tables_are_slack_sdks(database):
    from sqlalchemy import inspect

    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert names >= SLACK_TABLES
