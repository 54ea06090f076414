"""What the close bench times and checks: the close as the close job runs it, the bare
INSERT ... SELECT ... GROUP BY baseline, the statements and the functions the close spends
its time in, and a check that both counted the same rows."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.close.data import BENCH_BALLOTS, BENCH_CELLS, CELL_COLUMNS, SEALER, K, RoundData
from bench.harness.instruments import Part, counting_statements, timed_parts
from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import results
from dialogs.checkins import round_store as rounds
from dialogs.checkins.models import OpenAnswer, Round
from dialogs.disclosure import Cell, generalise
from storage import summary_units
from storage.database import Database
from storage.models import Sealed, Team, UnitCell

# --------------------------------------------------------------------------- the two timed calls


def bare_statement(round_id: int) -> Any:
    """The baseline: one INSERT ... SELECT ... GROUP BY of the round's answers into a table of
    cells, as `storage.summary_units.freeze` did when answers were stored in the clear."""
    b = BENCH_BALLOTS.c
    grouped = (
        select(
            literal(round_id),
            b.dimension,
            b.sector,
            b.position,
            func.count(func.distinct(case((b.value.is_not(None), b.ballot)))),
            func.count(b.value),
            func.coalesce(func.sum(b.value), 0),
            *(func.sum(case((b.value == v, 1), else_=0)) for v in range(1, 6)),
        )
        .where(b.round_id == round_id)
        .group_by(b.dimension, b.sector, b.position)
    )
    return insert(BENCH_CELLS).from_select(CELL_COLUMNS, grouped)


@dataclass(frozen=True)
class Timing:
    work_ms: float  # to the end of the work, before COMMIT
    total_ms: float  # COMMIT included


async def timed_close(db: Database, team_id: int, round_id: int) -> tuple[Timing, int, int]:
    """close_round + freeze_new_units in one transaction, as the close job runs them (the team
    and the round are loaded first, untimed: the job has them in hand). Returns the timing,
    the units frozen and the statements sent (between the start and the end of the work)."""
    with counting_statements(db) as counted:
        async with db.session() as session:
            team = await session.get(Team, team_id)
            round_ = await session.get(Round, round_id)
            assert team is not None and round_ is not None
            before = counted[0]
            start = time.perf_counter()
            await rounds.close_round(session, round_)
            frozen = await results.freeze_new_units(session, SEALER, team)
            work = time.perf_counter()
            statements = counted[0] - before
            await session.commit()
            end = time.perf_counter()
    return Timing((work - start) * 1000, (end - start) * 1000), frozen, statements


async def timed_bare(db: Database, round_id: int) -> Timing:
    async with db.session() as session:
        await session.execute(text("SELECT 1"))  # connection checked out, transaction begun
        start = time.perf_counter()
        await session.execute(bare_statement(round_id))
        work = time.perf_counter()
        await session.commit()
        end = time.perf_counter()
    return Timing((work - start) * 1000, (end - start) * 1000)


# --------------------------------------------------------------------------- checks
CellKey = tuple[Any, ...]  # (dimension, sector, position, respondents, answers, total, counts)


async def _cells(session: AsyncSession, table: Any, unit_id: int) -> list[CellKey]:
    """The cells of one unit in `unit_cells` or `bench_cells` (same columns)."""
    c = table.c
    rows = await session.execute(
        select(
            c.dimension,
            c.sector,
            c.position,
            c.respondents,
            c.answers,
            c.total,
            *(c[f"count_{v}"] for v in range(1, 6)),
        ).where(c.unit_id == unit_id)
    )
    return [(*row[:6], tuple(row[6:])) for row in rows.all()]


def _generalised(raw: Sequence[CellKey]) -> set[CellKey]:
    """The baseline's cells as the close must have stored them."""
    cells = generalise([Cell(0, *row) for row in raw], K)
    return {
        (c.dimension, c.sector, c.position, c.respondents, c.values, c.total, c.counts)
        for c in cells
    }


async def check(db: Database, data: RoundData) -> tuple[dict[str, bool], tuple[int, int]]:
    """The close counted the same rows as the baseline: its cells are the baseline's cells
    generalised; nothing stayed sealed; every open answer was written. Also: how many cells
    the close stored and the baseline wrote."""
    async with db.session() as session:
        # one team, one unit per round: the newest unit is this round's
        unit_id = int(await session.scalar(select(func.max(UnitCell.unit_id))) or 0)
        stored = await _cells(session, UnitCell.__table__, unit_id)
        raw = await _cells(session, BENCH_CELLS, data.round_id)
        sealed_left = await session.scalar(select(func.count()).select_from(Sealed))
        texts = await session.scalar(
            select(func.count()).where(OpenAnswer.round_id == data.round_id)
        )
    checks = {
        "same_cells": set(stored) == _generalised(raw),
        "nothing_sealed": sealed_left == 0,
        "texts_written": texts == data.texts,
    }
    return checks, (len(stored), len(raw))


# --------------------------------------------------------------------------- where the close goes
# What the close calls, by the module attribute it is called through (so wrapping it there is
# what the close really runs). `sealer.open` is the decryption of one ballot.
PARTS: tuple[tuple[Any, str], ...] = (
    (rounds, "close_round"),
    (summary_units, "last_frozen_seq"),
    (rounds, "closed_after"),
    (ballots, "take_ballots"),
    (SEALER, "open"),
    (results, "aggregate"),
    (results, "generalise"),
    (summary_units, "freeze"),
    (ballots, "write_open_answers"),
    (results, "_drop_unpublishable"),
)


def _label(owner: Any, name: str) -> str:
    return f"sealer.{name}" if owner is SEALER else f"{owner.__name__.rsplit('.', 1)[-1]}.{name}"


@contextmanager
def wrapped_parts(spent: dict[str, float]) -> Iterator[None]:
    """Time every part in PARTS while inside the block (ms added to `spent`)."""
    labelled: list[Part] = [(owner, name, _label(owner, name)) for owner, name in PARTS]
    with timed_parts(labelled, spent):
        yield
