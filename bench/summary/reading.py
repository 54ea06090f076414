"""The read side: what compute() shows (units, their rounds, the frozen cells it reads), the
calls it is timed against, and the check that its cells count the bare query's rows."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text

from bench.summary.plan import K
from bench.summary.rows import BENCH_ANSWERS
from bench.summary.timing import Call, bare_statement, fetch_all
from dialogs.anonymity import effective_k
from dialogs.checkins.models import Round
from dialogs.summaries import pulse
from dialogs.summaries import store as summary_store
from dialogs.summaries.pulse import compute
from storage.database import Database
from storage.models import SummaryUnit, Team, UnitCell


async def shown_rounds(db: Database, teams: Sequence[Team], today: dt.date) -> dict[int, Any]:
    """Per team: the units compute() shows (its check-in units and its diagnostic unit), their
    rounds' ids (the rows the bare query reads) and the number of frozen cells compute() reads."""
    out: dict[int, Any] = {}
    for team in teams:
        async with db.session() as session:
            result = await compute(session, team, today)
            units = [*result.units, *([result.diagnostic] if result.diagnostic else [])]
            per_unit: list[list[int]] = []
            for unit in units:
                ids = await session.scalars(
                    select(Round.id).where(
                        Round.team_id == team.id,
                        Round.kind == unit.kind,
                        Round.closed.is_(True),
                        Round.seq.between(unit.first_seq, unit.last_seq),
                    )
                )
                per_unit.append(list(ids.all()))
            out[team.id] = {
                "team_id": team.id,
                "today": today,
                "units": [u.key for u in units],
                "round_ids": [r for ids in per_unit for r in ids],
                "unit_rounds": per_unit,
            }
    return out


async def shown_cells(session: Any, team_id: int, today: dt.date) -> list[summary_store.CellTuple]:
    """The frozen cells compute() reads: those of the same storage call (the one statement
    compute() sends)."""
    since = today - dt.timedelta(days=pulse.RECENT_DAYS)
    read = await summary_store.summary_read(session, team_id, pulse.TREND_UNITS, since)
    return read.cells


async def expected_counts(
    session: Any, unit_rounds: Sequence[Sequence[int]]
) -> tuple[dict[tuple[str, int], int], int]:
    """The (dimension, value) counts of `bench_answers` over these units' rounds that frozen
    cells must hold: all of them, except a dimension of a unit that fewer than k people
    answered, which `generalise` stores as an empty cell. Also: how many such were left out."""
    unit_of = {r: n for n, ids in enumerate(unit_rounds) for r in ids}
    answers = BENCH_ANSWERS.c
    rows = await fetch_all(
        session,
        select(answers.round_id, answers.ballot, answers.dimension, answers.value).where(
            answers.round_id.in_(list(unit_of)), answers.value.is_not(None)
        ),
    )
    who: dict[tuple[int, str], set[str]] = {}
    counts: dict[tuple[int, str], dict[int, int]] = {}
    for round_id, ballot, dimension, value in rows:
        key = (unit_of[round_id], dimension)
        who.setdefault(key, set()).add(ballot)
        by_value = counts.setdefault(key, {})
        by_value[value] = by_value.get(value, 0) + 1
    expected: dict[tuple[str, int], int] = {}
    withheld = 0
    for key, by_value in counts.items():
        if len(who[key]) < effective_k(K):
            withheld += 1
            continue
        for value, n in by_value.items():
            expected[(key[1], value)] = expected.get((key[1], value), 0) + n
    return expected, withheld


async def same_rows_check(db: Database, shown: dict[int, Any]) -> dict[str, int]:
    """The frozen cells compute() reads hold the same (dimension, value) counts as the rows of
    `bench_answers` over the rounds of those units (but for dimensions under k in a unit:
    `expected_counts`); and no unit holds another kind's dimensions."""
    same = 0
    withheld = 0
    for info in shown.values():
        async with db.session() as session:
            expected, left_out = await expected_counts(session, info["unit_rounds"])
            withheld += left_out
            frozen: dict[tuple[str, int], int] = {}
            for _, dimension, _, _, _, _, _, counts in await shown_cells(
                session, info["team_id"], info["today"]
            ):
                for value, n in enumerate(counts, start=1):
                    if n:
                        frozen[(dimension, value)] = frozen.get((dimension, value), 0) + n
        same += expected == frozen
    async with db.session() as session:
        mixed = await session.scalar(
            select(func.count())
            .select_from(UnitCell)
            .join(SummaryUnit, SummaryUnit.id == UnitCell.unit_id)
            .where((SummaryUnit.kind == "diagnostic") != UnitCell.dimension.like("diagnostic:%"))
        )
    return {
        "teams": len(shown),
        "identical": same,
        "unit_dimensions_under_k": withheld,
        "cells_of_the_other_kind": int(mixed or 0),
    }


async def rows_read(db: Database, shown: dict[int, Any]) -> dict[str, Any]:
    async with db.session() as session:
        answers = {
            team: int(
                await session.scalar(
                    select(func.count())
                    .select_from(BENCH_ANSWERS)
                    .where(BENCH_ANSWERS.c.round_id.in_(info["round_ids"]))
                )
                or 0
            )
            for team, info in shown.items()
        }
        cells = [
            len(await shown_cells(session, info["team_id"], info["today"]))
            for info in shown.values()
        ]
        units_per_team = (
            await session.scalar(select(func.count()).select_from(SummaryUnit)) or 0
        ) / max(1, int(await session.scalar(select(func.count()).select_from(Team)) or 1))
    counts = sorted(answers.values())
    return {
        "units_shown": statistics.mean(len(i["units"]) for i in shown.values()),
        "rounds": statistics.mean(len(i["round_ids"]) for i in shown.values()),
        "rows": statistics.mean(counts),
        "rows_min": counts[0],
        "rows_max": counts[-1],
        "cells": statistics.mean(cells),
        "units_per_team": units_per_team,
        # a typical team, for EXPLAIN: the one with the median number of rows
        "median_team": min(answers, key=lambda t: abs(answers[t] - counts[len(counts) // 2])),
        "rows_per_team": answers,
    }


def compute_calls(shown: dict[int, Any], today: dt.date) -> dict[str, Call]:
    return {
        "compute": lambda team: lambda s: compute(s, team, today),
        "bare": lambda team: lambda s: fetch_all(s, bare_statement(shown[team.id]["round_ids"])),
        # The cost of any statement at all through the same session: a lower bound per query.
        "floor": lambda team: lambda s: fetch_all(s, select(text("1"))),
    }
