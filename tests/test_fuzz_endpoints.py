"""Hostile input never gets a 5xx, a traceback or a call off this machine: every HTTP endpoint
of a real `passerelle serve` (Slack's events, interactivity and commands, signed; Teams'
/api/messages in local mode; the sandbox's forms and page; /healthz; /metrics) gets a few
dozen generated probes (tests/fuzz/: hypothesis strategies over real payload shapes,
mutations of real payloads, garbage), on SQLite and PostgreSQL.

The full run (10,000 per endpoint) is `bench/fuzz_endpoints.py`; PASSERELLE_FUZZ_COUNT sets
the count here. Each endpoint's figures (statuses, RSS before and after, time) are printed.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.fuzz.harness import Fuzz

# Bounded for the suite (the whole file, both databases, in well under a minute here); the
# 10,000 per endpoint are bench/fuzz_endpoints.py's.
COUNT = int(os.environ.get("PASSERELLE_FUZZ_COUNT", "60"))
POOL = 20  # drawn by hypothesis per endpoint (a few ms each), the rest mutations of them
SEED = 20261122
# On PostgreSQL, the endpoints that write (SQLite runs them all): the suite stays short.
WRITERS = ("slack interactivity", "teams /api/messages", "sandbox /sandbox/submit")


async def test_generated_payloads_get_no_5xx_no_traceback_no_outbound_call(
    database_url: str, tmp_path: Path
) -> None:
    async with Fuzz(database_url, tmp_path, pool=POOL) as fuzz:
        outcomes = []
        for n, target in enumerate(fuzz.targets()):
            if database_url.startswith("postgresql") and target.name not in WRITERS:
                continue
            outcomes.append(await fuzz.run(target, COUNT, SEED + n))
            assert fuzz.alive, fuzz.log.read_text(errors="replace")[-4000:]
    print("\n".join(o.line() for o in outcomes))  # the figures, with -s
    assert outcomes and [o.name for o in outcomes if o.sent != COUNT] == []
    problems = [
        f"{o.line()}\n" + "\n".join(o.examples[:3]) + "\n" + o.log_excerpt[:3000]
        for o in outcomes
        if o.server_errors or o.tracebacks or o.error_lines or o.outbound or o.fake_refused
    ]
    assert problems == [], "\n\n".join(problems)
