"""The sandbox's conversations, kept in memory: one per person and one per channel.

It is also the sandbox's `Sender`: the outbox worker delivers into it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict, deque
from dataclasses import dataclass

from dialogs.cards import Card
from dialogs.ports import Delivery

KEEP = 300


@dataclass(frozen=True)
class Entry:
    number: int
    at: dt.datetime
    card: Card | None = None
    said: str | None = None  # what the person typed, for their own view


class Transcripts:
    platform = "sandbox"

    def __init__(self) -> None:
        self._conversations: dict[tuple[str, str], deque[Entry]] = defaultdict(
            lambda: deque(maxlen=KEEP)
        )
        self._numbers = itertools.count(1)

    def add(
        self, kind: str, address: str, *, card: Card | None = None, said: str | None = None
    ) -> Entry:
        entry = Entry(next(self._numbers), dt.datetime.now(dt.UTC), card, said)
        self._conversations[(kind, address)].append(entry)
        return entry

    def of(self, kind: str, address: str) -> list[Entry]:
        return list(self._conversations.get((kind, address), ()))

    async def send(self, delivery: Delivery) -> None:
        self.add(delivery.kind, delivery.address, card=delivery.card)
