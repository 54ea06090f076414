"""What the engine needs from a platform adapter to deliver queued messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dialogs.cards import Card


@dataclass(frozen=True)
class Delivery:
    """One queued message as an adapter sees it."""

    platform: str
    workspace: str
    kind: str  # "direct" | "channel"
    address: str
    card: Card
    # The outbox row's idempotency key: the same on every try of this delivery, so a sender
    # that posts in several parts can tell a retry from a new message.
    key: str = ""


class DeliveryFailed(Exception):
    """A send failed. `retry_after` (seconds) asks for a later try; `unreachable` gives up."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.unreachable = unreachable


class Sender(Protocol):
    platform: str

    async def send(self, delivery: Delivery) -> None:
        """Deliver or raise DeliveryFailed."""
        ...
