"""The pulse summary's figures: read once from the frozen units, through the disclosure rules.

What both renderings of a summary share (its card, dialogs/summary.py; its chart,
dialogs/charts.py; its CSV, dialogs/export.py), so that none of them imports another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.anonymity import effective_k
from dialogs.content import DIMENSIONS
from dialogs.disclosure import Cell, Disclosure, Figure, disclose
from dialogs.summaries import store
from storage.models import Team

TREND_UNITS = 6
RECENT_DAYS = 30


@dataclass(frozen=True)
class Unit:
    """Rounds published together; `key` identifies it in the disclosure."""

    key: int
    kind: str
    first_seq: int
    last_seq: int
    asked: int
    answered: int


@dataclass(frozen=True)
class PulseSummary:
    team_name: str
    k: int
    pooling: bool
    latest_round: store.LatestRound | None
    latest_published: bool
    units: tuple[Unit, ...]  # check-in units, oldest first
    diagnostic: Unit | None
    disclosure: Disclosure
    texts: tuple[tuple[str, str], ...]
    tensions: dict[str, dict[str, int]]
    successes: int
    since: dt.date

    @property
    def latest(self) -> Unit | None:
        return self.units[-1] if self.units else None

    def dimensions(self) -> list[str]:
        present = {f.dimension for f in self.disclosure.figures} | {
            w.dimension for w in self.disclosure.withheld
        }
        return [d for d in DIMENSIONS if d in present]


async def compute(session: AsyncSession, team: Team, today: dt.date) -> PulseSummary:
    """Read a summary: one small statement over frozen units; nothing is written."""
    since = today - dt.timedelta(days=RECENT_DAYS)
    read = await store.summary_read(session, team.id, TREND_UNITS, since)
    units = [Unit(*u) for u in read.units]
    checkin_units = tuple(u for u in units if u.kind == "checkin")
    diagnostic = next((u for u in units if u.kind == "diagnostic"), None)
    latest_round = read.latest_round
    published = latest_round is not None and any(
        u.kind == latest_round.kind and u.first_seq <= latest_round.seq <= u.last_seq for u in units
    )
    return PulseSummary(
        team_name=team.name,
        k=effective_k(team.k),
        pooling=team.pool_small_rounds,
        latest_round=latest_round,
        latest_published=published,
        units=checkin_units,
        diagnostic=diagnostic,
        disclosure=disclose([Cell(*c) for c in read.cells], team.k),
        texts=tuple(read.texts),
        tensions=read.tensions,
        successes=read.successes,
        since=since,
    )


def trend(summary: PulseSummary, dimension: str) -> list[tuple[Unit, Figure | None]]:
    """One dimension's figure in each unit, oldest first (None where it is withheld)."""
    return [(u, summary.disclosure.get(u.key, dimension)) for u in summary.units]


@dataclass(frozen=True)
class Change:
    """A dimension's latest figure, and how far its mean moved since the result before it that
    could be shown (None when there is none: a first result, or only hidden ones before)."""

    dimension: str
    figure: Figure
    delta: float | None


def changes(summary: PulseSummary) -> list[Change]:
    """Every dimension shown in the latest unit, in the catalogue's order, with its change."""
    found = []
    for dimension in summary.dimensions():
        history = [f for _, f in trend(summary, dimension)]
        latest = history[-1] if history else None
        if latest is None:
            continue
        previous = next((f for f in reversed(history[:-1]) if f is not None), None)
        delta = None if previous is None else latest.mean - previous.mean
        found.append(Change(dimension, latest, delta))
    return found


def moved_most(found: list[Change]) -> Change | None:
    """The dimension whose mean moved most (the first in the catalogue's order on a tie); None
    when nothing can be compared yet."""
    compared = [c for c in found if c.delta is not None]
    if not compared:
        return None
    # Rounded as shown: a change of 0.04 is "0,0" on screen, and ties are judged the same way.
    return max(compared, key=lambda c: abs(round(c.delta or 0.0, 1)))
