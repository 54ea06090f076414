"""shared state for several processes; summary readers decided by the team

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 15:30:00

- `marks`, `form_drafts`, `job_claims`, `send_paces` (storage/coordination.py): what each
  process used to keep in memory.
- `teams.summary_readers` and `members.reads_summaries`: a summary goes to members the team
  confirmed, no longer to whoever declares a management position. So that nobody who reads
  summaries today stops receiving them at the upgrade, members who declared a management or
  coordination position are confirmed; coordinators can withdraw them (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marks",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("marks_by_expiry", "marks", ["expires_at"])
    op.create_table(
        "form_drafts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("form_drafts_by_expiry", "form_drafts", ["expires_at"])
    op.create_table(
        "job_claims",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("occurrence", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "job", "occurrence"),
    )
    op.create_index("job_claims_by_time", "job_claims", ["claimed_at"])
    op.create_table(
        "send_paces",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval", sa.Float(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "scope"),
    )
    # Plain ADD COLUMN, also on SQLite: a batch rebuild would drop `teams`, and with foreign
    # keys on, dropping a parent table deletes its children's rows.
    op.add_column(
        "teams",
        sa.Column(
            "summary_readers", sa.String(length=16), nullable=False, server_default="confirmed"
        ),
    )
    op.add_column(
        "members",
        sa.Column("reads_summaries", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    members = sa.table(
        "members",
        sa.column("position", sa.String),
        sa.column("is_coordinator", sa.Boolean),
        sa.column("reads_summaries", sa.Boolean),
    )
    op.execute(
        members.update()
        .where(sa.or_(members.c.position.in_(("manager", "coordinator")), members.c.is_coordinator))
        .values(reads_summaries=True)
    )


def downgrade() -> None:
    op.drop_column("members", "reads_summaries")
    op.drop_column("teams", "summary_readers")
    op.drop_table("send_paces")
    op.drop_index("job_claims_by_time", table_name="job_claims")
    op.drop_table("job_claims")
    op.drop_index("form_drafts_by_expiry", table_name="form_drafts")
    op.drop_table("form_drafts")
    op.drop_index("marks_by_expiry", table_name="marks")
    op.drop_table("marks")
