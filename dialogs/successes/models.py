"""Success tables: the successes shared, and the count of those shared for the summary only.

They keep `storage.models`' rules (docs/privacy.md): an anonymous success carries no author
and no time finer than a day, under a random id in a table without rowid; one shared for the
summary only is a count, never a text. Listed in storage/alembic.ini's `model_modules`, so
the migrations' metadata has them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import UNORDERED, Base, new_uuid


class Success(Base):
    """A shared success. `author_name` is kept only when the author chose to be named."""

    __tablename__ = "successes"
    __table_args__ = (UNORDERED,)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    consent: Mapped[str] = mapped_column(String(16))  # named | anonymous | summary_only
    author_name: Mapped[str | None] = mapped_column(String(200))
    prompt_id: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_on: Mapped[dt.date] = mapped_column(Date)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)


class SuccessTally(Base):
    """Successes shared for the summary only: a count per team and batch day, never a text."""

    __tablename__ = "success_tallies"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
