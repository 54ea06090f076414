"""Memory: tracemalloc's peak during one call, and the RSS of a fresh process that only
computes summaries (`python -m bench.summary_bench --rss-probe ...`: the fill does not
pollute it)."""

from __future__ import annotations

import datetime as dt
import gc
import json
import statistics
import subprocess
import sys
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.summary.rows import SEALER
from bench.summary.timing import bare_statement, fetch_all, load_teams
from dialogs.checkins.results import freeze_new_units
from dialogs.summaries.pulse import compute
from storage.database import Database
from storage.models import Team


async def measure_tracemalloc(
    db: Database, teams: Sequence[Team], shown: dict[int, Any], today: dt.date
) -> dict[str, float]:
    """Peak Python allocation (KiB) during one call, over (part of) the sample; tracemalloc sees
    every thread, aiosqlite's worker included. Tracing is slow: `teams` is kept short."""
    peaks: dict[str, list[float]] = {"compute": [], "bare": [], "close_overhead": []}
    tracemalloc.start()
    try:
        for team in teams:
            for name, call in (
                ("compute", lambda s, t=team: compute(s, t, today)),
                ("bare", lambda s, t=team: fetch_all(s, bare_statement(shown[t.id]["round_ids"]))),
                ("close_overhead", lambda s, t=team: freeze_new_units(s, SEALER, t)),
            ):
                async with db.session() as session:
                    await session.execute(text("SELECT 1"))
                    gc.collect()
                    base = tracemalloc.get_traced_memory()[0]
                    tracemalloc.reset_peak()
                    await call(session)
                    peaks[name].append((tracemalloc.get_traced_memory()[1] - base) / 1024)
    finally:
        tracemalloc.stop()
    return {
        "compute_peak_kib": max(peaks["compute"]),
        "compute_median_kib": statistics.median(peaks["compute"]),
        "bare_peak_kib": max(peaks["bare"]),
        "close_overhead_peak_kib": max(peaks["close_overhead"]),
    }


def rss_probe(url: str, team_ids: Sequence[int], today: dt.date) -> dict[str, float]:
    """A fresh process that only computes summaries: its RSS, before and at peak."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.summary_bench",
            "--rss-probe",
            url,
            ",".join(map(str, team_ids)),
            today.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],  # the repository: `-m bench...` resolves
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def status_kib(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


async def probe(url: str, team_ids: Sequence[int], today: dt.date) -> dict[str, float]:
    db = Database(url)
    teams = await load_teams(db, team_ids)
    async with db.session() as session:  # imports, compiled statements, connection: warm
        await compute(session, teams[0], today)
    gc.collect()
    before = status_kib("VmRSS")
    for _ in range(3):
        for team in teams:
            async with db.session() as session:
                await compute(session, team, today)
    result: dict[str, float] = {
        "rss_before_kib": before,
        "rss_after_kib": status_kib("VmRSS"),
        "rss_peak_kib": status_kib("VmHWM"),
        "calls": 3 * len(teams),
    }
    await db.dispose()
    return result
