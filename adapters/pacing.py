"""Client-side pacing shared by every process, learned from the platform's answers.

A sender asks `Pacer.wait` for a slot on each scope a call counts against (a conversation, then
a workspace and method, or a tenant); the slot is reserved in the database
(storage.send_paces), so N processes keep one pace. A 429 is reported with `Pacer.limited`: the
scope slows down and is held until Retry-After, for every process; calls answered are
reported with `Pacer.succeeded` and, after a streak, the pace is probed a little faster. So a
fan-out settles near whatever limit the platform enforces, published or not, without
hammering it (a 429 costs a round trip and, on Teams, can throttle the whole app).

Without a database (a sender built alone, in tests) the same arithmetic runs on a dict.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from storage import send_paces
from storage.database import Database
from storage.send_paces import Rule, Slot, State

Clock = Callable[[], dt.datetime]
Scope = tuple[str, Rule]  # a scope's name, and the rule it begins with and learns within
# A slot further off than this is not waited for: the message goes back to the outbox until
# then (a long Retry-After), rather than a worker sleeping on its lease.
MAX_WAIT_SECONDS = 10.0
# After a sleep this long, look again whether another process met a 429 meanwhile (the slot
# was reserved before the scope was held): one cheap read instead of a 429.
RECHECK_AFTER_SECONDS = 0.2
PENDING_LIMIT = 10_000  # scopes with uncounted successes kept in memory


class Paused(Exception):
    """The scope is held (a 429's Retry-After) until `until`: later than worth waiting for."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"paused until {until.isoformat()}")
        self.until = until


class PaceStore(Protocol):
    async def reserve(
        self,
        platform: str,
        scope: str,
        now: dt.datetime,
        rule: Rule,
        successes: int,
        latest: dt.datetime,
    ) -> Slot: ...

    async def penalize(
        self, platform: str, scope: str, now: dt.datetime, rule: Rule, retry_after: float
    ) -> dt.datetime: ...

    async def paused_until(
        self, platform: str, scope: str, now: dt.datetime
    ) -> dt.datetime | None: ...


class DatabaseStore:
    """The shared store: one short transaction per reservation."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def reserve(
        self,
        platform: str,
        scope: str,
        now: dt.datetime,
        rule: Rule,
        successes: int,
        latest: dt.datetime,
    ) -> Slot:
        async with self.database.session() as session, session.begin():
            return await send_paces.reserve(
                session, platform, scope, now, rule, successes=successes, latest=latest
            )

    async def penalize(
        self, platform: str, scope: str, now: dt.datetime, rule: Rule, retry_after: float
    ) -> dt.datetime:
        async with self.database.session() as session, session.begin():
            return await send_paces.penalize(session, platform, scope, now, rule, retry_after)

    async def paused_until(self, platform: str, scope: str, now: dt.datetime) -> dt.datetime | None:
        async with self.database.session() as session:
            return await send_paces.paused_until(session, platform, scope, now)


class MemoryStore:
    """The same arithmetic in one process's memory (a sender without a database)."""

    def __init__(self, limit: int = 50_000) -> None:
        self.states: dict[tuple[str, str], State] = {}
        self.limit = limit

    def _get(self, platform: str, scope: str, now: dt.datetime, rule: Rule) -> State:
        if len(self.states) >= self.limit and (platform, scope) not in self.states:
            self.states.clear()  # forget idle scopes rather than grow
        return self.states.get((platform, scope)) or send_paces.fresh(now, rule)

    async def reserve(
        self,
        platform: str,
        scope: str,
        now: dt.datetime,
        rule: Rule,
        successes: int,
        latest: dt.datetime,
    ) -> Slot:
        state = self._get(platform, scope, now, rule)
        state, slot = send_paces.advance(state, now, rule, successes, latest)
        self.states[(platform, scope)] = state
        return slot

    async def penalize(
        self, platform: str, scope: str, now: dt.datetime, rule: Rule, retry_after: float
    ) -> dt.datetime:
        state = send_paces.penalized(self._get(platform, scope, now, rule), now, rule, retry_after)
        self.states[(platform, scope)] = state
        assert state.paused_until is not None
        return state.paused_until

    async def paused_until(self, platform: str, scope: str, now: dt.datetime) -> dt.datetime | None:
        state = self.states.get((platform, scope))
        until = state.paused_until if state is not None else None
        return until if until is not None and until > now else None


def blamed(scopes: Sequence[Scope], slots: Sequence[Slot]) -> Scope:
    """The scope a 429 is blamed on: the narrowest (a conversation) when calls to it were
    already queued, else the widest (a workspace's method, a tenant)."""
    return scopes[0] if len(scopes) > 1 and slots[0].busy else scopes[-1]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Following:
    """A clock that keeps `base`'s time (the engine's: a test's jumps, a demo's shift) and
    still moves with real time when `base` stands still: slots are slept in real seconds."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self._last: tuple[dt.datetime, float] | None = None

    def __call__(self) -> dt.datetime:
        now, ticks = self.base(), time.monotonic()
        if self._last is not None:
            last, last_ticks = self._last
            now = max(now, last + dt.timedelta(seconds=ticks - last_ticks))
        self._last = (now, ticks)
        return now


class Pacer:
    """Slots for one platform's calls, on the scopes each call counts against."""

    def __init__(
        self,
        platform: str,
        store: PaceStore | None = None,
        *,
        clock: Clock = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_wait: float = MAX_WAIT_SECONDS,
        tag: Callable[[str], str] | None = None,
    ) -> None:
        self.platform = platform
        self.store: PaceStore = store or MemoryStore()
        self.clock, self.sleep, self.max_wait = clock, sleep, max_wait
        self.tag = tag
        self._successes: dict[str, int] = {}
        # Holds this process's own 429s set: seen at once by its other calls, without a read.
        self._holds: dict[str, dt.datetime] = {}

    def use(
        self,
        store: PaceStore,
        tag: Callable[[str], str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Share the pace through `store` (the composition root hands the database's), naming
        conversations with `tag`, on `clock` (followed: see `Following`)."""
        self.store, self.tag = store, tag
        if clock is not None:
            self.clock = Following(clock)
        self._successes.clear()
        self._holds.clear()

    def conversation(self, key: str) -> str:
        """A conversation's part of a scope: a keyed hash when a tagger is set, so the table
        names no person or channel."""
        return self.tag(key)[:32] if self.tag is not None else key

    async def wait(self, scopes: Sequence[Scope]) -> list[Slot]:
        """Wait for a slot on each scope in turn (the narrowest first: a workspace's slot is
        taken only once the conversation is ready, so no workspace capacity idles). Raises
        `Paused` when a scope is held longer than `max_wait`."""
        return [await self._one(scope, rule) for scope, rule in scopes]

    async def _one(self, scope: str, rule: Rule) -> Slot:
        while True:
            now = self.clock()
            successes = self._successes.pop(scope, 0)
            latest = now + dt.timedelta(seconds=self.max_wait)
            try:
                slot = await self.store.reserve(self.platform, scope, now, rule, successes, latest)
            except BaseException:
                self._count(scope, successes)
                raise
            if not slot.reserved:
                self._count(scope, successes)
                raise Paused(slot.at)
            wait = (slot.at - now).total_seconds()
            if wait <= 0:
                return slot
            await self.sleep(wait)
            until = self._holds.get(scope)
            if until is None and wait >= RECHECK_AFTER_SECONDS:
                until = await self.store.paused_until(self.platform, scope, self.clock())
            if until is None or until <= slot.at:
                return slot
            # Held while this call slept: its slot falls inside the hold; take a new one.

    def _count(self, scope: str, successes: int) -> None:
        if successes:
            if len(self._successes) >= PENDING_LIMIT and scope not in self._successes:
                self._successes.clear()
            self._successes[scope] = self._successes.get(scope, 0) + successes

    def succeeded(self, scopes: Sequence[str]) -> None:
        """Calls on these scopes were answered: counted towards probing a faster pace."""
        for scope in scopes:
            self._count(scope, 1)

    async def limited(self, scope: str, rule: Rule, retry_after: float) -> dt.datetime:
        """A 429 on `scope`: slower, and held until Retry-After, for every process."""
        self._successes.pop(scope, None)
        now = self.clock()
        until = await self.store.penalize(self.platform, scope, now, rule, retry_after)
        self._holds = {s: u for s, u in self._holds.items() if u > now}
        self._holds[scope] = until
        return until
