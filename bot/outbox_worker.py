"""Drains the outbox: claim in one short transaction, send outside it, then mark.

A claim is a short lease (`LEASE`), renewed while its messages are being sent (before each
send and by a ticker while sends wait for their pace), so a killed worker's messages are
claimable again within `LEASE` instead of minutes. Messages to different conversations go out
on up to `lanes` concurrent lanes (bot.outbox_lanes; one conversation's messages in order, on
one lane), which claim again as they free up: a post waiting for its channel's pace does not
hold up the rest. One worker holds at most `batch` messages claimed and unsent. A workspace
that answered "slow down" with a long Retry-After is held in the database
(storage.send_paces.hold): no worker claims for it until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox_lanes import Lanes
from dialogs.cards import Card
from dialogs.ports import Delivery, DeliveryFailed, Sender
from storage import outbox, send_paces
from storage.database import Database, unavailable
from storage.models import Member, OutboxMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
# Short write transactions that meet a busy database (SQLite's lock held past busy_timeout, a
# dropped PostgreSQL connection) are tried again rather than abandoning a batch in flight.
WRITE_TRIES = 5
CLAIMED_BY_LENGTH = 64  # storage.models.OutboxMessage.claimed_by
# How long a dead worker's claims keep others off them. Renewed at half while sending.
LEASE = dt.timedelta(seconds=30)
RENEW_TICK_SECONDS = 2.0  # how often a batch waiting on its pace looks at its lease
LANES = 8  # concurrent conversations per worker (bot.server); 1 by default: strict order
# Idle pace rows are deleted: a conversation's after an hour, a workspace's after a month.
PURGE_EVERY = dt.timedelta(minutes=10)
CONVERSATION_IDLE = dt.timedelta(hours=1)
SCOPE_IDLE = dt.timedelta(days=30)
T = TypeVar("T")


def worker_name() -> str:
    suffix = f":{os.getpid()}:{random.randrange(1 << 30):x}"
    # A long host name (a Kubernetes pod's is up to 63 characters) must not overflow the column.
    return socket.gethostname()[: CLAIMED_BY_LENGTH - len(suffix)] + suffix


def _transient(error: DBAPIError) -> bool:
    return isinstance(error, OperationalError) or error.connection_invalidated


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], dt.datetime] | None = None,
        name: str | None = None,
        batch: int = 50,
        lease: dt.timedelta = LEASE,
        lanes: int = 1,
    ) -> None:
        self.database = database
        self.senders = dict(senders)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.name = name or worker_name()
        if len(self.name) > CLAIMED_BY_LENGTH:
            raise ValueError(f"worker name longer than {CLAIMED_BY_LENGTH}: {self.name!r}")
        self.batch = batch
        self.lease = lease
        self.lanes = max(1, lanes)
        self.sent = 0
        # Holds this worker wrote (the database has them for every other worker): the rest of
        # a batch already claimed waits instead of each message earning a 429 of its own.
        self.held: dict[tuple[str, str], dt.datetime] = {}
        # Claimed and not yet done with; of those, the ones whose lease is still this worker's.
        self._unsent: set[int] = set()
        self._leased: set[int] = set()
        self._renew_at = self.clock()
        self._renewing = asyncio.Lock()
        self._purged_at: dt.datetime | None = None

    async def drain_once(self) -> int:
        """Claim and send one batch of due messages; returns how many were handled.

        The claim is a lease: past half of it, the rest of the batch is renewed, and a
        message whose lease was lost (it expired and another worker took it) is not sent, so
        a slow batch does not turn into double sends.
        """
        return await self._pump(again=False)

    async def drain(self) -> int:
        """Send everything that is due now (tests, `run` one-shots, the serving loop): lanes
        claim again as they free up, until nothing is due and every lane is done."""
        return await self._pump(again=True)

    async def _pump(self, *, again: bool) -> int:
        lanes = Lanes(self.lanes, self._one)
        ticker = asyncio.create_task(self._keep_lease())
        try:
            return await lanes.pump(self._claim, again=again)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            # Whatever is still claimed (an error stopped the lanes) is no longer renewed:
            # its lease runs out and any worker, this one too, claims it again.
            self._unsent.clear()
            self._leased.clear()

    async def _claim(self) -> list[OutboxMessage]:
        """Claim up to what this worker may still hold unsent (`batch`): one worker does not
        hoard a fan-out while others could send it."""
        limit = self.batch - len(self._unsent)
        if limit <= 0:
            return []
        claimed_at = self.clock()

        async def claim(session: AsyncSession) -> list[OutboxMessage]:
            return await outbox.claim(
                session,
                worker=self.name,
                now=claimed_at,
                lease=self.lease,
                limit=limit,
                platforms=list(self.senders),
            )

        claimed = await self._write(claim)
        if not claimed:
            if not self._unsent:
                await self._purge(claimed_at)
            return []
        if not self._unsent:  # else the earlier claims' renewal comes first, and covers these
            self._renew_at = claimed_at + self.lease / 2
        ids = {message.id for message in claimed}
        self._unsent |= ids
        self._leased |= ids
        return claimed

    async def _one(self, message: OutboxMessage) -> None:
        try:
            await self._renew_if_due()
            if message.id not in self._leased:
                log.warning("outbox %s: lease lost to another worker, not sent", message.id)
                return
            until = self.held.get((message.platform, message.workspace))
            if until is not None and until > self.clock():
                await self._hold(message.id, until)
            else:
                await self._deliver(message)
        finally:
            self._unsent.discard(message.id)
            self._leased.discard(message.id)

    async def _keep_lease(self) -> None:
        """While sends wait for their pace, the batch's lease is renewed all the same."""
        while True:
            await asyncio.sleep(RENEW_TICK_SECONDS)
            await self._renew_if_due()

    async def _renew_if_due(self) -> None:
        if self.clock() < self._renew_at:
            return
        async with self._renewing:
            now = self.clock()
            if now < self._renew_at:
                return  # another lane renewed meanwhile
            asked = self._unsent & self._leased
            kept = await self._renew(sorted(asked), now)
            # Claims made while renewing were not asked about: they stay.
            self._leased -= asked - kept
            self._renew_at = now + self.lease / 2

    async def _purge(self, now: dt.datetime) -> None:
        """Now and then, forget idle pace rows (no extra work while a fan-out runs)."""
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now

        async def purge(session: AsyncSession) -> None:
            await send_paces.purge(session, now - CONVERSATION_IDLE, containing="/c/")
            await send_paces.purge(session, now - SCOPE_IDLE)

        await self._write(purge)

    async def _hold(self, message_id: int, until: dt.datetime) -> None:
        """Put a message back, unsent and without counting an attempt, until `until`."""
        await self._write(
            lambda session: outbox.mark_retry(
                session,
                message_id,
                self.name,
                "waiting: platform rate limit",
                until,
                counted=False,
            )
        )

    async def _renew(self, message_ids: list[int], now: dt.datetime) -> set[int]:
        async def renew(session: AsyncSession) -> set[int]:
            return await outbox.renew(session, message_ids, self.name, now + self.lease)

        return await self._write(renew)

    async def run_forever(self, interval: float) -> None:
        while True:
            try:
                if not await self.drain():
                    await asyncio.sleep(interval)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if unavailable(error):  # one line per pass while the database is away
                    log.warning("outbox worker: the database is unavailable (%r)", error)
                else:
                    log.exception("outbox worker pass failed")
                await asyncio.sleep(interval)

    async def _write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in its own transaction, again if the database was momentarily busy."""
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                async with self.database.session() as session, session.begin():
                    return await work(session)
            except DBAPIError as error:
                if attempt == WRITE_TRIES or not _transient(error):
                    raise
                log.warning("outbox write failed (%s), try %d", error.orig, attempt)
                await asyncio.sleep(0.05 * 2**attempt * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    async def _deliver(self, message: OutboxMessage) -> None:
        message_id, attempts, member_id = message.id, message.attempts, message.member_id
        try:
            delivery = Delivery(
                platform=message.platform,
                workspace=message.workspace,
                kind=message.kind,
                address=message.address,
                card=Card.model_validate(message.payload),
                key=message.idem_key,
            )
        except ValidationError as error:  # no retry can fix a payload: give up on this one
            log.error("outbox %s: unreadable payload", message_id)
            reason = f"unreadable payload: {error!r}"
            await self._write(
                lambda session: outbox.mark_failed(session, message_id, self.name, reason)
            )
            return
        sender = self.senders[delivery.platform]
        try:
            await sender.send(delivery)
        except DeliveryFailed as failure:
            if failure.retry_after is not None:  # the platform asked to wait: not a failure
                now = self.clock()
                until = now + dt.timedelta(seconds=failure.retry_after)
                platform, workspace = message.platform, message.workspace
                self.held = {k: v for k, v in self.held.items() if v > now}
                self.held[(platform, workspace)] = until
                reason = str(failure)

                async def wait(session: AsyncSession) -> None:
                    await outbox.mark_retry(
                        session, message_id, self.name, reason, until, counted=False
                    )
                    # Every worker holds off the workspace until then.
                    await send_paces.hold(session, platform, workspace, now, until)

                await self._write(wait)
                return
            await self._failed(message_id, attempts, failure, member_id)
            return
        except Exception as error:  # a bug or an unexpected transport error: retry later
            log.exception("send %s failed", message_id)
            await self._failed(message_id, attempts, DeliveryFailed(repr(error)), member_id)
            return
        now = self.clock()
        if not await self._write(
            lambda session: outbox.mark_sent(session, message_id, self.name, now)
        ):
            log.warning("outbox %s: sent after its lease was taken over", message_id)
        self.sent += 1

    async def _failed(
        self, message_id: int, attempts: int, failure: DeliveryFailed, member_id: int | None
    ) -> None:
        now = self.clock()
        # Exponential backoff with jitter, or what the platform asked for.
        if failure.retry_after is not None:
            delay = failure.retry_after
        else:
            delay = min(600.0, 2**attempts) * random.uniform(0.5, 1.5)

        async def record(session: AsyncSession) -> None:
            if failure.unreachable:
                await outbox.mark_failed(
                    session, message_id, self.name, str(failure), status=outbox.UNREACHABLE
                )
                if member_id is not None and (member := await session.get(Member, member_id)):
                    member.unreachable = True
                return
            if attempts >= MAX_ATTEMPTS:
                await outbox.mark_failed(session, message_id, self.name, str(failure))
                return
            await outbox.mark_retry(
                session, message_id, self.name, str(failure), now + dt.timedelta(seconds=delay)
            )

        await self._write(record)
