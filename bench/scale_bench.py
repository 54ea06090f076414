"""Scale: 1, 2 and 3 `passerelle serve` processes behind nginx on one PostgreSQL (issue 11).

    .venv/bin/python -m bench.scale_bench [--members 400] [--levels 50,200] [--sizes 1,2,3]
        [--teams 1] [--postgres-url URL] [--quick]

For each cluster size (tests/cluster.py: real processes, Debian's nginx on loopback, one
PostgreSQL database made for the run and dropped after), one Slack team of ``--members``
onboarded members (``--teams N``: N teams of members/N, each its own channel and its own round,
their submissions interleaved round robin in one load, bench/scale_teams.py) and, per
concurrency level, a new check-in round that every member answers once: signed view_submission
requests through nginx, ``level`` in flight (the load generator of bench/harness/http_load.py),
against the FakeSlack in a child process (Slack's work is not on our CPUs in production).

Printed per size and level: acks per second and ack p50/p99 (each request's full HTTP answer
through nginx: Passerelle acks once the submission is committed to the intake), submissions
RECORDED per second (first request to the last ballot recorded and the intake empty: the work
after the ack, shared by every process's intake worker), CPU seconds used during the level by
each serve process, nginx, PostgreSQL and the load generator (from /proc), and the ratios to one
process measured in the same run. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from adapters.slack.blocks import form_metadata, modal_view
from adapters.slack.events import ModalMetadata, card_language
from adapters.slack.replies import CALLBACK_ID
from adapters.slack.routes import EVENTS_PATH
from bench.harness.databases import default_postgres_url, postgres_database
from bench.harness.figures import percentile
from bench.harness.http_load import load
from bench.harness.machine import machine_line
from bench.harness.remote_slack import RemoteSlack
from bench.harness.slack_team import ShiftedClock
from bench.scale_teams import interleave, open_rounds, recorded, seed_teams
from dialogs.cards import Card
from dialogs.engine import Engine
from storage import migrate
from storage.database import Database
from storage.sealing import Sealer
from tests.cluster import SECRET, Cluster, cpu_seconds
from tests.slack_signing import TEAM_ID, interaction, view_submission

RECORDED_WITHIN = 600.0


def postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            continue  # a backend that ended: its time is lost to both samples alike
    return total


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Result:
    size: int
    level: int
    acks_per_s: float
    p50_ms: float
    p99_ms: float
    recorded_per_s: float
    bad: int
    cpu: dict[str, float]  # CPU seconds during the level, by part
    wall: float


def bodies_for(
    slack: RemoteSlack, sealer: Sealer, card: Card, refs: list[str], first: int = 0
) -> list[bytes]:
    assert card.form is not None
    # In the language the card was drawn in, as the bridge's modals are (the ack reads it).
    metadata = ModalMetadata(form_metadata(card.form), language=card_language(card))
    sign = getattr(metadata, "signed", None)  # metadata signed per person, where required
    views = []
    for n, ref in enumerate(refs):
        encoded = sign(sealer.tag, TEAM_ID, ref) if sign is not None else metadata.encode()
        view = modal_view(card, private_metadata=encoded, callback_id=CALLBACK_ID)
        views.append((view, f"VS{first + n:08d}{int(time.time() * 1000) % 10**8:08d}"))
    held = slack.add_views(views)
    names = [i.name for i in card.inputs() if i.kind == "scale"]
    out = []
    for n, (ref, shown) in enumerate(zip(refs, held, strict=True)):
        answers = {name: str((n + k) % 5 + 1) for k, name in enumerate(names)}
        out.append(interaction(view_submission(shown, answers, user_id=ref, strict=False)))
    return out


async def run_size(args: argparse.Namespace, size: int, admin_url: str) -> list[Result]:
    results: list[Result] = []
    async with postgres_database(admin_url, "passerelle_slack_bench", 10) as url:
        database = Database(url)
        await migrate.upgrade(database)
        clock = ShiftedClock()
        sealer = Sealer(SECRET)
        engine = Engine(database, clock=clock, sealer=sealer)
        slack = RemoteSlack()
        try:
            bench = await seed_teams(engine, slack, args.members, args.teams)
            slack_pid = slack._process.pid or 0  # its CPU: Slack's work, not ours in production
            env = {
                **slack.env(),
                "PASSERELLE_SCHEDULER": "false",
                "PASSERELLE_SANDBOX": "false",
                "PASSERELLE_LOG_LEVEL": "WARNING",
            }
            with tempfile.TemporaryDirectory(prefix=f"scale{size}-") as tmp:
                async with Cluster(url, Path(tmp), size, env) as cluster:
                    connector = aiohttp.TCPConnector(limit=0)
                    timeout = aiohttp.ClientTimeout(total=60)
                    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                        target = cluster.url + EVENTS_PATH
                        # Warm every process (Bolt's first request, connections) off the clock.
                        (_, card), *_ = await open_rounds(engine, clock, bench)
                        warm = bodies_for(slack, sealer, card, bench[0].refs[: size * 4])
                        await load(http, target, warm, size)
                        for level in [int(c) for c in args.levels.split(",")]:
                            opened = await open_rounds(engine, clock, bench)
                            bodies = interleave(
                                [
                                    bodies_for(slack, sealer, card, team.refs, team.first)
                                    for team, (_, card) in zip(bench, opened, strict=True)
                                ]
                            )
                            results.append(
                                await measure(
                                    cluster,
                                    http,
                                    target,
                                    bodies,
                                    level,
                                    database,
                                    [round_id for round_id, _ in opened],
                                    slack_pid,
                                )
                            )
                            r = results[-1]
                            cpu = " ".join(f"{k} {v:.1f}" for k, v in r.cpu.items())
                            print(
                                f"  {size} process(es) c={level:<3} acks {r.acks_per_s:6.1f}/s"
                                f" p50 {r.p50_ms:6.1f} ms p99 {r.p99_ms:7.1f} ms"
                                f"  recorded {r.recorded_per_s:6.1f}/s  bad {r.bad}"
                                f"  CPU s: {cpu} (wall {r.wall:.1f} s)",
                                flush=True,
                            )
        finally:
            slack.close()
            await database.dispose()
    return results


async def measure(
    cluster: Cluster,
    http: aiohttp.ClientSession,
    target: str,
    bodies: list[bytes],
    level: int,
    database: Database,
    round_ids: list[int],
    fake_pid: int,
) -> Result:
    serve_pids = [p.pid for p in cluster.processes]
    nginx_pids = [cluster.nginx.process.pid, *cluster.nginx.worker_pids()]  # type: ignore[union-attr]

    def sample() -> dict[str, float]:
        parts = {f"serve{i}": cpu_of([pid]) for i, pid in enumerate(serve_pids)}
        parts["nginx"] = cpu_of(nginx_pids)
        parts["postgres"] = cpu_of(postgres_pids())
        parts["loadgen"] = own_cpu()
        parts["fakeslack"] = cpu_of([fake_pid])  # stands in for Slack: not ours in production
        return parts

    before = sample()
    started = time.perf_counter()
    done = await load(http, target, bodies, level)
    deadline = time.monotonic() + RECORDED_WITHIN
    while await recorded(database, round_ids) != (len(bodies), 0):
        if time.monotonic() > deadline:
            raise SystemExit(f"not recorded within {RECORDED_WITHIN} s")
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - started
    after = sample()
    return Result(
        size=len(serve_pids),
        level=level,
        acks_per_s=len(done.latencies) / done.wall,
        p50_ms=percentile(done.latencies, 50) * 1000,
        p99_ms=percentile(done.latencies, 99) * 1000,
        recorded_per_s=len(bodies) / wall,
        bad=done.bad,
        cpu={k: after[k] - before[k] for k in before},
        wall=wall,
    )


def report(results: list[Result], teams: int) -> None:
    print(f"\n{teams} team(s), each its own round")
    print(
        "size  c    acks/s  p50 ms  p99 ms  recorded/s  x1 recorded  x1 acks"
        "  CPU%: serve (each)  nginx  postgres  loadgen  fakeslack"
    )
    base = {r.level: r for r in results if r.size == 1}
    for r in results:
        one = base.get(r.level)
        ratio = r.recorded_per_s / one.recorded_per_s if one else float("nan")
        ack_ratio = r.acks_per_s / one.acks_per_s if one else float("nan")
        serves = "/".join(
            f"{100 * v / r.wall:.0f}" for k, v in r.cpu.items() if k.startswith("serve")
        )
        print(
            f"{r.size:>4} {r.level:>3} {r.acks_per_s:8.1f} {r.p50_ms:7.1f} {r.p99_ms:7.1f}"
            f" {r.recorded_per_s:11.1f} {ratio:11.2f} {ack_ratio:8.2f}  {serves:>18}"
            f" {100 * r.cpu['nginx'] / r.wall:6.0f} {100 * r.cpu['postgres'] / r.wall:9.0f}"
            f" {100 * r.cpu['loadgen'] / r.wall:8.0f} {100 * r.cpu['fakeslack'] / r.wall:9.0f}"
        )
    total = {r.size: sum(r.cpu.values()) / r.wall for r in results}
    print(
        "CPU% is CPU seconds / wall seconds of the level (200% = both CPUs of this machine);"
        " busiest total: " + ", ".join(f"{s} proc {100 * v:.0f}%" for s, v in total.items())
    )


async def run(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    for size in [int(s) for s in args.sizes.split(",")]:
        results += await run_size(args, size, args.postgres_url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=400, help="submissions per level")
    parser.add_argument("--levels", default="50,200")
    parser.add_argument("--sizes", default="1,2,3")
    parser.add_argument("--teams", type=int, default=1, help="teams of members/N, own rounds")
    parser.add_argument("--postgres-url", default=default_postgres_url("test"))
    parser.add_argument("--quick", action="store_true", help="200 members")
    args = parser.parse_args()
    if args.quick:
        args.members = 200
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {machine_line()}")
    per = args.members // args.teams
    print(
        f"{per * args.teams} submissions per level; {args.teams} team(s) of {per} members, each"
        f" its own round, interleaved; levels {args.levels}; cluster sizes {args.sizes};"
        " nginx round robin on loopback; one PostgreSQL"
    )
    started = time.perf_counter()
    report(asyncio.run(run(args)), args.teams)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
