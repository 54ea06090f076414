"""Summary units and what summaries read.

A unit (one round, or consecutive small rounds pooled) is frozen when its last round closes;
its aggregates per (dimension, sector, position) are computed then, once, by one
`INSERT ... SELECT ... GROUP BY`. A summary reads those few rows, never the answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, case, func, insert, literal, select, union_all
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


async def recent_units(session: AsyncSession, team_id: int, checkins: int) -> list[SummaryUnit]:
    """The latest `checkins` check-in units and the latest diagnostic unit, in one query."""

    def latest(kind: str, limit: int):  # type: ignore[no-untyped-def]
        return (
            select(SummaryUnit.id)
            .where(SummaryUnit.team_id == team_id, SummaryUnit.kind == kind)
            .order_by(SummaryUnit.first_seq.desc())
            .limit(limit)
            .subquery()
            .select()
        )

    wanted = union_all(latest("checkin", checkins), latest("diagnostic", 1)).subquery()
    rows = await session.scalars(
        select(SummaryUnit)
        .where(SummaryUnit.id.in_(select(wanted.c.id)))
        .order_by(SummaryUnit.kind, SummaryUnit.first_seq)
    )
    return list(rows.all())


async def cells(session: AsyncSession, unit_ids: Sequence[int]) -> Sequence[UnitCell]:
    if not unit_ids:
        return []
    return (await session.scalars(select(UnitCell).where(UnitCell.unit_id.in_(unit_ids)))).all()


async def latest_closed_round(session: AsyncSession, team_id: int) -> Round | None:
    return await session.scalar(
        select(Round)
        .where(Round.team_id == team_id, Round.closed.is_(True))
        .order_by(Round.seq.desc())
        .limit(1)
    )


def _rounds_of_unit(unit: SummaryUnit):  # type: ignore[no-untyped-def]
    return select(Round.id).where(
        Round.team_id == unit.team_id,
        Round.kind == unit.kind,
        and_(Round.seq >= unit.first_seq, Round.seq <= unit.last_seq),
    )


async def visible_texts(session: AsyncSession, unit: SummaryUnit) -> list[tuple[str, str]]:
    """(question id, text) of a unit's open answers allowed to show, in their random order."""
    rows = await session.execute(
        select(OpenAnswer.question_id, OpenAnswer.text).where(
            OpenAnswer.round_id.in_(_rounds_of_unit(unit)), OpenAnswer.status == "visible"
        )
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


async def recent_activity(
    session: AsyncSession, team_id: int, since: dt.date
) -> tuple[dict[str, dict[str, int]], int]:
    """Tensions per status and theme, and successes, written since `since` (one query)."""
    tensions = (
        select(literal("tension").label("what"), Tension.status, Tension.theme, func.count())
        .where(Tension.team_id == team_id, Tension.created_on >= since)
        .group_by(Tension.status, Tension.theme)
    )
    successes = select(
        literal("success").label("what"), literal(""), literal(""), func.count()
    ).where(Success.team_id == team_id, Success.created_on >= since)
    by_theme: dict[str, dict[str, int]] = {}
    shared = 0
    for what, status, theme, n in (await session.execute(union_all(tensions, successes))).tuples():
        if what == "success":
            shared = int(n)
        else:
            by_theme.setdefault(status, {})[theme] = int(n)
    return by_theme, shared
