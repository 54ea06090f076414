"""Drains the outbox: claim in one short transaction, send outside it, then mark."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Callable, Mapping

from dialogs.cards import Card
from dialogs.ports import Delivery, DeliveryFailed, Sender
from storage import outbox
from storage.database import Database
from storage.models import Member

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 30):x}"


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], dt.datetime] | None = None,
        name: str | None = None,
        batch: int = 50,
        lease: dt.timedelta = dt.timedelta(minutes=2),
    ) -> None:
        self.database = database
        self.senders = dict(senders)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.name = name or worker_name()
        self.batch = batch
        self.lease = lease
        self.sent = 0

    async def drain_once(self) -> int:
        """Claim and send one batch of due messages; returns how many were handled."""
        async with self.database.session() as session, session.begin():
            claimed = await outbox.claim(
                session,
                worker=self.name,
                now=self.clock(),
                lease=self.lease,
                limit=self.batch,
                platforms=list(self.senders),
            )
        for message in claimed:
            await self._deliver(
                message.id,
                message.attempts,
                Delivery(
                    platform=message.platform,
                    workspace=message.workspace,
                    kind=message.kind,
                    address=message.address,
                    card=Card.model_validate(message.payload),
                ),
                message.member_id,
            )
        return len(claimed)

    async def drain(self) -> int:
        """Send everything that is due now (tests, `run` one-shots)."""
        total = 0
        while handled := await self.drain_once():
            total += handled
        return total

    async def run_forever(self, interval: float) -> None:
        while True:
            try:
                if not await self.drain_once():
                    await asyncio.sleep(interval)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker pass failed")
                await asyncio.sleep(interval)

    async def _deliver(
        self, message_id: int, attempts: int, delivery: Delivery, member_id: int | None
    ) -> None:
        sender = self.senders[delivery.platform]
        try:
            await sender.send(delivery)
        except DeliveryFailed as failure:
            await self._failed(message_id, attempts, failure, member_id)
            return
        except Exception as error:  # a bug or an unexpected transport error: retry later
            log.exception("send %s failed", message_id)
            await self._failed(message_id, attempts, DeliveryFailed(repr(error)), member_id)
            return
        async with self.database.session() as session, session.begin():
            await outbox.mark_sent(session, message_id, self.name, self.clock())
        self.sent += 1

    async def _failed(
        self, message_id: int, attempts: int, failure: DeliveryFailed, member_id: int | None
    ) -> None:
        async with self.database.session() as session, session.begin():
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
            # Exponential backoff with jitter, or what the platform asked for.
            delay = failure.retry_after or min(600.0, 2**attempts) * random.uniform(0.5, 1.5)
            await outbox.mark_retry(
                session,
                message_id,
                self.name,
                str(failure),
                self.clock() + dt.timedelta(seconds=delay),
            )
