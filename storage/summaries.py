"""Summary units and what summaries read.

A unit (one round, or consecutive small rounds pooled) is frozen when its last round closes;
its aggregates per (dimension, sector, position) are computed then, once, by one
`INSERT ... SELECT ... GROUP BY`. A summary reads those few rows, never the answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, func, insert, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, OpenAnswer, Round, Success, SummaryUnit, Tension, UnitCell
from storage.upsert import insert_ignore


async def last_frozen_seq(session: AsyncSession, team_id: int, kind: str) -> int:
    last = await session.scalar(
        select(func.max(SummaryUnit.last_seq)).where(
            SummaryUnit.team_id == team_id, SummaryUnit.kind == kind
        )
    )
    return int(last or 0)


async def freeze(
    session: AsyncSession, team_id: int, kind: str, rounds: Sequence[Round]
) -> int | None:
    """Freeze consecutive closed rounds of one kind as a unit and compute its aggregates.

    Idempotent: the same unit frozen twice (two processes closing) is stored once.
    """
    first, last = rounds[0].seq, rounds[-1].seq
    inserted = await insert_ignore(
        session,
        SummaryUnit.__table__,  # type: ignore[arg-type]
        {
            "team_id": team_id,
            "kind": kind,
            "first_seq": first,
            "last_seq": last,
            "asked": sum(r.asked_count or 0 for r in rounds),
            "answered": sum(r.answered_count or 0 for r in rounds),
        },
        ["team_id", "kind", "first_seq"],
    )
    if not inserted:
        return None
    unit_id = await session.scalar(
        select(SummaryUnit.id).where(
            SummaryUnit.team_id == team_id, SummaryUnit.kind == kind, SummaryUnit.first_seq == first
        )
    )
    assert unit_id is not None
    per_value = [func.sum(case((Answer.value == v, 1), else_=0)) for v in range(1, 6)]
    grouped = (
        select(
            literal(unit_id),
            Answer.dimension,
            Answer.sector,
            Answer.position,
            func.count(func.distinct(case((Answer.value.is_not(None), Answer.ballot)))),
            func.count(Answer.value),
            func.coalesce(func.sum(Answer.value), 0),
            *per_value,
        )
        .where(Answer.round_id.in_([r.id for r in rounds]))
        .group_by(Answer.dimension, Answer.sector, Answer.position)
    )
    columns = [
        "unit_id",
        "dimension",
        "sector",
        "position",
        "respondents",
        "answers",
        "total",
        "count_1",
        "count_2",
        "count_3",
        "count_4",
        "count_5",
    ]
    await session.execute(insert(UnitCell).from_select(columns, grouped))
    return int(unit_id)


@dataclass(frozen=True)
class UnitRow:
    """A frozen unit with one of its cells (cell fields are None for a unit without cells)."""

    unit_id: int
    kind: str
    first_seq: int
    last_seq: int
    asked: int
    answered: int
    dimension: str | None
    sector: str | None
    position: str | None
    respondents: int
    answers: int
    total: int
    counts: tuple[int, int, int, int, int]


@dataclass(frozen=True)
class LatestRound:
    seq: int
    kind: str
    asked: int
    answered: int


# Read statements are built once: a summary sends a handful of small queries, and building
# a statement (and its cache key) on every call costs more than running it.
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
        SummaryUnit.id,
        SummaryUnit.kind,
        SummaryUnit.first_seq,
        SummaryUnit.last_seq,
        SummaryUnit.asked,
        SummaryUnit.answered,
        UnitCell.dimension,
        UnitCell.sector,
        UnitCell.position,
        UnitCell.respondents,
        UnitCell.answers,
        UnitCell.total,
        UnitCell.count_1,
        UnitCell.count_2,
        UnitCell.count_3,
        UnitCell.count_4,
        UnitCell.count_5,
    )
    .outerjoin(UnitCell, UnitCell.unit_id == SummaryUnit.id)
    .where(SummaryUnit.id.in_(select(_RECENT.subquery().c.id)))
    .order_by(SummaryUnit.kind, SummaryUnit.first_seq)
)
_UNIT_ROUNDS = select(Round.id).where(
    Round.team_id == bindparam("team_id"),
    Round.kind == bindparam("kind"),
    Round.seq >= bindparam("first"),
    Round.seq <= bindparam("last"),
)
_VISIBLE_TEXTS = select(OpenAnswer.question_id, OpenAnswer.text).where(
    OpenAnswer.round_id.in_(_UNIT_ROUNDS), OpenAnswer.status == "visible"
)


async def recent_units_with_cells(
    session: AsyncSession, team_id: int, checkins: int
) -> list[UnitRow]:
    """The latest `checkins` check-in units and the latest diagnostic unit, with their cells,
    in one query."""
    rows = await session.execute(
        _UNITS_WITH_CELLS, {"team_id": team_id, "checkins": checkins, "diagnostics": 1}
    )
    return [
        UnitRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9] or 0,
            r[10] or 0,
            r[11] or 0,
            (r[12] or 0, r[13] or 0, r[14] or 0, r[15] or 0, r[16] or 0),
        )
        for r in rows.tuples()
    ]


async def visible_texts(
    session: AsyncSession, team_id: int, kind: str, first_seq: int, last_seq: int
) -> list[tuple[str, str]]:
    """(question id, text) of a unit's open answers allowed to show, in their random order."""
    rows = await session.execute(
        _VISIBLE_TEXTS, {"team_id": team_id, "kind": kind, "first": first_seq, "last": last_seq}
    )
    return [(q, t) for q, t in rows.tuples()]


