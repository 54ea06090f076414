"""What people do with their profile, and what happens when they join or leave a channel."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs import outbound
from dialogs.cards import Card, notice
from dialogs.commands import Command
from dialogs.events import FormSubmitted, InboundEvent, MemberJoined
from dialogs.people import membership, profile
from dialogs.rituals import registry
from dialogs.turn import Turn


async def profile_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None and turn.member is not None
    return profile.profile_card(turn.tr, turn.team, turn.member)


async def profile_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    card = await profile_form(turn, context)
    assert card is not None
    return [card]


async def save(turn: Turn, event: FormSubmitted) -> list[Card]:
    member, team = turn.member, turn.team
    assert member is not None and team is not None
    previous_position = member.position
    profile.apply_profile(turn, member, event.values)
    tr = outbound.speaking(team, member)
    keys = ["profile.saved"]
    for hook in registry().profile_saved_hooks():
        keys += await hook(turn, team, member, previous_position)
    return [notice(tr("profile.saved_title"), *(tr(key) for key in keys))]


async def joined(turn: Turn, event: InboundEvent) -> list[Card]:
    assert isinstance(event, MemberJoined)
    return await membership.joined(turn, event)


async def left(turn: Turn, event: InboundEvent) -> list[Card]:
    return await membership.left(turn)
