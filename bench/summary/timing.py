"""The summary bench's timed comparisons: calls measured on the same teams, interleaved
(teams shuffled, call order rotated) so drift and caches weigh on all of them alike, and the
bare GROUP BY they are compared with."""

from __future__ import annotations

import gc
import random
import statistics
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import func, select

from bench.harness.figures import stats
from bench.harness.instruments import timed
from bench.summary.rows import BENCH_ANSWERS
from storage.database import Database
from storage.models import Team


def bare_statement(round_ids: Sequence[int]) -> Any:
    """The baseline: one grouped scan of these rounds' answers in the clear."""
    answers = BENCH_ANSWERS.c
    return (
        select(answers.dimension, answers.value, func.count())
        .where(answers.round_id.in_(round_ids))
        .group_by(answers.dimension, answers.value)
    )


# A timed call: given a team, what to run on the session `timed` hands it.
Call = Callable[[Team], Callable[[Any], Awaitable[Any]]]


async def load_teams(db: Database, ids: Sequence[int] | None = None) -> list[Team]:
    async with db.session() as session:
        if ids is None:
            return list((await session.scalars(select(Team).order_by(Team.id))).all())
        return [t for i in ids if (t := await session.get(Team, i)) is not None]


async def fetch_all(session: Any, statement: Any) -> list[Any]:
    """Every row of the statement, fetched (what a caller that uses them pays)."""
    return list((await session.execute(statement)).all())


async def measure_times(
    db: Database, teams: Sequence[Team], calls: dict[str, Call], reps: int, base: str
) -> dict[str, Any]:
    """Each call `reps` times per team, interleaved (teams shuffled, call order rotated), so
    drift and caches weigh on all of them alike. Ratios are to the call named `base`."""
    for team in teams:  # one more untimed pass of each: caches, statement compilation
        for make in calls.values():
            await timed(db, make(team))
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    per_team: dict[str, dict[int, list[float]]] = {name: {} for name in calls}
    rng = random.Random(7)
    for rep in range(reps):
        order = list(teams)
        rng.shuffle(order)
        for team in order:
            names = list(calls)
            names = names[rep % len(names) :] + names[: rep % len(names)]
            for name in names:
                ms = await timed(db, calls[name](team))
                samples[name].append(ms)
                per_team[name].setdefault(team.id, []).append(ms)
    result: dict[str, Any] = {name: stats(v) for name, v in samples.items()}
    for name in calls:
        if name in (base, "floor"):
            continue
        result[f"{name}/{base}"] = result[name]["median"] / result[base]["median"]
        result[f"{name}/{base} p90"] = result[name]["p90"] / result[base]["p90"]
        ratios = [
            statistics.median(per_team[name][t]) / statistics.median(per_team[base][t])
            for t in per_team[base]
        ]
        result[f"{name}/{base} per-team median"] = statistics.median(ratios)
        result[f"{name}/{base} per-team worst"] = max(ratios)
    result["per_team_median_ms"] = {
        name: {t: statistics.median(v) for t, v in by_team.items()}
        for name, by_team in per_team.items()
    }
    return result
