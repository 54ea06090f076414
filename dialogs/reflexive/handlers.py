"""What people do with reflexive spaces: a coordinator schedules a question; members
pre-reflect before the meeting."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.cards import Card
from dialogs.commands import Command
from dialogs.events import FormSubmitted
from dialogs.forms import parse_id, refused
from dialogs.reflexive import spaces, store
from dialogs.reflexive.models import ReflexiveOccurrence, ReflexiveSchedule
from dialogs.turn import Turn


async def schedule_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None
    return await spaces.schedule_form(turn.session, turn.tr, turn.bank, turn.team, turn.now)


async def reflexive_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    card = await schedule_form(turn, context)
    assert card is not None
    return [card]


async def save(turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None
    return [
        await spaces.save_schedule(
            turn.session, turn.bank, turn.team, event.values, turn.tr, turn.now
        )
    ]


async def team_occurrence(
    turn: Turn, context: Mapping[str, str]
) -> tuple[ReflexiveOccurrence, ReflexiveSchedule] | None:
    """The reflexive occurrence a form names, if it belongs to the person's team."""
    occurrence = await store.occurrence_by_id(turn.session, parse_id(context.get("occurrence")))
    if occurrence is None or turn.team is None:
        return None
    schedule = await turn.session.get(ReflexiveSchedule, occurrence.schedule_id)
    if schedule is None or schedule.team_id != turn.team.id:
        return None
    return occurrence, schedule


async def pre_reflection_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    found = await team_occurrence(turn, context)
    if found is None or turn.team is None:
        return None
    occurrence, schedule = found
    return spaces.invitation_card(turn.tr, turn.bank, turn.team, schedule, occurrence)


async def pre_reflect(turn: Turn, event: FormSubmitted) -> list[Card]:
    found = await team_occurrence(turn, event.context)
    if found is None:
        return [refused(turn.tr, "errors.stale_button")]
    return [await spaces.save_pre_reflection(turn, found[0], event.values)]
