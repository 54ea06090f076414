"""One outbox worker in its own OS process, for tests/test_outbox_processes.py.

    python tests/outbox_process.py DATABASE_URL OUT_FILE READY_FILE GO_FILE [BATCH] [PAUSE_MS]

Connects, touches READY_FILE, waits for GO_FILE (so that both processes start draining
together), drains the outbox with a sender that appends "<address> <time>" to OUT_FILE for
every delivery (sleeping PAUSE_MS per send so the processes overlap), then prints a JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.outbox_worker import OutboxWorker
from dialogs.ports import Delivery
from storage.database import Database


class FileSender:
    platform = "sandbox"

    def __init__(self, path: Path, pause: float) -> None:
        self.out = path.open("a", encoding="utf-8")
        self.pause = pause

    async def send(self, delivery: Delivery) -> None:
        # Written and flushed before the worker marks it sent: what the platform received.
        self.out.write(f"{delivery.address} {time.time():.6f}\n")
        self.out.flush()
        await asyncio.sleep(self.pause)


async def main(url: str, out: Path, ready: Path, go: Path, batch: int, pause: float) -> None:
    database = Database(url)
    async with database.engine.connect():
        pass  # the first connection (and SQLite's pragmas) before the race starts
    sender = FileSender(out, pause)
    worker = OutboxWorker(database, {"sandbox": sender}, batch=batch)
    await asyncio.to_thread(ready.touch)
    deadline = time.monotonic() + 30
    while not await asyncio.to_thread(go.exists):
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        await asyncio.sleep(0.002)
    try:
        handled = await worker.drain()
    finally:
        sender.out.close()
        await database.dispose()
    print(json.dumps({"worker": worker.name, "handled": handled, "sent": worker.sent}))


if __name__ == "__main__":
    url, out, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    pause = float(sys.argv[6]) / 1000 if len(sys.argv) > 6 else 0.002
    asyncio.run(main(url, out, ready, go, batch, pause))
