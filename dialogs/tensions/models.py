"""Tension tables: the tensions, the coordinators' replies, the weekly slots of the limit.

They keep `storage.models`' rules (docs/privacy.md): a tension carries no author and no time
finer than a day, under a random id in a table without rowid; a slot is a keyed hash that
names no one. Listed in storage/alembic.ini's `model_modules`, so the migrations' metadata
has them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import UNORDERED, Base, new_uuid


class Tension(Base):
    """An anonymous tension: no author. `followup_hash` hashes a code only the author saw."""

    __tablename__ = "tensions"
    __table_args__ = (UNORDERED,)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    theme: Mapped[str] = mapped_column(String(32), default="other")
    prompt_id: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="approved")
    created_on: Mapped[dt.date] = mapped_column(Date)
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    followup_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Same team + same text + same theme = the same tension (a double click, a retry).
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)


class TensionReply(Base):
    """A coordinator's answer to a tension, readable with the follow-up code."""

    __tablename__ = "tension_replies"
    __table_args__ = (UNORDERED,)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    tension_id: Mapped[str] = mapped_column(
        ForeignKey("tensions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_on: Mapped[dt.date] = mapped_column(Date)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)


class TensionToken(Base):
    """One of a member's weekly tension slots, taken: `token` is a keyed hash (see
    `Sealer.tag`) of (team, member, week, slot number), so without the server's secret no row
    names anyone, and the rows of one person cannot be grouped. Deleted when the week is over."""

    __tablename__ = "tension_tokens"
    __table_args__ = (UNORDERED,)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    week: Mapped[str] = mapped_column(String(10), index=True)
