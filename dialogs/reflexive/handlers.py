"""What people do with reflexive spaces: coordinators list, schedule, edit and cancel the
questions; members pre-reflect before the meeting."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.cards import Card, notice
from dialogs.commands import Command
from dialogs.events import FormSubmitted
from dialogs.forms import parse_id, refused
from dialogs.reflexive import manage, scheduling, spaces, store
from dialogs.reflexive.models import ReflexiveOccurrence, ReflexiveSchedule
from dialogs.turn import Turn


async def team_schedule(turn: Turn, context: Mapping[str, str]) -> ReflexiveSchedule | None:
    """The active schedule a card names, if it is the person's team's."""
    if turn.team is None:
        return None
    return await store.schedule_of_team(
        turn.session, turn.team.id, parse_id(context.get("schedule"))
    )


async def schedule_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    """The form of a new question, or of the one the card edits (None once it is gone)."""
    assert turn.team is not None
    schedule = None
    if scheduling.editing(dict(context)):
        schedule = await team_schedule(turn, context)
        if schedule is None:
            return None
    return await scheduling.schedule_form(
        turn.session, turn.tr, turn.bank, turn.team, turn.now, schedule
    )


async def reflexive_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    """The scheduled questions, or the form when there are none."""
    assert turn.team is not None
    if await manage.upcoming(turn.session, turn.team, turn.now):
        return [await manage.list_card(turn.session, turn.tr, turn.bank, turn.team, turn.now)]
    card = await schedule_form(turn, {})
    assert card is not None
    return [card]


async def new(turn: Turn, event: FormSubmitted) -> list[Card]:
    card = await schedule_form(turn, {"team": event.context.get("team", "")})
    assert card is not None
    return [card]


async def edit(turn: Turn, event: FormSubmitted) -> list[Card]:
    card = await schedule_form(turn, event.context)
    return [card or refused(turn.tr, "reflexive.gone")]


async def save(turn: Turn, event: FormSubmitted) -> list[Card]:
    team = turn.team
    assert team is not None
    schedule = None
    if scheduling.editing(event.context):
        schedule = await team_schedule(turn, event.context)
        if schedule is None:
            return [refused(turn.tr, "reflexive.gone")]
    draft = await scheduling.read_schedule(
        turn.session, turn.bank, team, event.values, turn.tr, turn.now
    )
    if schedule is not None:
        return [
            await manage.apply_edit(
                turn.session, turn.tr, turn.bank, team, schedule, draft, turn.now
            )
        ]
    added = await store.add_schedule(
        turn.session,
        team_id=team.id,
        prompt_id=draft.prompt_id,
        custom_text=draft.custom_text,
        first_local=draft.first_local,
        recurrence=draft.recurrence,
        lead_hours=draft.lead_hours,
        channel_id=draft.channel_id,
    )
    if added is None:
        return [notice(turn.tr("reflexive.duplicate_title"), turn.tr("reflexive.duplicate"))]
    return [scheduling.saved_card(turn.tr, team, draft, edited=False)]


async def cancel(turn: Turn, event: FormSubmitted) -> list[Card]:
    """Ask first: cancelling deletes what members wrote for the meeting."""
    schedule = await team_schedule(turn, event.context)
    if schedule is None or turn.team is None:
        return [refused(turn.tr, "reflexive.gone")]
    return [manage.cancel_card(turn.tr, turn.bank, turn.team, schedule, turn.now)]


async def cancel_confirm(turn: Turn, event: FormSubmitted) -> list[Card]:
    schedule = await team_schedule(turn, event.context)
    if schedule is None or turn.team is None:
        return [refused(turn.tr, "reflexive.gone")]
    return [await manage.cancel(turn.session, turn.tr, turn.bank, turn.team, schedule, turn.now)]


async def team_occurrence(
    turn: Turn, context: Mapping[str, str]
) -> tuple[ReflexiveOccurrence, ReflexiveSchedule] | None:
    """The reflexive occurrence a form names, if it belongs to the person's team and its
    question was not cancelled (a note sealed for it would never be read)."""
    occurrence = await store.occurrence_by_id(turn.session, parse_id(context.get("occurrence")))
    if occurrence is None or turn.team is None:
        return None
    schedule = await turn.session.get(ReflexiveSchedule, occurrence.schedule_id)
    if schedule is None or schedule.team_id != turn.team.id or not schedule.active:
        return None
    return occurrence, schedule


async def pre_reflection_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    found = await team_occurrence(turn, context)
    if found is None or turn.team is None:
        return None
    occurrence, schedule = found
    return spaces.invitation_card(turn.tr, turn.bank, turn.team, schedule, occurrence, turn.member)


async def pre_reflect(turn: Turn, event: FormSubmitted) -> list[Card]:
    found = await team_occurrence(turn, event.context)
    if found is None:
        return [refused(turn.tr, "reflexive.gone_pre")]
    return [await spaces.save_pre_reflection(turn, found[0], event.values)]
