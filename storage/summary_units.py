"""Summary units: the rounds published together, and their aggregates (shared tables).

A unit (one round, or consecutive small rounds pooled) is frozen when its last round closes;
its aggregates per (dimension, sector, position) are computed then, once, from the opened
ballots, generalised so that no stored cell holds a group a summary would withhold
(`dialogs.checkins.results`). A summary reads those few rows (`dialogs.summaries.store`); the
ballots are gone. Storage names no ritual: a unit's rounds are anything with a number and
their counts (`UnitRound`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SummaryUnit, UnitCell
from storage.upsert import insert_ignore


class UnitRound(Protocol):
    """What a unit keeps of each of its rounds (a check-in round: `rounds` table)."""

    @property
    def seq(self) -> int: ...

    @property
    def asked_count(self) -> int | None: ...

    @property
    def answered_count(self) -> int | None: ...


async def last_frozen_seq(session: AsyncSession, team_id: int, kind: str) -> int:
    last = await session.scalar(
        select(func.max(SummaryUnit.last_seq)).where(
            SummaryUnit.team_id == team_id, SummaryUnit.kind == kind
        )
    )
    return int(last or 0)


@dataclass(frozen=True)
class CellRow:
    """One frozen aggregate, as computed (and generalised) by the caller."""

    dimension: str
    sector: str | None
    position: str | None
    respondents: int
    answers: int
    total: int
    counts: tuple[int, int, int, int, int]


async def freeze(
    session: AsyncSession,
    team_id: int,
    kind: str,
    rounds: Sequence[UnitRound],
    cells: Sequence[CellRow],
) -> int | None:
    """Store consecutive closed rounds of one kind as a unit with its aggregates.

    Idempotent: the same unit frozen twice (two processes closing) is stored once, and None
    says this caller was second (it must then write nothing else for the unit).
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
    await _insert_cells(session, int(unit_id), cells)
    return int(unit_id)


async def _insert_cells(session: AsyncSession, unit_id: int, cells: Sequence[CellRow]) -> None:
    if cells:
        await session.execute(
            # NULL segments rendered, not left out: one statement for all cells, not one per shape
            insert(UnitCell).execution_options(render_nulls=True),
            [
                {
                    "unit_id": unit_id,
                    "dimension": c.dimension,
                    "sector": c.sector,
                    "position": c.position,
                    "respondents": c.respondents,
                    "answers": c.answers,
                    "total": c.total,
                    "count_1": c.counts[0],
                    "count_2": c.counts[1],
                    "count_3": c.counts[2],
                    "count_4": c.counts[3],
                    "count_5": c.counts[4],
                }
                for c in cells
            ],
        )


async def stored_cells(session: AsyncSession, team_id: int) -> list[tuple[int, CellRow]]:
    """Every frozen cell of a team, with its unit id (for re-generalising older units)."""
    rows = await session.execute(
        select(
            UnitCell.unit_id,
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
        .join(SummaryUnit, SummaryUnit.id == UnitCell.unit_id)
        .where(SummaryUnit.team_id == team_id)
    )
    return [(r[0], CellRow(r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7:12]))) for r in rows.all()]


async def replace_cells(session: AsyncSession, unit_id: int, cells: Sequence[CellRow]) -> None:
    await session.execute(
        delete(UnitCell)
        .where(UnitCell.unit_id == unit_id)
        .execution_options(synchronize_session=False)
    )
    await _insert_cells(session, unit_id, cells)
