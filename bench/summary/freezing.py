"""The write side: the close job's freezing of every team after each fill, and one freeze as
one close does it against the bare GROUP BY over the same rows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, text

from bench.harness.databases import settle
from bench.harness.figures import stats
from bench.harness.instruments import counting_statements
from bench.summary.fill import bulk
from bench.summary.plan import Plan
from bench.summary.rows import BENCH_ANSWERS, SEALED_COLUMNS, SEALER, round_answers, sealed_rows
from bench.summary.timing import Call, bare_statement, fetch_all, load_teams, measure_times
from dialogs.checkins import results
from dialogs.checkins.models import Round
from dialogs.checkins.results import freeze_new_units
from storage.database import Database
from storage.models import Sealed, SummaryUnit, Team, UnitCell

# The kind under which the timed single freezes insert their unit: never a real kind, so the
# unit does not collide with the team's frozen ones; every timed freeze is rolled back.
BENCH_KIND = "bench"


async def freeze_all(db: Database) -> dict[str, Any]:
    """What the close job does after a close, for every team: `freeze_new_units` (open the
    sealed ballots, aggregate, generalise, store, delete), one transaction per team. Timed as
    a whole (commits included) and per team."""
    teams = await load_teams(db)
    per_team: list[float] = []
    frozen = 0
    start = time.perf_counter()
    with counting_statements(db) as statements:
        for team in teams:
            t0 = time.perf_counter()
            async with db.session() as session, session.begin():
                frozen += await freeze_new_units(session, SEALER, team)
            per_team.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - start
    async with db.session() as session:
        cells = int(await session.scalar(select(func.count()).select_from(UnitCell)) or 0)
        units = int(await session.scalar(select(func.count()).select_from(SummaryUnit)) or 0)
        left = int(await session.scalar(select(func.count()).select_from(Sealed)) or 0)
    await settle(db, ("summary_units", "unit_cells", "open_answers", "sealed"))
    return {
        "teams": len(teams),
        "units_frozen": frozen,
        "wall_s": wall,
        "ms_per_unit": wall * 1000 / max(1, frozen),
        "ms_per_team": stats(per_team),
        "statements": statements[0],
        "statements_per_unit": statements[0] / max(1, frozen),
        "units_total": units,
        "cells_total": cells,
        # Every round is closed: what stays sealed is only the ballots of a pooling team's last
        # rounds, still under k together, waiting to be pooled with the next ones.
        "sealed_left": left,
    }


async def latest_checkin_unit_rounds(db: Database, team: Team) -> list[Round]:
    """The rounds of the team's latest frozen check-in unit: what one close freezes."""
    async with db.session() as session:
        unit = await session.scalar(
            select(SummaryUnit)
            .where(SummaryUnit.team_id == team.id, SummaryUnit.kind == "checkin")
            .order_by(SummaryUnit.first_seq.desc())
            .limit(1)
        )
        assert unit is not None
        return list(
            (
                await session.scalars(
                    select(Round)
                    .where(
                        Round.team_id == team.id,
                        Round.kind == unit.kind,
                        Round.closed.is_(True),
                        Round.seq.between(unit.first_seq, unit.last_seq),
                    )
                    .order_by(Round.seq)
                )
            ).all()
        )


async def reseal(
    db: Database, plan: Plan, seed: int, unit_rounds: dict[int, list[Round]]
) -> list[str]:
    """Seal again the ballots of these rounds (regenerated from the plan: the same ballots),
    so one freeze can be timed after the close job deleted them. Returns the rows' ids."""
    rows: list[tuple[Any, ...]] = []
    for team_id, rounds_ in unit_rounds.items():
        team = plan.teams[team_id - 1]
        for round_ in rounds_:
            _, payloads = round_answers(plan, team, round_.seq, seed)
            # another seed for the rows' ids only: fresh ids, as a new recording would draw
            rows += sealed_rows(plan, team, round_.seq, payloads, seed + 1)
    async with db.engine.begin() as connection:
        await bulk(connection, db.is_sqlite, Sealed.__table__, SEALED_COLUMNS, rows)
    return [r[0] for r in rows]


async def unseal(db: Database, ids: Sequence[str]) -> None:
    async with db.session() as session, session.begin():
        await session.execute(delete(Sealed).where(Sealed.id.in_(list(ids))))


async def ballots_in(db: Database, round_ids: Sequence[int]) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count(func.distinct(BENCH_ANSWERS.c.ballot))).where(
                    BENCH_ANSWERS.c.round_id.in_(round_ids)
                )
            )
            or 0
        )


async def answers_in(db: Database, round_ids: Sequence[int]) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(BENCH_ANSWERS)
                .where(BENCH_ANSWERS.c.round_id.in_(round_ids))
            )
            or 0
        )


async def freeze_times(
    db: Database, teams: Sequence[Team], plan: Plan, seed: int, reps: int
) -> dict[str, Any]:
    """One freeze, as one close does it, against the bare GROUP BY over the same rows; and
    what a close costs around it (freeze_new_units with nothing new to freeze)."""
    unit_rounds = {t.id: await latest_checkin_unit_rounds(db, t) for t in teams}
    for team in teams:  # nothing new to freeze: the team's units are all frozen already
        async with db.session() as session:
            assert await freeze_new_units(session, SEALER, team) == 0
    # Measured before the ballots are sealed again: with sealed ballots of frozen rounds
    # waiting, freeze_new_units would also (and only here) drop them.
    overhead = await measure_times(
        db,
        teams,
        {
            # the last frozen seq of each kind, the closed rounds after it, the sealed ballots
            # still waiting (none)
            "close_overhead": lambda team: lambda s: freeze_new_units(s, SEALER, team),
            "floor": lambda team: lambda s: fetch_all(s, select(text("1"))),
        },
        reps,
        "floor",
    )
    resealed = await reseal(db, plan, seed, unit_rounds)
    try:
        calls: dict[str, Call] = {
            # The whole write, under a kind of its own: open the unit's sealed ballots,
            # aggregate, generalise, store the unit and its cells, write the open answers,
            # delete the ballots (rolled back after each call, so they are there again).
            "freeze": lambda team: (
                lambda s: results.freeze_unit(s, SEALER, team, BENCH_KIND, unit_rounds[team.id])
            ),
            "bare": lambda team: (
                lambda s: fetch_all(s, bare_statement([r.id for r in unit_rounds[team.id]]))
            ),
            "floor": lambda team: lambda s: fetch_all(s, select(text("1"))),
        }
        result = await measure_times(db, teams, calls, reps, "bare")
    finally:
        await unseal(db, resealed)
    result["close_overhead"] = overhead["close_overhead"]
    ids = {t.id: [r.id for r in unit_rounds[t.id]] for t in teams}
    result["rows"] = statistics.mean([await answers_in(db, ids[t.id]) for t in teams])
    result["ballots"] = statistics.mean([await ballots_in(db, ids[t.id]) for t in teams])
    result["rounds"] = statistics.mean(len(r) for r in unit_rounds.values())
    return result
