"""slack installations, bots and OAuth states (slack_sdk's own schema)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from adapters.slack.installations import TABLES, slack_metadata

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same builders slack_sdk's stores use, so the schema is exactly theirs.
    slack_metadata().create_all(bind=op.get_bind())


def downgrade() -> None:
    metadata = slack_metadata()
    metadata.drop_all(bind=op.get_bind(), tables=[metadata.tables[name] for name in TABLES])
