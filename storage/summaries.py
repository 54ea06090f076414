"""Published summary units and the grouped aggregates behind a summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, OpenAnswer, Success, SummaryUnit, Tension
from storage.upsert import insert_ignore


@dataclass(frozen=True)
class GroupRow:
    round_id: int
    dimension: str
    sector: str | None
    position: str | None
    respondents: int
    values: int
    total: int
    counts: tuple[int, int, int, int, int]


async def frozen_units(session: AsyncSession, team_id: int, kind: str) -> Sequence[SummaryUnit]:
    return (
        await session.scalars(
            select(SummaryUnit)
            .where(SummaryUnit.team_id == team_id, SummaryUnit.kind == kind)
            .order_by(SummaryUnit.first_seq)
        )
    ).all()


async def freeze(session: AsyncSession, team_id: int, kind: str, first: int, last: int) -> None:
    await insert_ignore(
        session,
        SummaryUnit.__table__,  # type: ignore[arg-type]
        {"team_id": team_id, "kind": kind, "first_seq": first, "last_seq": last},
        ["team_id", "kind", "first_seq"],
    )


async def group_rows(session: AsyncSession, round_ids: Sequence[int]) -> list[GroupRow]:
    """One grouped pass over the rounds' answers: per (round, dimension, sector, position)."""
    if not round_ids:
        return []
    per_value = [func.sum(case((Answer.value == v, 1), else_=0)) for v in range(1, 6)]
    statement = (
        select(
            Answer.round_id,
            Answer.dimension,
            Answer.sector,
            Answer.position,
            func.count(func.distinct(case((Answer.value.is_not(None), Answer.ballot)))),
            func.count(Answer.value),
            func.coalesce(func.sum(Answer.value), 0),
            *per_value,
        )
        .where(Answer.round_id.in_(round_ids))
        .group_by(Answer.round_id, Answer.dimension, Answer.sector, Answer.position)
    )
    rows = (await session.execute(statement)).tuples()
    return [
        GroupRow(
            r[0],
            r[1],
            r[2],
            r[3],
            int(r[4]),
            int(r[5]),
            int(r[6]),
            (int(r[7]), int(r[8]), int(r[9]), int(r[10]), int(r[11])),
        )
        for r in rows
    ]


async def visible_texts(session: AsyncSession, round_ids: Sequence[int]) -> list[tuple[str, str]]:
    """(question id, text) of the open answers allowed to show, in their stored (random) order."""
    if not round_ids:
        return []
    rows = await session.execute(
        select(OpenAnswer.question_id, OpenAnswer.text).where(
            OpenAnswer.round_id.in_(round_ids), OpenAnswer.status == "visible"
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


async def tension_counts(
    session: AsyncSession, team_id: int, since: dt.date
) -> dict[str, dict[str, int]]:
    """Tensions written since `since`, per status and theme."""
    rows = await session.execute(
        select(Tension.status, Tension.theme, func.count())
        .where(Tension.team_id == team_id, Tension.created_on >= since)
        .group_by(Tension.status, Tension.theme)
    )
    result: dict[str, dict[str, int]] = {}
    for status, theme, n in rows.tuples():
        result.setdefault(status, {})[theme] = int(n)
    return result


async def success_count(session: AsyncSession, team_id: int, since: dt.date) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Success)
        .where(Success.team_id == team_id, Success.created_on >= since)
    )
    return int(count or 0)
