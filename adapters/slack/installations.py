"""Slack installations and OAuth states in our own database, in slack_sdk's own schema.

The tables are slack_sdk's (`SQLAlchemyInstallationStore.build_installations_table`,
`build_bots_table`, `SQLAlchemyOAuthStateStore.build_oauth_states_table`, default names);
migration 0002 (adapters/slack/migrations/) creates them from the same builders
(`slack_metadata`). Saving an installation also resumes sends to its workspace, which an
uninstall or a revoked token had suspended.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.state_store.sqlalchemy import (
    AsyncSQLAlchemyOAuthStateStore,
    SQLAlchemyOAuthStateStore,
)
from sqlalchemy import MetaData

from storage import outbox
from storage.database import Database

PLATFORM = "slack"
INSTALLATIONS = SQLAlchemyInstallationStore.default_installations_table_name
BOTS = SQLAlchemyInstallationStore.default_bots_table_name
OAUTH_STATES = SQLAlchemyOAuthStateStore.default_table_name
TABLES = frozenset({INSTALLATIONS, BOTS, OAUTH_STATES})
# Read by storage.migrate (this module is in alembic.ini's model_modules): autogenerate and the
# schema test leave these alone, their schema is slack_sdk's, not one of our models.
FOREIGN_TABLES = TABLES
STATE_EXPIRATION_SECONDS = 600


def slack_metadata() -> MetaData:
    """slack_sdk's three tables on a fresh MetaData (what migration 0002 creates)."""
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS)
    SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, OAUTH_STATES)
    return metadata


class InstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's async SQLAlchemy store on our engine; an install resumes its workspace."""

    def __init__(self, database: Database, client_id: str) -> None:
        super().__init__(client_id=client_id, engine=database.engine)
        self.database = database

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(installation)
        if installation.team_id:
            await resume_workspace(self.database, installation.team_id)

    async def bot_token(self, team_id: str, enterprise_id: str | None = None) -> str | None:
        """The latest bot token installed in a workspace, if any."""
        bot: Any = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        return None if bot is None else bot.bot_token


def state_store(
    database: Database, expiration_seconds: int = STATE_EXPIRATION_SECONDS
) -> AsyncSQLAlchemyOAuthStateStore:
    return AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=expiration_seconds, engine=database.engine
    )


async def suspend_workspace(database: Database, team_id: str, now: dt.datetime) -> None:
    async with database.session() as session, session.begin():
        await outbox.suspend(session, PLATFORM, team_id, now)


async def resume_workspace(database: Database, team_id: str) -> bool:
    async with database.session() as session, session.begin():
        return await outbox.resume(session, PLATFORM, team_id)
