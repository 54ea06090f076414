"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 12:27:10.744972
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suspended_workspaces",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace"),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("checkin_weekday", sa.Integer(), nullable=False),
        sa.Column("checkin_hour", sa.Integer(), nullable=False),
        sa.Column("checkin_every_weeks", sa.Integer(), nullable=False),
        sa.Column("anchor_on", sa.Date(), nullable=False),
        sa.Column("response_window_hours", sa.Integer(), nullable=False),
        sa.Column("reminder_after_hours", sa.Integer(), nullable=False),
        sa.Column("items_per_round", sa.Integer(), nullable=False),
        sa.Column("open_question", sa.Boolean(), nullable=False),
        sa.Column("diagnostic_every_rounds", sa.Integer(), nullable=False),
        sa.Column("batch_weekday", sa.Integer(), nullable=False),
        sa.Column("batch_hour", sa.Integer(), nullable=False),
        sa.Column("review_tensions", sa.Boolean(), nullable=False),
        sa.Column("review_open_answers", sa.Boolean(), nullable=False),
        sa.Column("pool_small_rounds", sa.Boolean(), nullable=False),
        sa.Column("tension_weekly_limit", sa.Integer(), nullable=False),
        sa.Column("success_weekday", sa.Integer(), nullable=False),
        sa.Column("success_hour", sa.Integer(), nullable=False),
        sa.Column("success_every_weeks", sa.Integer(), nullable=False),
        sa.Column("tension_prompt_every_weeks", sa.Integer(), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=False),
        sa.Column("quiet_end", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("k >= 3", name="k_floor"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=16), nullable=True),
        sa.Column("position", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("is_coordinator", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("onboarded", sa.Boolean(), nullable=False),
        sa.Column("paused_until", sa.Date(), nullable=True),
        sa.Column("quiet_start", sa.Integer(), nullable=True),
        sa.Column("quiet_end", sa.Integer(), nullable=True),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "platform", "workspace", "user_ref"),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_team_id"), ["team_id"], unique=False)

    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurrence", sa.String(length=64), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("open_question_id", sa.String(length=16), nullable=True),
        sa.Column("asked_count", sa.Integer(), nullable=True),
        sa.Column("answered_count", sa.Integer(), nullable=True),
        sa.Column("skipped_count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "occurrence"),
        sa.UniqueConstraint("team_id", "seq"),
    )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rounds_team_id"), ["team_id"], unique=False)

    op.create_table(
        "successes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("consent", sa.String(length=16), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("prompt_id", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("successes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_successes_team_id"), ["team_id"], unique=False)

    op.create_table(
        "summary_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "kind", "first_seq"),
    )
    with op.batch_alter_table("summary_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_summary_units_team_id"), ["team_id"], unique=False)

    op.create_table(
        "team_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("channel_ref", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "workspace", "channel_ref"),
    )
    with op.batch_alter_table("team_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_channels_team_id"), ["team_id"], unique=False)

    op.create_table(
        "tensions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("prompt_id", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("followup_hash", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sa.UniqueConstraint("followup_hash"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("tensions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tensions_team_id"), ["team_id"], unique=False)

    op.create_table(
        "answers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("ballot", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=16), nullable=True),
        sa.Column("position", sa.String(length=16), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index("answers_by_round", ["round_id", "dimension"], unique=False)

    op.create_table(
        "open_answers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("open_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_answers_round_id"), ["round_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idem_key", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idem_key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("outbox_due", ["status", "not_before"], unique=False)

    op.create_table(
        "participation",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id", "member_id"),
    )
    op.create_table(
        "reflexive_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.String(length=16), nullable=True),
        sa.Column("custom_text", sa.Text(), nullable=True),
        sa.Column("first_local", sa.DateTime(), nullable=False),
        sa.Column("recurrence", sa.String(length=16), nullable=False),
        sa.Column("lead_hours", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["team_channels.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("reflexive_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reflexive_schedules_team_id"), ["team_id"], unique=False
        )

    op.create_table(
        "tension_replies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tension_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["tension_id"], ["tensions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("tension_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tension_replies_tension_id"), ["tension_id"], unique=False
        )

    op.create_table(
        "unit_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("sector", sa.String(length=16), nullable=True),
        sa.Column("position", sa.String(length=16), nullable=True),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("count_1", sa.Integer(), nullable=False),
        sa.Column("count_2", sa.Integer(), nullable=False),
        sa.Column("count_3", sa.Integer(), nullable=False),
        sa.Column("count_4", sa.Integer(), nullable=False),
        sa.Column("count_5", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["summary_units.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unit_cells", schema=None) as batch_op:
        batch_op.create_index("unit_cells_by_unit", ["unit_id"], unique=False)

    op.create_table(
        "reflexive_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("occurs_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["schedule_id"], ["reflexive_schedules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("schedule_id", "occurs_at"),
    )
    op.create_table(
        "pre_reflections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"], ["reflexive_occurrences.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("pre_reflections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pre_reflections_occurrence_id"), ["occurrence_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pre_reflections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pre_reflections_occurrence_id"))
    op.drop_table("pre_reflections")
    op.drop_table("reflexive_occurrences")
    with op.batch_alter_table("unit_cells", schema=None) as batch_op:
        batch_op.drop_index("unit_cells_by_unit")
    op.drop_table("unit_cells")
    with op.batch_alter_table("tension_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tension_replies_tension_id"))
    op.drop_table("tension_replies")
    with op.batch_alter_table("reflexive_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reflexive_schedules_team_id"))
    op.drop_table("reflexive_schedules")
    op.drop_table("participation")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("outbox_due")
    op.drop_table("outbox")
    with op.batch_alter_table("open_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open_answers_round_id"))
    op.drop_table("open_answers")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index("answers_by_round")
    op.drop_table("answers")
    with op.batch_alter_table("tensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tensions_team_id"))
    op.drop_table("tensions")
    with op.batch_alter_table("team_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_channels_team_id"))
    op.drop_table("team_channels")
    with op.batch_alter_table("summary_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summary_units_team_id"))
    op.drop_table("summary_units")
    with op.batch_alter_table("successes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_successes_team_id"))
    op.drop_table("successes")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rounds_team_id"))
    op.drop_table("rounds")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_team_id"))
    op.drop_table("members")
    op.drop_table("teams")
    op.drop_table("suspended_workspaces")
