"""Rows queued, claimed and marked, and a scripted sender: what the outbox tests use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import select

from dialogs.cards import Card, Paragraph
from dialogs.ports import Delivery
from storage import outbox
from storage.database import Database
from storage.models import OutboxMessage

LEASE = dt.timedelta(minutes=2)

CARD = Card(title="Bonjour", blocks=[Paragraph(text="un message")])


def envelope(address: str, platform: str = "sandbox") -> outbox.Envelope:
    return outbox.Envelope(platform, "", "direct", address)


async def queue(
    database: Database,
    addresses: Iterable[str],
    *,
    not_before: dt.datetime,
    platform: str = "sandbox",
    payload: Any = None,
) -> None:
    async with database.session() as session, session.begin():
        for address in addresses:
            assert await outbox.enqueue(
                session,
                idem_key=f"key:{address}",
                envelope=envelope(address, platform),
                payload=payload if payload is not None else CARD.model_dump(mode="json"),
                not_before=not_before,
            )


async def rows(database: Database) -> dict[str, OutboxMessage]:
    async with database.session() as session:
        found = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return {m.address: m for m in found}


async def claim(
    database: Database, worker: str, now: dt.datetime, limit: int = 50, **options: Any
) -> list[OutboxMessage]:
    async with database.session() as session, session.begin():
        return await outbox.claim(
            session, worker=worker, now=now, lease=LEASE, limit=limit, **options
        )


async def mark_sent(database: Database, message_id: int, worker: str, now: dt.datetime) -> bool:
    async with database.session() as session, session.begin():
        return await outbox.mark_sent(session, message_id, worker, now)


class Crash(BaseException):
    """The process dies (not an exception a worker could catch and record)."""


class ScriptedSender:
    """Records deliveries; `script(delivery, n)` runs first and may raise or move the clock."""

    platform = "sandbox"

    def __init__(self, script: Callable[[Delivery, int], Awaitable[None]] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self.script = script

    async def send(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.script is not None:
            await self.script(delivery, len(self.deliveries))

    def addresses(self) -> list[str]:
        return [d.address for d in self.deliveries]
