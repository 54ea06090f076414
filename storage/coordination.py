"""Tables through which several processes on one database behave as one.

Each holds what used to live in one process's memory: deliveries already handled and modal
views closed (`marks`), forms that came back with what a person typed (`form_drafts`, sealed),
which process runs a calendar occurrence (`job_claims`), and how fast each workspace or tenant
may be sent to (`send_paces`). None of them holds content in the clear or a member reference:
keys are keyed hashes (`Sealer.tag`) wherever they are derived from a person or a delivery.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UtcDateTime


class Mark(Base):
    """A fact that expires, shared by every process: "this delivery was handled", "this view
    was closed". `key` is a keyed hash, so a copy of the table names no delivery or person."""

    __tablename__ = "marks"
    __table_args__ = (Index("marks_by_expiry", "expires_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class FormDraft(Base):
    """A form card that came back to one person with what they typed, sealed under the
    server's key, so a click reaching any process opens it again; deleted when it expires."""

    __tablename__ = "form_drafts"
    __table_args__ = (Index("form_drafts_by_expiry", "expires_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class JobClaim(Base):
    """One calendar occurrence, claimed by the one process that runs it (team 0: the whole
    installation, for maintenance). Its primary key is the claim: a second insert fails."""

    __tablename__ = "job_claims"
    __table_args__ = (Index("job_claims_by_time", "claimed_at"),)

    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    occurrence: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class SendPace(Base):
    """The pace one scope (a workspace, a tenant, a method, a conversation) may be sent at,
    learned from the platform's answers and shared by every process's sender.

    `next_at` is the earliest time the next call may go (a generic cell rate algorithm's
    theoretical arrival time); `interval` the seconds between calls currently believed safe;
    `paused_until` set by a 429's Retry-After; `streak` calls answered without a 429 since the
    last change of `interval`, which decides when to probe a faster pace."""

    __tablename__ = "send_paces"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    interval: Mapped[float] = mapped_column(Float)
    paused_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    streak: Mapped[int] = mapped_column(Integer, default=0)
