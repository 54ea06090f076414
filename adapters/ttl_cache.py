"""What the adapters remember for a while.

- `TtlCache`: a bounded map in this process's memory whose entries expire, for what any
  process would find the same way (people's `users.info` profiles: Slack's own answer).
- `SharedMarks`: expiring facts every process shares, in the database (storage/marks.py):
  deliveries already handled, views the person closed. Their keys are keyed hashes of what
  they name (`Sealer.tag`), so the table names no delivery and no person.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from storage import marks
from storage.database import Database
from storage.sealing import Sealer


class TtlCache:
    """A bounded map whose entries expire (this process only)."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        found = self._items.get(key)
        if found is None or found[0] < self.clock():
            self._items.pop(key, None)
            return None
        return found[1]

    def put(self, key: str, value: Any) -> None:
        self._items[key] = (self.clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class MarksUnavailable(Exception):
    """The database did not answer: whether it is the first time is unknown."""


class SharedMarks:
    """Marks in the database under one name space (`kind`), each for `ttl`.

    `first_time` is called by the work after an ack (Slack's events and buttons that submit
    nothing; a submission's mark is committed with its intake row instead, and a Teams
    activity's with its engine turn: `key` names them): the calls waiting at the same moment
    share one transaction (a group commit, as the intake's), so that a burst costs a few
    commits, not one per request."""

    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        kind: str,
        ttl: dt.timedelta,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.database, self.sealer, self.kind, self.ttl = database, sealer, kind, ttl
        self.clock = clock
        self._waiting: list[tuple[str, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    def key(self, name: str) -> str:
        # A delivery's identity comes from the request: a lone surrogate must not break it.
        safe = name.encode("utf-8", "backslashreplace").decode()
        return self.sealer.tag("mark", self.kind, safe)

    async def first_time(self, name: str) -> bool:
        """True for the one process (and call) that marks `name` first within the ttl.
        MarksUnavailable when the database does not answer."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((self.key(name), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        return await future

    async def _write(self) -> None:
        # Whatever arrived while the previous transaction ran goes in the next one.
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self.database.session() as session, session.begin():
                    if not self.database.is_sqlite:
                        # Not worth a wait for the disk before the ack: a mark lost when
                        # PostgreSQL itself crashes only lets a repeat through, which the
                        # engine's idempotent writes absorb (nothing acknowledged is lost).
                        await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                    won = await marks.first_times(
                        session, [key for key, _ in batch], self.ttl, self.clock()
                    )
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        unavailable = MarksUnavailable(repr(error))
                        unavailable.__cause__ = error  # storage.database.unavailable reads it
                        future.set_exception(unavailable)
                continue
            for key, future in batch:
                first = key in won
                won.discard(key)  # the same key twice in one batch: only the first call
                if not future.done():
                    future.set_result(first)

    async def present(self, name: str) -> bool:
        async with self.database.session() as session:
            return await marks.present(session, self.key(name), self.clock())

    async def forget(self, name: str) -> None:
        async with self.database.session() as session, session.begin():
            await marks.forget(session, self.key(name))
