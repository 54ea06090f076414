"""The console: each line is a command or a form submission, each answer card text.

    ana: help                      a command in ana's conversation with Passerelle
    ana #general: setup            a command in the channel `general`
    ana: > k=3; name=Our team      submits the last form shown to ana (its defaults, then these)

People in a channel (`join`) are its roster: a setup there onboards them (adapters/onboarding.py).
Messages from the outbox arrive through `send` (the console is its own Sender) and are kept
per person and channel in `received`; forms among them can be submitted like any other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from adapters import onboarding
from adapters.console.render import card_lines, defaults
from dialogs.cards import Card
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, InboundEvent, Place
from dialogs.ports import Delivery

PLATFORM = "console"
WORKSPACE = "console"


class BadLine(ValueError):
    """A line the console cannot read."""


@dataclass(frozen=True)
class Line:
    who: str
    channel: str  # "" in the person's own conversation
    text: str


def parse(line: str) -> Line:
    head, colon, text = line.partition(":")
    words = head.split()
    if not colon or not words or len(words) > 2 or (len(words) == 2 and words[1][:1] != "#"):
        raise BadLine(f"expected 'who: text' or 'who #channel: text', got {line!r}")
    return Line(words[0], words[1][1:] if len(words) == 2 else "", text.strip())


def values_of(text: str) -> dict[str, str]:
    """`k=3; name=Our team` as a form's values."""
    pairs = [part.partition("=") for part in text.split(";") if part.strip()]
    return {name.strip(): value.strip() for name, _, value in pairs}


class Console:
    platform = PLATFORM

    def __init__(self, engine: Engine, drain: Callable[[], Awaitable[int]]) -> None:
        self.engine = engine
        self.drain = drain  # the outbox: what a line caused is delivered before it returns
        self.rosters: dict[str, list[str]] = defaultdict(list)
        self.received: dict[str, list[str]] = defaultdict(list)  # by person or "#channel"
        self._forms: dict[str, tuple[Card, Place | None]] = {}  # the last form each person saw

    def join(self, channel: str, *people: str) -> None:
        self.rosters[channel] += [p for p in people if p not in self.rosters[channel]]

    async def line(self, line: str) -> list[str]:
        """Run one line; the answer's lines (what arrived by the outbox is in `received`)."""
        said = parse(line)
        actor = Actor(PLATFORM, WORKSPACE, said.who, display_name=said.who)
        place = self.place(said.channel) if said.channel else None
        event: InboundEvent
        if said.text.startswith(">"):
            if said.who not in self._forms:
                raise BadLine(f"{said.who} has no form to submit")
            card, place = self._forms[said.who]
            assert card.form is not None
            values = {**defaults(card), **values_of(said.text[1:])}
            event = FormSubmitted(actor, card.form.action, dict(card.form.context), values, place)
        else:
            event = CommandReceived(actor, said.text, place)
        cards = await self.engine.handle(event)
        shown = [text for card in cards for text in self._show(said.who, card, place)]
        if onboarding.links_a_channel(event) and place is not None:
            await onboarding.onboard(self.engine, place, self._roster(place))
        await self.drain()
        return shown

    def place(self, channel: str) -> Place:
        return Place(PLATFORM, WORKSPACE, channel, name=channel)

    def _show(self, who: str, card: Card, place: Place | None) -> list[str]:
        if card.form is not None:
            self._forms[who] = (card, place)
        return card_lines(card)

    def _roster(self, place: Place) -> onboarding.Roster:
        async def people() -> AsyncIterator[Actor]:
            for who in self.rosters[place.channel_ref]:
                yield Actor(PLATFORM, WORKSPACE, who, display_name=who)

        return people

    async def send(self, delivery: Delivery) -> None:
        """The outbox's delivery: a person's message (its form submittable) or a channel's."""
        if delivery.kind == "channel":
            self.received[f"#{delivery.address}"] += card_lines(delivery.card)
            return
        self.received[delivery.address] += self._show(delivery.address, delivery.card, None)
