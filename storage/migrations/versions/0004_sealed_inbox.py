"""sealed inbox: sealed submissions, the intake, success tallies, tension tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 12:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sealed",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("sealed", schema=None) as batch_op:
        batch_op.create_index("sealed_by_batch", ["team_id", "kind", "batch"], unique=False)

    op.create_table(
        "intake",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "success_tallies",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "day"),
    )

    op.create_table(
        "tension_tokens",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("token"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("tension_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tension_tokens_week"), ["week"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tension_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tension_tokens_week"))
    op.drop_table("tension_tokens")
    op.drop_table("success_tallies")
    op.drop_table("intake")
    with op.batch_alter_table("sealed", schema=None) as batch_op:
        batch_op.drop_index("sealed_by_batch")
    op.drop_table("sealed")
