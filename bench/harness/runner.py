"""The outer loop of a database bench: the machine, the arguments, each database asked for
(PostgreSQL skipped with a message when it cannot be reached), the figures written as JSON."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.harness.databases import OUT, kinds, postgres_version
from bench.harness.machine import machine_info

# Arguments that are paths or credentials, not settings of the run.
NOT_RECORDED = ("json", "postgres_url")


async def per_database(
    args: argparse.Namespace,
    run_one: Callable[[str], Awaitable[dict[str, Any]]],
    started: float | None = None,
) -> dict[str, Any]:
    """`run_one(kind)` for each database of `args.database`; the results with the machine and
    the arguments, and the wall time since `started` (now when not given)."""
    start = time.perf_counter() if started is None else started
    pg_version = await postgres_version(args.postgres_url)
    result: dict[str, Any] = {
        "machine": machine_info(pg_version),
        "args": {k: v for k, v in vars(args).items() if k not in NOT_RECORDED},
        "databases": [],
    }
    for kind in kinds(args.database):
        if kind == "postgresql" and pg_version is None:
            print(f"  [postgresql] not reachable at {args.postgres_url}: skipped", flush=True)
            continue
        result["databases"].append(await run_one(kind))
    result["wall_s"] = time.perf_counter() - start
    return result


def write_figures(result: dict[str, Any], target: Path | None, default_name: str) -> None:
    """The figures as JSON at `target`, or bench/out/<default_name>; says where."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = target or OUT / default_name
    path.write_text(json.dumps(result, indent=1, default=str))
    print(f"figures written to {path}")
