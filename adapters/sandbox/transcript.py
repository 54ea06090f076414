"""The sandbox's conversations, kept in memory: one per person and one per channel.

It is also the sandbox's `Sender`: the outbox worker delivers into it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from dialogs.cards import Card
from dialogs.ports import Delivery

KEEP = 300
Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Entry:
    number: int
    at: dt.datetime
    card: Card | None = None
    said: str | None = None  # what the person typed, for their own view


class Transcripts:
    platform = "sandbox"

    def __init__(self, clock: Clock | None = None) -> None:
        self._conversations: dict[tuple[str, str], deque[Entry]] = defaultdict(
            lambda: deque(maxlen=KEEP)
        )
        self._numbers = itertools.count(1)
        self._last = 0
        self._clock = clock or _utcnow

    def add(
        self,
        kind: str,
        address: str,
        *,
        card: Card | None = None,
        said: str | None = None,
    ) -> Entry:
        self._last = next(self._numbers)
        entry = Entry(self._last, self._clock(), card, said)
        self._conversations[(kind, address)].append(entry)
        return entry

    def of(self, kind: str, address: str) -> list[Entry]:
        return list(self._conversations.get((kind, address), ()))

    @property
    def last_number(self) -> int:
        """The number of the latest entry anywhere (0 when empty): "new" means above it."""
        return self._last

    async def send(self, delivery: Delivery) -> None:
        self.add(delivery.kind, delivery.address, card=delivery.card)
