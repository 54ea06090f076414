"""Fuzz every HTTP endpoint of a real `passerelle serve` with generated payloads.

    .venv/bin/python -m bench.fuzz_endpoints [--count 10000] [--database sqlite|postgresql|both]
        [--postgres-url URL] [--seed 11] [--concurrency 24] [--only slack,teams,...]

The server runs as a child process (tests/fuzz/guard.py: any connection or name lookup that
would leave this machine is refused and counted), with Slack pointing at a FakeSlack, Teams in
local mode answering a FakeConnector, the sandbox on, on a migrated database seeded with one
team per platform (tests/fuzz/world.py). Each endpoint gets `--count` probes (tests/fuzz/*:
hypothesis strategies over real payload shapes, mutations of real payloads, garbage), sent over
HTTP with aiohttp, `--concurrency` at a time. Printed per endpoint: probes sent, HTTP statuses,
5xx, tracebacks and ERROR lines in the server's log, outbound attempts, connections dropped,
RSS before and after, wall time. Exit status 1 if any 5xx, traceback or outbound attempt was
seen, or the server died. The test suite runs the same with a few hundred probes
(tests/test_fuzz_endpoints.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bench.harness.databases import KINDS, default_postgres_url, kinds, postgres_database
from tests.fuzz.harness import CONCURRENCY, Fuzz, Outcome


async def fuzz_once(
    database_url: str, directory: Path, args: argparse.Namespace
) -> tuple[list[Outcome], bool, str]:
    outcomes = []
    async with Fuzz(database_url, directory, concurrency=args.concurrency) as fuzz:
        for n, target in enumerate(fuzz.targets()):
            if args.only and not any(word in target.name for word in args.only.split(",")):
                continue
            outcome = await fuzz.run(target, args.count, args.seed + n)
            print(outcome.line(), flush=True)
            for example in outcome.examples[:3]:
                print("    5xx:", example[:400], flush=True)
            if outcome.log_excerpt:
                print("    log:", outcome.log_excerpt[:1500].replace("\n", "\n         "))
            outcomes.append(outcome)
            if not fuzz.alive:
                print("the server died", flush=True)
                break
        alive = fuzz.alive
    return outcomes, alive, str(fuzz.log)


async def main(args: argparse.Namespace) -> int:
    failed = False
    for kind in kinds(args.database):
        directory = Path(tempfile.mkdtemp(prefix=f"fuzz-{kind}-"))
        print(f"== {kind}: {args.count} probes per endpoint (log in {directory})", flush=True)
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{directory / 'passerelle.db'}"
            outcomes, alive, _ = await fuzz_once(url, directory, args)
        else:
            async with postgres_database(args.postgres_url, "passerelle_fuzz") as url:
                outcomes, alive, _ = await fuzz_once(url, directory, args)
        sent = sum(o.sent for o in outcomes)
        bad = sum(o.server_errors + o.tracebacks + o.outbound for o in outcomes)
        print(f"== {kind}: {sent} probes, 5xx + tracebacks + outbound = {bad}, alive: {alive}")
        failed |= bad > 0 or not alive
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parse.add_argument("--count", type=int, default=10_000, help="probes per endpoint")
    parse.add_argument("--database", choices=list(KINDS), default="sqlite")
    parse.add_argument("--postgres-url", default=default_postgres_url("postgres"))
    parse.add_argument("--seed", type=int, default=11)
    parse.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parse.add_argument("--only", default="", help="comma-separated words of target names")
    return parse


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parser().parse_args())))