async def pending_texts(session: AsyncSession, round_ids: Sequence[int]) -> Sequence[OpenAnswer]:
    if not round_ids:
        return []
    return (
        await session.scalars(
            select(OpenAnswer).where(
                OpenAnswer.round_id.in_(round_ids), OpenAnswer.status == "pending_review"
            )
        )
    ).all()


async def set_text_status(session: AsyncSession, answer_id: str, status: str) -> bool:
    answer = await session.get(OpenAnswer, answer_id)
    if answer is None or answer.status != "pending_review":
        return False
    answer.status = status
    return True


_LATEST_ROUND_ROW = (
    select(
        literal("round").label("what"),
        Round.kind,
        literal(""),
        Round.seq,
        Round.asked_count,
        Round.answered_count,
    )
    .where(Round.team_id == bindparam("team_id"), Round.closed.is_(True))
    .order_by(Round.seq.desc())
    .limit(1)
    .subquery()
    .select()
)
_TENSIONS_SINCE = (
    select(literal("tension"), Tension.status, Tension.theme, func.count(), literal(0), literal(0))
    .where(Tension.team_id == bindparam("team_id"), Tension.created_on >= bindparam("since"))
    .group_by(Tension.status, Tension.theme)
)
_SUCCESSES_SINCE = select(
    literal("success"), literal(""), literal(""), func.count(), literal(0), literal(0)
).where(Success.team_id == bindparam("team_id"), Success.created_on >= bindparam("since"))
_ROUND_AND_ACTIVITY = union_all(_LATEST_ROUND_ROW, _TENSIONS_SINCE, _SUCCESSES_SINCE)


@dataclass(frozen=True)
class Activity:
    latest_round: LatestRound | None
    tensions: dict[str, dict[str, int]]  # per status, per theme
    successes: int


async def round_and_activity(session: AsyncSession, team_id: int, since: dt.date) -> Activity:
    """The latest closed round, and the tensions and successes written since `since`: one
    query, tagged rows."""
    latest: LatestRound | None = None
    by_theme: dict[str, dict[str, int]] = {}
    shared = 0
    rows = await session.execute(_ROUND_AND_ACTIVITY, {"team_id": team_id, "since": since})
    for what, status_or_kind, theme, n, asked, answered in rows.tuples():
        if what == "round":
            latest = LatestRound(int(n), status_or_kind, int(asked or 0), int(answered or 0))
        elif what == "success":
            shared = int(n)
        else:
            by_theme.setdefault(status_or_kind, {})[theme] = int(n)
    return Activity(latest, by_theme, shared)
