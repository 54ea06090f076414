"""Where compute() spends its time: the functions it calls, wrapped and timed; and the
EXPERIMENT `cost_split` (a measurement only: its own statements replayed with nothing built,
and as many `SELECT 1`, which split its time into round trips, the statements' own work and
building the summary in Python)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, select, text

from bench.harness.instruments import Part, counting_statements, timed, timed_parts
from bench.summary.reading import compute_calls
from bench.summary.timing import measure_times
from dialogs.summaries import pulse
from dialogs.summaries import store as summary_store
from dialogs.summaries.pulse import compute
from storage.database import Database
from storage.models import Team

# What compute() calls, by the module attribute it is called through (so wrapping it there is
# what compute() really runs): the one storage read, and the disclosure rules.
BREAKDOWN = (
    (summary_store, "summary_read"),
    (pulse, "disclose"),
)


async def breakdown(
    db: Database, teams: Sequence[Team], today: dt.date, reps: int
) -> dict[str, Any]:
    """Where a compute() call spends its time, by the functions it calls (wrapped, timed)."""
    parts: list[Part] = [
        (module, name, f"{module.__name__.rsplit('.', 1)[-1]}.{name}") for module, name in BREAKDOWN
    ]
    spent: dict[str, float] = {label: 0.0 for _, _, label in parts}
    count: dict[str, int] = dict.fromkeys(spent, 0)
    total = 0.0
    calls = 0
    with counting_statements(db) as statements, timed_parts(parts, spent, count):
        for _ in range(reps):
            for team in teams:
                total += await timed(db, compute_calls({}, today)["compute"](team))
                statements[0] -= 1  # the SELECT 1 that `timed` sends first
                calls += 1
    by_part = {
        k: {"ms_per_call": v / calls, "calls_per_summary": count[k] / calls}
        for k, v in spent.items()
    }
    inside = sum(v for v in spent.values()) / calls
    return {
        "total_ms": total / calls,
        "parts": by_part,
        "rest_ms": total / calls - inside,
        "statements_per_summary": statements[0] / calls,
    }


# --------------------------------------------------------------------------- experiment
async def captured_statements(
    db: Database, team: Team, today: dt.date
) -> list[tuple[Any, dict[str, Any]]]:
    """The statements a real compute() call sends, with their parameters (the application's
    own module-level statements, not copies), whether sent through the ORM session or through
    its connection."""
    captured: list[tuple[Any, dict[str, Any]]] = []

    def grab(_conn: Any, statement: Any, multiparams: Any, params: Any, _options: Any) -> None:
        captured.append((statement, dict(multiparams[0] if multiparams else params or {})))

    event.listen(db.engine.sync_engine, "before_execute", grab)
    try:
        async with db.session() as session:
            await compute(session, team, today)
    finally:
        event.remove(db.engine.sync_engine, "before_execute", grab)
    return captured


async def replay(session: Any, statements: Sequence[tuple[Any, dict[str, Any]]]) -> int:
    """EXPERIMENT: compute()'s own statements, sent as it sends them (through the session's
    connection) and their rows fetched, and nothing else: no tuple unpacked, no disclose()."""
    rows = 0
    connection = await session.connection()
    for statement, parameters in statements:
        rows += len((await connection.execute(statement, parameters)).all())
    return rows


async def floors(session: Any, n: int) -> None:
    """EXPERIMENT: `n` statements that do nothing (`SELECT 1`): what n round trips cost at least."""
    for _ in range(n):
        await session.execute(select(text("1")))


async def cost_split(
    db: Database, teams: Sequence[Team], shown: dict[int, Any], today: dt.date, reps: int
) -> dict[str, Any]:
    """EXPERIMENT (measurement only, nothing in dialogs/ or storage/ changes): where the gap
    between compute() and the bare query lies. In the same interleaved pass: compute(); its
    own statements replayed with their rows fetched but nothing built from them
    (`statements_only`); as many `SELECT 1` as it sends statements (`n_floors`: the round trips
    alone); the bare query; one `SELECT 1`."""
    captured = {t.id: await captured_statements(db, t, today) for t in teams}
    sent = statistics.mean(len(c) for c in captured.values())
    calls = compute_calls(shown, today)
    calls["statements_only"] = lambda team: lambda s: replay(s, captured[team.id])
    calls["n_floors"] = lambda team: lambda s: floors(s, len(captured[team.id]))
    out = await measure_times(db, teams, calls, reps, "bare")
    out["statements_per_summary"] = sent
    return out
