"""Run Alembic migrations from code (`passerelle db upgrade`, tests, `make run`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.sealing import Sealer

INI = Path(__file__).with_name("alembic.ini")


def alembic_config() -> Config:
    config = Config(str(INI))
    config.set_main_option("script_location", str(INI.with_name("migrations")))
    return config


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
