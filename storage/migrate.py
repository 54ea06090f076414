"""Run Alembic migrations from code (`passerelle db upgrade`, tests, `make run`).

One revision graph whose scripts live beside what they create: alembic.ini's
`version_locations` lists storage's own and each platform's `migrations/` directory, and its
`model_modules` the modules whose tables join `Base.metadata` (a platform's tables among them).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.sealing import Sealer

INI = Path(__file__).with_name("alembic.ini")


def alembic_config() -> Config:
    config = Config(str(INI))
    config.set_main_option("script_location", str(INI.with_name("migrations")))
    # A platform's location reaches it through storage/.. : resolved here, so that a path
    # given as `--version-path` (a new revision in a platform's package) compares equal.
    locations = [str(Path(p).resolve()) for p in config.get_version_locations_list() or []]
    config.set_main_option("version_locations", "\n".join(locations))
    return config


def import_models(config: Config | None = None) -> list[ModuleType]:
    """Import alembic.ini's `model_modules`, so their tables join `Base.metadata`. Named in the
    configuration, not imported here: storage imports nothing above it (lint-imports)."""
    names = (config or alembic_config()).get_main_option("model_modules") or ""
    return [importlib.import_module(name) for name in names.split()]


def foreign_tables(config: Config | None = None) -> frozenset[str]:
    """Tables a library owns (a model module's `FOREIGN_TABLES`, e.g. slack_sdk's): created by
    a migration from the library's own builders, left alone by autogenerate."""
    modules = import_models(config)
    return frozenset(name for m in modules for name in getattr(m, "FOREIGN_TABLES", ()))


async def upgrade(
    database: Database, revision: str = "head", *, sealer: Sealer | None = None
) -> None:
    """Upgrade inside the running loop by sharing one connection with Alembic. `sealer`: the
    server's key, for migrations that seal what was stored in the clear (0005)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        config.attributes["sealer"] = sealer
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)
