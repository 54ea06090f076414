"""Check-in tables: rounds, the participation ledger and the open answers.

They keep `storage.models`' rules (docs/privacy.md): the ledger says who was asked and who
answered, never what, and carries no time; open answers carry no member, no sector and no
time finer than a day, under random ids in a table without rowid. Ballots are never stored
opened: sealed (`sealed`), then aggregated into `unit_cells` (`storage.summary_units`).
Listed in storage/alembic.ini's `model_modules`, so the migrations' metadata has them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import UNORDERED, Base, UtcDateTime, new_uuid


class Round(Base):
    """A check-in (or six-conditions diagnostic) round of a team."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("team_id", "seq"),
        UniqueConstraint("team_id", "occurrence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="checkin")
    # What scheduled it: a local date for the calendar; for `checkin now`,
    # "now:<local minute>#<the round's number>".
    occurrence: Mapped[str] = mapped_column(String(64))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    remind_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    items: Mapped[list[str]] = mapped_column(JSON)
    open_question_id: Mapped[str | None] = mapped_column(String(16))
    # Filled at close, when per-member statuses are erased from the ledger.
    asked_count: Mapped[int | None] = mapped_column(Integer)
    answered_count: Mapped[int | None] = mapped_column(Integer)
    skipped_count: Mapped[int | None] = mapped_column(Integer)


class Participation(Base):
    """The participation ledger: who was asked and who answered, never what.

    No timestamps. Every write touches every row of the round (see
    `dialogs.checkins.round_store`), and the per-member status is erased when the round closes.
    """

    __tablename__ = "participation"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="asked")
    # The id of the key that sealed this member's ballot: if that key is lost, the member is
    # asked again. Erased with the statuses at close.
    sealed_with: Mapped[str | None] = mapped_column(String(8))


class OpenAnswer(Base):
    """An answer to a round's open question: text only, no sector, no ballot."""

    __tablename__ = "open_answers"
    __table_args__ = (UNORDERED,)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="visible")
    day: Mapped[dt.date] = mapped_column(Date)
