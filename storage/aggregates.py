"""Grouped aggregates for summaries, computed by the database, never row by row in Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, OpenAnswer, Success, Tension


@dataclass(frozen=True)
class Distribution:
    """Answers of one group (round x dimension [x segment]): respondents and 1-5 counts."""

    respondents: int
    counts: dict[int, int]

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        if not self.answered:
            return None
        return sum(v * n for v, n in self.counts.items()) / self.answered


async def dimension_distributions(session: AsyncSession, round_id: int) -> dict[str, Distribution]:
    """Per dimension: distinct respondents (ballots) and the count of each value."""
    result = await session.execute(
        select(Answer.dimension, func.count(func.distinct(Answer.ballot)))
        .where(Answer.round_id == round_id)
        .group_by(Answer.dimension)
    )
    respondents = {dimension: int(n) for dimension, n in result.tuples()}
    counts: dict[str, dict[int, int]] = {d: {} for d in respondents}
    rows = await session.execute(
        select(Answer.dimension, Answer.value, func.count())
        .where(Answer.round_id == round_id, Answer.value.is_not(None))
        .group_by(Answer.dimension, Answer.value)
    )
    for dimension, value, n in rows.all():
        counts[dimension][int(value)] = int(n)
    return {d: Distribution(int(respondents[d]), counts[d]) for d in respondents}


async def visible_open_answers(session: AsyncSession, round_id: int) -> Sequence[str]:
    return (
        await session.scalars(
            select(OpenAnswer.text).where(
                OpenAnswer.round_id == round_id, OpenAnswer.status == "visible"
            )
        )
    ).all()


async def tension_themes(session: AsyncSession, team_id: int) -> dict[str, dict[str, int]]:
    """Tensions per status per theme."""
    rows = await session.execute(
        select(Tension.status, Tension.theme, func.count())
        .where(Tension.team_id == team_id)
        .group_by(Tension.status, Tension.theme)
    )
    result: dict[str, dict[str, int]] = {}
    for status, theme, n in rows.all():
        result.setdefault(status, {})[theme] = int(n)
    return result


async def success_counts(session: AsyncSession, team_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Success.consent, func.count())
        .where(Success.team_id == team_id)
        .group_by(Success.consent)
    )
    return {consent: int(n) for consent, n in rows.all()}
