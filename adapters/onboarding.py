"""Onboarding after setup, written once for every platform.

When a channel has just been linked to a team (its setup form saved, `setup <code>` typed
there, or the bot added to a channel that was linked before it joined), everyone on the
channel's roster joins the team: the engine hears one `MemberJoined` per person. A platform
brings only what differs: how to read its roster (bots left out) and how to hand an event to
the engine (Teams marks each turn of an activity, so a redelivery finishes a roster left half
onboarded and repeats no one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from dialogs.commands import parse
from dialogs.engine import Engine
from dialogs.events import (
    Actor,
    CommandReceived,
    FormSubmitted,
    InboundEvent,
    MemberJoined,
    Place,
)
from dialogs.rituals import registry
from storage import teams

# What may link a channel to a team: the setup form, or `setup <code>` (in any of the words
# the setup command declares, dialogs/administration) typed in the channel.
ONBOARDING_ACTIONS = frozenset({"setup.save"})
SETUP_COMMAND = "setup"

Roster = Callable[[], AsyncIterator[Actor]]
Join = Callable[[MemberJoined], Awaitable[object]]


def links_a_channel(event: InboundEvent) -> bool:
    """Whether `event` may just have linked its channel to a team (then onboard it)."""
    place = getattr(event, "place", None)
    if place is None:
        return False
    if isinstance(event, FormSubmitted):
        return event.action in ONBOARDING_ACTIONS
    if isinstance(event, CommandReceived):
        command = parse(event.text, registry().word_names)
        return command.name == SETUP_COMMAND and bool(command.args)
    return False


def is_setup(text: str) -> bool:
    """Whether `text` runs the setup command (with or without a code)."""
    return parse(text, registry().word_names).name == SETUP_COMMAND


async def onboard(engine: Engine, place: Place, roster: Roster, join: Join | None = None) -> int:
    """Everyone on `roster` joins the team linked to `place`, if any (the roster is not read
    otherwise). `join` hands each event to the engine (default: `engine.handle`). Returns how
    many people were handed over; a roster the platform cannot read raises its own error."""
    async with engine.database.session() as session:
        linked = await teams.channel_at(session, place.platform, place.workspace, place.channel_ref)
    if linked is None:
        return 0
    hand = join or engine.handle
    count = 0
    async for actor in roster():
        await hand(MemberJoined(actor=actor, place=place))
        count += 1
    return count
