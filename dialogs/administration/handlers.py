"""What coordinators do to run a team: set it up in a channel (or link one more channel),
its settings and calendar, and who reads the summaries."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dialogs.administration import linking, readers, team_forms
from dialogs.cards import Card, notice
from dialogs.commands import Command
from dialogs.events import FormSubmitted, InboundEvent
from dialogs.forms import refused
from dialogs.i18n import Tr
from dialogs.people import welcome
from dialogs.registry import ActionRun, CommandRun, FormRun
from dialogs.turn import Turn, resolve
from storage.models import Member, Team


async def setup_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    tr = turn.tr
    if turn.place is None:
        return [refused(tr, "setup.in_channel")]
    if command.args:  # `setup <code>`: link this channel to an existing team
        return await linking.link(turn, "".join(command.args))
    if turn.team is not None:
        if not turn.is_coordinator:
            return [refused(tr, "errors.already_linked")]
        return [team_forms.settings_card(tr, turn.team)]
    return [team_forms.setup_card(tr, turn.place, turn.actor, turn.sealer)]


async def setup_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    if turn.place is None:
        return None
    return team_forms.setup_card(turn.tr, turn.place, turn.actor, turn.sealer)


async def setup_save(turn: Turn, event: FormSubmitted) -> list[Card]:
    tr = turn.tr
    if turn.place is None:
        return [refused(tr, "setup.in_channel")]
    if not team_forms.setup_requested_by(turn.sealer, turn.actor, turn.place, event.context):
        # A setup card in a channel is seen by everyone there; only its requester submits it.
        return [refused(tr, "setup.not_yours")]
    team, coordinator = await team_forms.create_team(
        turn.session, turn.actor, turn.place, event.values, tr, turn.now
    )
    await welcome(turn, team, coordinator)
    turn.calendar_changed.add(team.id)
    if turn.place.public:  # the channel reads it: the team's language, chosen just now
        tr = Tr(team.language)
    return [notice(tr("setup.done_title"), tr("setup.done", team=team.name, k=team.k))]


async def link_code(turn: Turn, event: FormSubmitted) -> list[Card]:
    return [linking.issue(turn)]


async def installed(turn: Turn, event: InboundEvent) -> list[Card]:
    """Added to a channel: say which team it belongs to, or offer to set one up."""
    await resolve(turn)
    tr = turn.tr
    if turn.team is not None:
        return [notice(tr("setup.linked_title"), tr("setup.linked", team=turn.team.name))]
    assert turn.place is not None
    return [team_forms.setup_card(tr, turn.place, turn.actor, turn.sealer)]


async def settings_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None
    return team_forms.settings_card(turn.tr, turn.team)


async def schedule_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None
    return team_forms.schedule_card(turn.tr, turn.team)


async def readers_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None
    return await readers.readers_card(turn.session, turn.tr, turn.team)


def showing(form: FormRun) -> CommandRun:
    """A command that shows one of the forms above."""

    async def command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
        card = await form(turn, context)
        assert card is not None
        return [card]

    return command


def saving(apply: Callable[[Team, dict[str, str], Tr], None], saved: str) -> ActionRun:
    """The save of a form that changes the team (its settings, its calendar): the values
    applied, the team's jobs planned again, `saved` said."""

    async def save(turn: Turn, event: FormSubmitted) -> list[Card]:
        tr = turn.tr
        assert turn.team is not None
        apply(turn.team, event.values, tr)
        turn.calendar_changed.add(turn.team.id)
        return [notice(tr("settings.saved_title"), tr(saved))]

    return save


async def settings_save(turn: Turn, event: FormSubmitted) -> list[Card]:
    """The settings saved; a change to k or to who reads the summaries is told to the team's
    channels: people share on the promise of both, so neither changes unannounced."""
    assert turn.team is not None
    team = turn.team
    before = (team.k, team.summary_readers)
    replies = await _save_settings(turn, event)
    await team_forms.announce_changes(turn.session, team, before, turn.now)
    return replies


_save_settings = saving(team_forms.apply_settings, "settings.saved")
schedule_save = saving(team_forms.apply_schedule, "schedule.saved")


async def readers_save(turn: Turn, event: FormSubmitted) -> list[Card]:
    return [await readers.save(turn, event.values)]


async def readers_confirm(turn: Turn, event: FormSubmitted) -> list[Card]:
    return [await readers.confirm(turn, event.context.get("member"))]


async def reader_requested(
    turn: Turn, team: Team, member: Member, previous_position: str | None
) -> list[str]:
    """Declaring oneself a manager does not open the summaries: a coordinator decides."""
    if not readers.awaits_confirmation(team, member, previous_position):
        return []
    await readers.ask_coordinators(turn, team, member)
    return ["readers.awaiting"]
