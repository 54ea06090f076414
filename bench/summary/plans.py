"""The last step's extras: `pulse_chart` timed directly, and the EXPLAIN plans of every
statement compute() really sends (captured, rendered with that call's values) and of the
bare query."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import literal
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from bench.harness.figures import stats
from bench.summary.costs import captured_statements
from bench.summary.timing import bare_statement
from dialogs.summaries.pulse import compute
from storage.database import Database
from storage.models import Team


async def chart_times(db: Database, teams: Sequence[Team], today: dt.date) -> dict[str, float]:
    """`pulse_chart` called directly (card_for and send_to_readers run it in a worker thread
    through asyncio.to_thread: off the event loop, but the same CPU time)."""
    from dialogs.i18n import Tr
    from dialogs.summaries.charts import pulse_chart

    out: list[float] = []
    for n, team in enumerate(teams[:6]):
        async with db.session() as session:
            result = await compute(session, team, today)
        tr = Tr(team.language)
        start = time.perf_counter()
        png = pulse_chart(result, tr)
        ms = (time.perf_counter() - start) * 1000
        assert png.startswith(b"\x89PNG")
        if n:  # the first draw loads matplotlib's fonts: not counted
            out.append(ms)
    return stats(out)


async def query_plan(db: Database, statement: Any) -> list[str]:
    try:
        sql = str(
            statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        )
    except Exception as error:  # a literal this dialect cannot render
        return [f"(not rendered: {error})"]
    async with db.engine.connect() as connection:
        if db.is_sqlite:
            rows = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)).all()
            depth = {0: -1}
            lines = []
            for node, parent, _, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            return lines
        rows = (await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql)).all()
        return [r[0] for r in rows]


def with_values(statement: Any, parameters: dict[str, Any]) -> Any:
    """The statement with its named bindparams replaced by typed literals of this call's values
    (an untyped `LIMIT :checkins` cannot be rendered otherwise)."""

    def replace(element: Any, **_: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in parameters:
            return literal(parameters[element.key])
        return None

    return visitors.replacement_traverse(statement, {}, replace)


async def explain(
    db: Database, team: Team, shown: dict[int, Any], today: dt.date
) -> dict[str, list[str]]:
    """EXPLAIN (QUERY PLAN) of every statement compute() really sends and of the bare query."""
    plans: dict[str, list[str]] = {}
    for n, (statement, parameters) in enumerate(
        await captured_statements(db, team, today), start=1
    ):
        # the module-level statements carry bindparams: rendered with this call's values
        plans[f"compute statement {n}"] = await query_plan(db, with_values(statement, parameters))
    plans["bare (the shown units' rounds)"] = await query_plan(
        db, bare_statement(shown[team.id]["round_ids"])
    )
    return plans
