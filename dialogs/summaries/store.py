"""What a summary reads, across rituals, in ONE statement.

The summary aggregates by design: the frozen units and their cells (`storage.summary_units`),
the latest closed check-in round and the open answers allowed to show (check-ins), the
tensions and the successes written lately (tensions, successes). Their models are read here,
never their queries: a declared interface (pyproject's import-linter contract on rituals).
One `UNION ALL`, one round trip: the performance aims depend on it (docs/performance.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dialogs.checkins.models import OpenAnswer, Round
from dialogs.successes.models import Success, SuccessTally
from dialogs.tensions.models import Tension
from storage.models import SummaryUnit, UnitCell


@dataclass(frozen=True)
class LatestRound:
    seq: int
    kind: str
    asked: int
    answered: int


# What a summary reads, in ONE statement (one round trip), built once at import: a `UNION ALL`
# of tagged rows, every branch with the same 18 columns. Building a statement (and its cache
# key) on every call costs more than running it, and on PostgreSQL each round trip costs about
# as much as the bare `GROUP BY` a summary is compared with.
#
# Columns: tag, n1, s1, n2, n3, n4, n5, s2, s3, s4, then a cell's respondents, answers, total,
# count_1..count_5 (NULL where a branch has nothing to put):
#   u  a unit and one of its cells: id, kind, first_seq, last_seq, asked, answered, dimension,
#      sector, position, the cell (all NULL for a unit without cells)
#   r  the latest closed round: seq, kind, asked, answered
#   t  tensions since `since`: count, status, -, -, -, -, theme
#   s  successes since `since`: count
#   x  a visible open answer of the latest check-in unit: round id, -, -, -, -, -, question, text,
#      its id (random: the texts are sorted by round, then by it)
_COLUMNS = ("n1", "s1", "n2", "n3", "n4", "n5", "s2", "s3", "s4")
_CELL = ("respondents", "answers", "total", "count_1", "count_2", "count_3", "count_4", "count_5")


def _row(tag: str, *, cell: Sequence[Any] = (), **columns: Any) -> list[Any]:
    """The 18 labelled columns of one branch: its tag, then the given ones, NULL elsewhere."""
    values = [columns.get(name, null()) for name in _COLUMNS] + [*(cell or [null()] * len(_CELL))]
    return [literal_column(f"'{tag}'").label("tag")] + [
        value.label(name) for value, name in zip(values, _COLUMNS + _CELL, strict=True)
    ]


def _latest_units(kind: str, limit: str) -> Any:
    return (
        select(SummaryUnit.id)
        .where(SummaryUnit.team_id == bindparam("team_id"), SummaryUnit.kind == kind)
        .order_by(SummaryUnit.first_seq.desc())
        .limit(bindparam(limit))
        .subquery()
        .select()
    )


_RECENT = union_all(
    _latest_units("checkin", "checkins"), _latest_units("diagnostic", "diagnostics")
)
_UNITS_WITH_CELLS = (
    select(
        *_row(
            "u",
            n1=SummaryUnit.id,
            s1=SummaryUnit.kind,
            n2=SummaryUnit.first_seq,
            n3=SummaryUnit.last_seq,
            n4=SummaryUnit.asked,
            n5=SummaryUnit.answered,
            s2=UnitCell.dimension,
            s3=UnitCell.sector,
            s4=UnitCell.position,
            cell=[getattr(UnitCell, name) for name in _CELL],
        )
    )
    .outerjoin(UnitCell, UnitCell.unit_id == SummaryUnit.id)
    .where(SummaryUnit.id.in_(select(_RECENT.subquery().c.id)))
)
_CLOSED = aliased(Round)
_LATEST_ROUND = select(
    *_row("r", n1=Round.seq, s1=Round.kind, n2=Round.asked_count, n3=Round.answered_count)
).where(
    Round.team_id == bindparam("team_id"),
    Round.seq
    == (
        select(func.max(_CLOSED.seq))
        .where(_CLOSED.team_id == bindparam("team_id"), _CLOSED.closed.is_(True))
        .scalar_subquery()
    ),
)
_TENSIONS_SINCE = (
    select(*_row("t", n1=func.count(), s1=Tension.status, s2=Tension.theme))
    .where(Tension.team_id == bindparam("team_id"), Tension.created_on >= bindparam("since"))
    .group_by(Tension.status, Tension.theme)
)
# Successes since `since`: those stored (named ones, anonymous ones once their batch posted
# them) plus those shared for the summary only, which are kept as counts per batch day.
_SUCCESSES_SINCE = select(
    *_row(
        "s",
        n1=select(func.count())
        .where(Success.team_id == bindparam("team_id"), Success.created_on >= bindparam("since"))
        .scalar_subquery()
        + select(func.coalesce(func.sum(SuccessTally.count), 0))
        .where(SuccessTally.team_id == bindparam("team_id"), SuccessTally.day >= bindparam("since"))
        .scalar_subquery(),
    )
)
# The open answers allowed to show of the latest check-in unit (its rounds: seq between the
# unit's first and last).
_LATEST_CHECKIN = (
    select(SummaryUnit.first_seq, SummaryUnit.last_seq)
    .where(SummaryUnit.team_id == bindparam("team_id"), SummaryUnit.kind == "checkin")
    .order_by(SummaryUnit.first_seq.desc())
    .limit(1)
    .subquery()
)
_VISIBLE_TEXTS = (
    select(
        *_row(
            "x",
            n1=OpenAnswer.round_id,
            s2=OpenAnswer.question_id,
            s3=OpenAnswer.text,
            s4=OpenAnswer.id,
        )
    )
    .join(Round, Round.id == OpenAnswer.round_id)
    .join(
        _LATEST_CHECKIN,
        Round.seq.between(_LATEST_CHECKIN.c.first_seq, _LATEST_CHECKIN.c.last_seq),
    )
    .where(
        Round.team_id == bindparam("team_id"),
        Round.kind == "checkin",
        OpenAnswer.status == "visible",
    )
)
SUMMARY_READ = union_all(
    _UNITS_WITH_CELLS, _LATEST_ROUND, _TENSIONS_SINCE, _SUCCESSES_SINCE, _VISIBLE_TEXTS
)

UnitTuple = tuple[int, str, int, int, int, int]  # id, kind, first_seq, last_seq, asked, answered
# unit id, dimension, sector, position, respondents, answers, total, counts of 1..5
CellTuple = tuple[int, str, str | None, str | None, int, int, int, tuple[int, int, int, int, int]]


@dataclass(frozen=True)
class SummaryRead:
    """Everything a summary reads, from one statement; plain tuples, nothing else built."""

    units: list[UnitTuple]  # the latest `checkins` check-in units then the latest diagnostic
    # unit, each kind oldest first
    cells: list[CellTuple]
    latest_round: LatestRound | None
    tensions: dict[str, dict[str, int]]  # per status, per theme
    successes: int
    texts: list[tuple[str, str]]  # (question id, text) of the latest check-in unit


async def summary_read(
    session: AsyncSession, team_id: int, checkins: int, since: dt.date
) -> SummaryRead:
    """The latest `checkins` check-in units and the latest diagnostic unit with their frozen
    cells, the latest closed round, the tensions and successes written since `since`, and the
    open answers allowed to show of the latest check-in unit: one statement, one round trip."""
    connection = await session.connection()
    result = await connection.execute(
        SUMMARY_READ,
        {"team_id": team_id, "checkins": checkins, "diagnostics": 1, "since": since},
    )
    units: dict[int, UnitTuple] = {}
    cells: list[CellTuple] = []
    latest: LatestRound | None = None
    tensions: dict[str, dict[str, int]] = {}
    successes = 0
    texts: list[tuple[int, str, str, str]] = []
    for r in result.all():
        tag = r[0]
        if tag == "u":
            unit_id = r[1]
            if unit_id not in units:
                units[unit_id] = (unit_id, r[2], r[3], r[4], r[5], r[6])
            if r[7] is not None:
                cells.append(
                    (
                        unit_id,
                        r[7],
                        r[8],
                        r[9],
                        r[10],
                        r[11],
                        r[12],
                        (r[13], r[14], r[15], r[16], r[17]),
                    )
                )
        elif tag == "x":
            texts.append((r[1], r[9], r[7], r[8]))
        elif tag == "t":
            tensions.setdefault(r[2], {})[r[7]] = int(r[1])
        elif tag == "r":
            latest = LatestRound(int(r[1]), r[2], int(r[3] or 0), int(r[4] or 0))
        else:
            successes = int(r[1])
    texts.sort()  # by round, then by the random id: the order carries nothing
    return SummaryRead(
        sorted(units.values(), key=lambda u: (u[1], u[2])),
        cells,
        latest,
        tensions,
        successes,
        [(q, t) for _, _, q, t in texts],
    )


async def round_days(session: AsyncSession, team_id: int) -> dict[tuple[str, int], dt.date]:
    """The day each of the team's rounds opened, by (kind, number): the CSV export's round
    labels and date column."""
    rows = await session.execute(
        select(Round.kind, Round.seq, Round.opened_on).where(Round.team_id == team_id)
    )
    return {(kind, seq): day for kind, seq, day in rows.tuples()}
