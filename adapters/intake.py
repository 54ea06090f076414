"""Acknowledged means durable: deliveries committed before their ack, processed from the
database after it.

- `GroupCommit.put` seals a delivery and returns once its intake row is COMMITTED (or raises
  `IntakeUnavailable`: then the platform must be told it was not received). One writer task
  commits every put waiting at that moment in one transaction, so a burst of 50 submissions
  costs a few commits, not 50, and each ack waits for one commit at most plus its own.
  A put may name the delivery's de-duplication mark (`once`, storage/marks.py): the mark is
  written in the same transaction as the row, so a delivery is either marked AND in the
  intake, or neither (a failed commit leaves nothing to undo: the resend is taken); a put
  whose mark is already there (a retry, the same request on two processes) puts nothing and
  returns None. No transaction of its own before the ack.
- `IntakeWorker` (one per process) claims due rows, opens them and hands each to its
  platform's handler, which records it through `Engine.handle(..., intake_id=...)` (the row is
  deleted in the transaction that records it) and then answers the person. It is woken at once
  by this process's commits and polls every second for rows another process left (a crash, a
  restart). A handler that raises leaves its row in the intake, counted and backed off
  (storage/intake.py `release`): nothing acknowledged is dropped. A failure because the
  database is away (down, restarting: `storage.database.unavailable`, or it does not answer
  a ping) is not the row's: not counted, the row is due again as soon as the database is
  back, and the person's "recording" view gets the real answer then, not "try again".

Nothing here holds a delivery only in memory: what was acked is in the database, and what is
in memory (a put not yet committed) has not been acked.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import intake, marks
from storage.database import Database, unavailable
from storage.sealing import Sealer

log = logging.getLogger(__name__)
Handler = Callable[[str, Any], Awaitable[None]]  # (intake id, the opened payload)
# A put waiting for its commit: (the sealed row, its mark's key, True once put / False: a repeat)
Waiting = tuple[dict[str, Any], str | None, "asyncio.Future[bool]"]
# Long enough for users.info and the engine (a row's lease only matters until the engine's
# transaction deletes it), short enough that rows held by a process that died are taken
# again soon after a restart. A lease that runs out early costs nothing but work: the
# engine records a row once (see storage/intake.py).
LEASE = dt.timedelta(seconds=10)
POLL_SECONDS = 1.0
# Rows at the engine at once. SQLite too: while one transaction waits for the database file
# (its commit, its reads), another's Python work goes on (measured: 4 at once records a
# burst of check-ins 2x faster than one at a time).
SQLITE_CONCURRENCY, SERVER_CONCURRENCY = 2, 4
CLAIM_PER_LANE = 2  # rows claimed per lane and transaction (measured: more made the thanks later)
# A row that failed because the database was away is due again this soon (not backed off: the
# outage is not the row's fault, and people are waiting on their "recording" view).
OUTAGE_RETRY = dt.timedelta(seconds=1)


class IntakeUnavailable(Exception):
    """The delivery could not be committed: it must not be acknowledged as received."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class GroupCommit:
    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        on_commit: Callable[[], None] | None = None,
        *,
        mark_ttl: dt.timedelta = marks.DELIVERY_TTL,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.database = database
        self.sealer = sealer
        self.on_commit = on_commit  # the worker's wake-up
        self.mark_ttl, self.clock = mark_ttl, clock  # the `once` marks'
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._quiet = asyncio.Event()  # no put waiting, no transaction under way
        self._quiet.set()
        self.commits = 0  # transactions (tests and the bench read it)
        self.duplicates = 0  # puts whose mark was already there

    async def quiet(self, patience: float) -> None:
        """Until no put is waiting for its commit, `patience` seconds at most."""
        if not self._quiet.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(patience):
                    await self._quiet.wait()

    async def put(self, platform: str, payload: Any, *, once: str | None = None) -> str | None:
        """Seal `payload` and return its intake id once committed. With `once` (a mark's key,
        a keyed hash of the delivery), the mark is committed with the row; None, and nothing
        put, when it was there already (a duplicate delivery)."""
        row = intake.sealed_row(self.sealer, platform, payload)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, once, future))
        self._quiet.clear()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        return str(row["id"]) if await future else None

    async def _write(self) -> None:
        try:
            await self._write_all()
        finally:
            self._quiet.set()

    async def _write_all(self) -> None:
        # Whatever arrived while the previous transaction ran goes in the next one.
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self.database.session() as session, session.begin():
                    fresh = await self._marked(session, batch)
                    await intake.put(session, [row for row, _, _ in batch if id(row) in fresh])
            except Exception as error:  # the database is down, full, locked too long...
                # Marks and rows went together: nothing of this batch is left behind.
                log.error("intake: %d deliveries not committed: %r", len(batch), error)
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(IntakeUnavailable())
                continue
            self.commits += 1
            for row, _, future in batch:
                if not future.done():
                    future.set_result(id(row) in fresh)
            self.duplicates += len(batch) - len(fresh)
            if self.on_commit is not None and fresh:
                self.on_commit()

    async def _marked(self, session: AsyncSession, batch: list[Waiting]) -> set[int]:
        """The rows to put (by `id`): those without a mark, and those whose mark this
        transaction wrote first (the same delivery twice in one batch: the first)."""
        keys = [once for _, once, _ in batch if once is not None]
        won = await marks.first_times(session, keys, self.mark_ttl, self.clock()) if keys else set()
        fresh: set[int] = set()
        for row, once, _ in batch:
            if once is None:
                fresh.add(id(row))
            elif once in won:
                won.discard(once)
                fresh.add(id(row))
        return fresh

    async def close(self) -> None:
        """Let a transaction under way finish (its puts are answered either way)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer


class IntakeWorker:
    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int | None = None,
        lease: dt.timedelta = LEASE,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], dt.datetime] = utcnow,
        yield_to: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.database = database
        # Awaited before each row: acks first (see GroupCommit.quiet and performance.md).
        self.yield_to = yield_to
        self.sealer = sealer
        self.handlers = dict(handlers)
        if concurrency is None:
            concurrency = SQLITE_CONCURRENCY if database.is_sqlite else SERVER_CONCURRENCY
        self.concurrency = concurrency
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.clock = clock  # real time: a lease is about processes, not the engine's calendar
        self.done = 0  # rows handled (recorded or found recorded) by this process
        self.failed = 0  # failures counted against their row
        self.outages = 0  # failures because the database was away (not counted)
        # Rows whose outage could not even be noted (the database was away): put back as due
        # as soon as it answers, rather than when their lease runs out.
        self._unreleased: list[intake.Claimed] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Rows were committed in this process: look now rather than at the next poll."""
        self._wake.set()
        self._idle.clear()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self.run_forever())

    async def stop(self) -> None:
        """Stop claiming; rows in hand are left to their lease (nothing acked is only here)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def settle(self) -> None:
        """Until the rows this process committed or claimed are handled (tests, benchmarks):
        the worker found none due after its last wake-up."""
        await asyncio.sleep(0)
        await self._idle.wait()

    async def run_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                handled = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: try again at the next poll
                log.warning("intake: claim failed: %r", error)
                handled = 0
            if handled:
                continue
            if not self._wake.is_set():
                self._idle.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def drain_once(self) -> int:
        """Claim due rows and handle them, `concurrency` at a time, until none is due.

        Each lane claims its next rows itself when it runs out (`CLAIM_PER_LANE`), rather
        than waiting for the other lanes to finish a common batch: recordings of one round
        queue on its ledger's lock (dialogs/checkins/round_store.py `lock_ledger`), so a
        batch's lanes finished one after another and the early ones sat idle until the last
        (measured with 2 processes on PostgreSQL: docs/performance.md, "Several processes
        behind nginx")."""
        claimed = await self._claim(self.concurrency * CLAIM_PER_LANE)
        if not claimed:
            return 0
        # Busy, whoever queued them: rows another process left are found by polling, without
        # a wake-up, and `settle` must wait for them too.
        self._idle.clear()
        rows = collections.deque(claimed)
        handled = len(claimed)

        async def lane() -> None:
            # Every lane, even when the first claim found fewer rows than lanes (the start of
            # a burst): rows keep coming while the first ones are recorded.
            nonlocal handled
            while True:
                if not rows:
                    try:
                        more = await self._claim(CLAIM_PER_LANE)
                    except Exception as error:  # the database is away: the next poll
                        log.warning("intake: claim failed: %r", error)
                        return
                    if not more:
                        return
                    handled += len(more)
                    rows.extend(more)
                await self._handle(rows.popleft())

        await asyncio.gather(*(lane() for _ in range(self.concurrency)))
        return handled

    async def _claim(self, limit: int) -> list[intake.Claimed]:
        """Lease up to `limit` due rows (and first put back what an outage left in hand)."""
        now = self.clock()
        async with self.database.session() as session, session.begin():
            if self._unreleased:
                # Another lane may add to the list meanwhile (appended at its end): kept.
                putting_back = list(self._unreleased)
                for row in putting_back:
                    await intake.release(session, row, now=now, after=dt.timedelta(0))
                del self._unreleased[: len(putting_back)]
            return await intake.claim(
                session, now=now, lease=self.lease, limit=limit, platforms=list(self.handlers)
            )

    async def _handle(self, row: intake.Claimed) -> None:
        try:
            if self.yield_to is not None:
                await self.yield_to()
            payload = row.open(self.sealer)
            await self.handlers[row.platform](row.id, payload)
        except intake.AlreadyConsumed:
            pass  # another worker recorded it (a lease that ran out): nothing to redo
        except Exception as error:
            if unavailable(error) or not await self.database.reachable():
                await self._wait_for_database(row)
                return
            self.failed += 1
            # The kind of error only: its message could quote what someone wrote.
            log.warning("intake: a %s delivery failed (%s)", row.platform, type(error).__name__)
            try:
                async with self.database.session() as session, session.begin():
                    await intake.release(session, row, now=self.clock())
            except Exception as release_error:  # its lease runs out: it comes back anyway
                log.warning("intake: release failed: %r", release_error)
            return
        self.done += 1

    async def _wait_for_database(self, row: intake.Claimed) -> None:
        """The database was away: the row stays in the intake, uncounted, due again soon."""
        self.outages += 1
        log.warning("intake: the database is unavailable; a %s delivery waits", row.platform)
        try:
            async with self.database.session() as session, session.begin():
                await intake.release(session, row, now=self.clock(), after=OUTAGE_RETRY)
        except Exception:  # still away: put back at the next claim that works
            self._unreleased.append(row)
