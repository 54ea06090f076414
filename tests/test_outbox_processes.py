"""Two real OS processes drain one outbox: every message is delivered exactly once.

Each process runs tests/outbox_process.py (an OutboxWorker with a sender that appends to its
own file). On PostgreSQL the claim is FOR UPDATE SKIP LOCKED; on SQLite (a file) it is a
conditional UPDATE ... RETURNING under the database's single write lock.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from sqlalchemy import select

from dialogs.cards import Card
from dialogs.ports import Delivery
from storage import outbox
from storage.database import Database
from storage.models import OutboxMessage
from tests.outbox_helpers import queue

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "outbox_process.py"
MESSAGES = 600
CARD = Card(title="Bilan de la semaine").model_dump(mode="json")


async def _start(
    url: str, tmp: Path, name: str, go: Path
) -> tuple[asyncio.subprocess.Process, Path, Path]:
    out, ready = tmp / f"{name}.out", tmp / f"{name}.ready"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        url,
        str(out),
        str(ready),
        str(go),
        "20",  # batch
        "2",  # ms per send
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return process, out, ready


async def test_two_processes_deliver_every_message_exactly_once(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)  # the processes run on the real clock
    expected = [f"member-{i:04d}" for i in range(MESSAGES)]
    await queue(database, expected, not_before=now - dt.timedelta(minutes=1), payload=CARD)
    go = tmp_path / "go"
    started = [await _start(database_url, tmp_path, name, go) for name in ("a", "b")]
    deadline = time.monotonic() + 20
    while not all(ready.exists() for _, _, ready in started):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.returncode is None for p, _, _ in started), "a worker died at start"
        await asyncio.sleep(0.01)
    go.touch()
    began = time.monotonic()
    reports = []
    for process, _, _ in started:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr, stderr.decode()
        reports.append(json.loads(stdout.decode().strip().splitlines()[-1]))
    elapsed = time.monotonic() - began

    deliveries = []
    for _, out, _ in started:
        lines = [line.split() for line in out.read_text().splitlines()]
        deliveries.append([(address, float(at)) for address, at in lines])
    by_a, by_b = ([address for address, _ in d] for d in deliveries)
    counts = collections.Counter(by_a + by_b)
    assert [a for a, n in counts.items() if n > 1] == []  # no duplicate
    assert sorted(counts) == expected  # no miss
    # Both processes delivered, and at the same time.
    assert by_a and by_b, (len(by_a), len(by_b))
    assert min(len(by_a), len(by_b)) >= MESSAGES // 10, (len(by_a), len(by_b))
    first_a, last_a = deliveries[0][0][1], deliveries[0][-1][1]
    first_b, last_b = deliveries[1][0][1], deliveries[1][-1][1]
    assert max(first_a, first_b) < min(last_a, last_b), "the two workers did not overlap"
    assert [r["sent"] for r in reports] == [len(by_a), len(by_b)]
    assert elapsed < 20, elapsed

    async with database.session() as session:
        found = (await session.scalars(select(OutboxMessage))).all()
    assert len(found) == MESSAGES
    assert {m.status for m in found} == {outbox.SENT}
    assert {m.attempts for m in found} == {1}  # no lease ran out, nothing was re-claimed
    names = {m.claimed_by for m in found}
    assert names == {r["worker"] for r in reports} and len(names) == 2
    mine = {m.address for m in found if m.claimed_by == reports[0]["worker"]}
    assert mine == set(by_a)  # each row marked by the process that delivered it


async def test_a_killed_worker_holds_its_messages_one_short_lease_only(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    """kill -9 of a worker in the middle of a batch: its claims run out after `LEASE` (not
    minutes); another worker then sends them, and only the one in flight is sent twice."""
    from bot.outbox_worker import LEASE, OutboxWorker

    now = dt.datetime.now(dt.UTC)
    expected = [f"member-{i}" for i in range(5)]
    await queue(database, expected, not_before=now - dt.timedelta(minutes=1), payload=CARD)
    go = tmp_path / "go"
    out, ready = tmp_path / "dying.out", tmp_path / "dying.ready"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        database_url,
        str(out),
        str(ready),
        str(go),
        "5",  # batch: the whole outbox
        "600000",  # ms per send: stuck in its first send
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert time.monotonic() < deadline and process.returncode is None
        await asyncio.sleep(0.01)
    go.touch()
    while not (out.exists() and out.read_text()):
        assert time.monotonic() < deadline and process.returncode is None
        await asyncio.sleep(0.01)
    process.kill()  # SIGKILL: no cleanup, no mark
    await process.wait()
    killed_at = dt.datetime.now(dt.UTC)
    in_flight = [line.split()[0] for line in out.read_text().splitlines()]
    async with database.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert {r.status for r in rows} == {outbox.SENDING}
    leases = [r.claimed_until for r in rows if r.claimed_until is not None]
    assert len(leases) == len(rows) and max(leases) <= killed_at + LEASE
    assert dt.timedelta(seconds=30) >= LEASE

    sent: list[str] = []

    class Recording:
        platform = "sandbox"

        async def send(self, delivery: Delivery) -> None:
            sent.append(delivery.address)

    at = killed_at
    survivor = OutboxWorker(database, {"sandbox": Recording()}, clock=lambda: at)
    assert await survivor.drain() == 0  # the dead worker's lease still holds
    at = killed_at + LEASE + dt.timedelta(seconds=1)
    assert await survivor.drain() == 5
    assert sorted(sent) == expected
    assert sorted(set(in_flight)) == in_flight and len(in_flight) == 1  # sent twice: only it
