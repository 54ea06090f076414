"""Shared tables, and the base every table stands on. Read `docs/privacy.md` first: several
shapes here and in the rituals' tables exist only to keep people unlinkable.

Here: the declarative base and its UTC datetimes, teams, their channels and members, the
outbox, summary units and their cells, the sealed inbox and the intake. Each ritual's own
tables are in its package (`dialogs/<ritual>/models.py`), on this `Base`, named in
alembic.ini's `model_modules` so the migrations see them without storage importing them.

Rules the private tables keep, here and in the rituals' packages:
- Check-in ballots, tensions, anonymous successes and pre-reflections are first stored sealed
  (`sealed`), encrypted under a key the database never holds, until their batch opens them.
- `open_answers`, `tensions` and `successes` (unless named) carry no member
  reference and no time finer than a day; ballots are never stored opened, only aggregated
  (`unit_cells`, generalised so no cell holds a group a summary would withhold).
- Their primary keys are random UUIDs, and on SQLite they are `WITHOUT ROWID` tables
  (`UNORDERED`), so neither an id nor a hidden rowid orders them by insertion.
- `participation` (who was asked / who answered) is updated for every member of a round at once,
  so no row's version tells when that member answered; per-member statuses are erased at close.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

UNORDERED = {"sqlite_with_rowid": False}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both dialects (SQLite keeps naive text, read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


def new_uuid() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class Team(Base):
    """A partnership team: one anonymity pool, whatever platforms its members use."""

    __tablename__ = "teams"
    __table_args__ = (CheckConstraint("k >= 3", name="k_floor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    timezone: Mapped[str] = mapped_column(String(64), default="America/Toronto")
    k: Mapped[int] = mapped_column(Integer, default=5)
    # Check-in cadence: every `checkin_every_weeks` weeks counted from `anchor_on`.
    checkin_weekday: Mapped[int] = mapped_column(Integer, default=1)
    checkin_hour: Mapped[int] = mapped_column(Integer, default=10)
    checkin_every_weeks: Mapped[int] = mapped_column(Integer, default=2)
    anchor_on: Mapped[dt.date] = mapped_column(Date)
    response_window_hours: Mapped[int] = mapped_column(Integer, default=72)
    reminder_after_hours: Mapped[int] = mapped_column(Integer, default=48)
    items_per_round: Mapped[int] = mapped_column(Integer, default=5)
    open_question: Mapped[bool] = mapped_column(Boolean, default=True)
    diagnostic_every_rounds: Mapped[int] = mapped_column(Integer, default=6)
    # Batch publication of tensions, anonymous successes: a fixed weekly time, never at writing.
    batch_weekday: Mapped[int] = mapped_column(Integer, default=3)
    batch_hour: Mapped[int] = mapped_column(Integer, default=15)
    review_tensions: Mapped[bool] = mapped_column(Boolean, default=False)
    review_open_answers: Mapped[bool] = mapped_column(Boolean, default=False)
    # A round under k is pooled with the following round(s) instead of staying unpublished.
    pool_small_rounds: Mapped[bool] = mapped_column(Boolean, default=False)
    tension_weekly_limit: Mapped[int] = mapped_column(Integer, default=5)
    success_weekday: Mapped[int] = mapped_column(Integer, default=4)
    success_hour: Mapped[int] = mapped_column(Integer, default=11)
    success_every_weeks: Mapped[int] = mapped_column(Integer, default=2)
    tension_prompt_every_weeks: Mapped[int] = mapped_column(Integer, default=4)
    quiet_start: Mapped[int] = mapped_column(Integer, default=20)
    quiet_end: Mapped[int] = mapped_column(Integer, default=8)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    # A one-time code that links one more channel (say a Teams channel to a Slack team); only
    # its hash is kept, and it expires.
    link_code_hash: Mapped[str | None] = mapped_column(String(64))
    link_code_expires: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # Who reads the managers' summary: "confirmed" (members a coordinator confirmed),
    # "managers" (whoever declares a management or coordination position) or "everyone".
    summary_readers: Mapped[str] = mapped_column(String(16), default="confirmed")


class TeamChannel(Base):
    """A channel linked to a team (a Slack channel, a Teams channel, the sandbox channel)."""

    __tablename__ = "team_channels"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel_ref: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")


class Member(Base):
    """A person's membership of one team, with the 2x2 segmentation and their preferences."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("team_id", "platform", "workspace", "user_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    user_ref: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    sector: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_coordinator: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    onboarded: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[dt.date | None] = mapped_column(Date)
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Confirmed by a coordinator as a reader of the summary (see Team.summary_readers).
    reads_summaries: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboxMessage(Base):
    """One message to send. The unique `idem_key` makes a duplicated trigger harmless."""

    __tablename__ = "outbox"
    __table_args__ = (Index("outbox_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idem_key: Mapped[str] = mapped_column(String(200), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))  # direct | channel
    address: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class SummaryUnit(Base):
    """Rounds published together in summaries. Frozen once published, so that two summaries
    never cover overlapping sets of answers that differ by a small group."""

    __tablename__ = "summary_units"
    __table_args__ = (UniqueConstraint("team_id", "kind", "first_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    asked: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)


class UnitCell(Base):
    """A frozen unit's aggregates per (dimension, sector, position), computed once by the
    database when the unit is frozen; summaries read these, never the answers themselves."""

    __tablename__ = "unit_cells"
    __table_args__ = (Index("unit_cells_by_unit", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("summary_units.id", ondelete="CASCADE"))
    dimension: Mapped[str] = mapped_column(String(40))
    sector: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[str | None] = mapped_column(String(16))
    respondents: Mapped[int] = mapped_column(Integer)
    answers: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    count_1: Mapped[int] = mapped_column(Integer)
    count_2: Mapped[int] = mapped_column(Integer)
    count_3: Mapped[int] = mapped_column(Integer)
    count_4: Mapped[int] = mapped_column(Integer)
    count_5: Mapped[int] = mapped_column(Integer)


class SuspendedWorkspace(Base):
    """A Slack workspace or Teams tenant that revoked the bot: its messages wait, unsent."""

    __tablename__ = "suspended_workspaces"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Sealed(Base):
    """A submission sealed until its batch (see `storage.sealing`, `storage.sealed`).

    In the clear only what routing needs: the team, what kind of submission, and the batch it
    waits for ("round:<id>", "week", "occurrence:<id>"). The rest (values, text, segments) is
    in `blob`, padded and encrypted. The batch opens the blobs, writes what it must in a random
    order under fresh ids, and deletes these rows in the same transaction.
    """

    __tablename__ = "sealed"
    __table_args__ = (Index("sealed_by_batch", "team_id", "kind", "batch"), UNORDERED)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # ballot | tension | success | pre_reflection
    batch: Mapped[str] = mapped_column(String(64))
    blob: Mapped[bytes] = mapped_column(LargeBinary)


class Intake(Base):
    """A platform delivery committed before it is acknowledged, and processed after.

    Sealed whole (who, what, where to answer), so that a crash between the acknowledgement and
    the recording loses nothing and a copy of the database reads nothing. A worker of any
    process claims a row for `lease_until`, hands it to the engine, and the engine deletes it
    in the transaction that records the submission.
    """

    __tablename__ = "intake"
    __table_args__ = (UNORDERED,)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    platform: Mapped[str] = mapped_column(String(16))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
