"""Reflexive-space tables: the coordinators' schedules and their occurrences.

Pre-reflections are not here: they wait sealed (`sealed`) for their meeting. Listed in
storage/alembic.ini's `model_modules`, so the migrations' metadata has them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UtcDateTime


class ReflexiveSchedule(Base):
    """A coordinator's reflexive-space prompt: once or recurring, at a local time."""

    __tablename__ = "reflexive_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    prompt_id: Mapped[str | None] = mapped_column(String(16))
    custom_text: Mapped[str | None] = mapped_column(Text)
    first_local: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))
    recurrence: Mapped[str] = mapped_column(String(16), default="once")
    lead_hours: Mapped[int] = mapped_column(Integer, default=24)
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_channels.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)


class ReflexiveOccurrence(Base):
    __tablename__ = "reflexive_occurrences"
    __table_args__ = (UniqueConstraint("schedule_id", "occurs_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("reflexive_schedules.id", ondelete="CASCADE")
    )
    occurs_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    invited: Mapped[bool] = mapped_column(Boolean, default=False)
    posted: Mapped[bool] = mapped_column(Boolean, default=False)
