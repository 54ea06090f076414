"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from adapters.slack.installations import TABLES as SLACK_TABLES
from storage import migrate
from storage.database import Database
from storage.models import Base

# alembic.ini's model_modules (storage.coordination, the platforms' tables) join Base.metadata.
FOREIGN_TABLES = migrate.foreign_tables()


def only_our_models(item: Any, name: str, kind: str, reflected: bool, compare_to: Any) -> bool:
    """slack_sdk's tables (migration 0002) are slack_sdk's schema, not our models."""
    table = item if kind == "table" else getattr(item, "table", None)
    return getattr(table, "name", name) not in FOREIGN_TABLES


async def test_migrated_database_matches_the_models(database: Database) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"include_object": only_our_models})
        return compare_metadata(context, Base.metadata)

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_private_tables_have_no_rowid_on_sqlite(database: Database) -> None:
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


async def test_slack_tables_are_slack_sdks(database: Database) -> None:
    from sqlalchemy import inspect

    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert names >= SLACK_TABLES


def test_one_revision_graph_across_storage_and_the_platforms() -> None:
    """Slack's migration lives in its package, in the same linear graph as before."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    chain = [(s.revision, s.down_revision) for s in reversed(list(scripts.walk_revisions()))]
    assert chain[:3] == [("0001", None), ("0002", "0001"), ("0003", "0002")]
    assert scripts.get_heads() == [chain[-1][0]]
    assert "adapters/slack/migrations" in scripts.get_revision("0002").path
    assert "teams_conversations" in Base.metadata.tables


async def test_every_migration_downgrades_to_an_empty_database(database: Database) -> None:
    """From head back to base, through every revision's downgrade, then up again."""

    def down_then_up(connection: Connection) -> list[str]:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        left = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        command.upgrade(config, "heads")
        return left

    async with database.engine.begin() as connection:
        assert await connection.run_sync(down_then_up) == []
    async with database.engine.connect() as connection:
        assert "teams" in await connection.run_sync(lambda c: inspect(c).get_table_names())
