"""What people do with check-ins: the `checkin` command, answering or skipping a round, and
a coordinator's review of open answers."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.cards import Card, Paragraph, notice
from dialogs.checkins import open_review, round_store
from dialogs.checkins import rounds as checkins
from dialogs.checkins.jobs import start
from dialogs.checkins.models import OpenAnswer, Round
from dialogs.commands import Command
from dialogs.events import FormSubmitted
from dialogs.forms import parse_id, refused
from dialogs.people import profile_card  # the pause lives in the profile
from dialogs.registry import Occasion
from dialogs.turn import Turn
from storage.models import Member, Team

# The `checkin` command's arguments, English and French (folded).
ARGUMENTS = {
    "now": "now",
    "maintenant": "now",
    "skip": "skip",
    "passer": "skip",
    "pause": "pause",
    "resume": "resume",
    "reprendre": "resume",
}


async def checkin_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    tr, team, member, session, now = turn.tr, turn.team, turn.member, turn.session, turn.now
    assert team is not None and member is not None
    argument = command.first_arg(ARGUMENTS)
    if argument == "now":
        if not turn.is_coordinator:
            return [refused(tr, "errors.coordinators_only")]
        occasion = Occasion(session, team, now, turn.bank, turn.sealer, forced=True)
        key, count = await start(occasion)
        return [Card(title=tr("jobs.done_title"), blocks=[Paragraph(text=tr(key, count=count))])]
    if argument == "pause":
        return [profile_card(tr, team, member)]
    if argument == "resume":
        member.paused_until = None
        return [notice(tr("checkin.resumed_title"), tr("checkin.resumed"))]
    round_ = await round_store.open_round_of(session, team.id)
    if round_ is None or round_.closes_at <= now:
        return [notice(tr("checkin.none_title"), tr("checkin.none"))]
    if argument == "skip":
        return [await skip(turn, round_.id)]
    status = await round_store.status_of(session, round_.id, member.id)
    if status != round_store.ASKED:
        key = "checkin.not_asked" if status is None else f"checkin.already_{status}"
        return [Card(title=tr("checkin.already_title"), blocks=[Paragraph(text=tr(key))])]
    return [checkins.round_card(tr, turn.bank, team, round_, member=member)]


async def submit(turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None and turn.member is not None
    round_ = await round_store.round_by_id(turn.session, parse_id(event.context.get("round")))
    if round_ is None or round_.team_id != turn.team.id:
        return [refused(turn.tr, "errors.stale_button")]
    return [await checkins.submit(turn, round_, event.values)]


async def submit_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None
    round_ = await round_store.round_by_id(turn.session, parse_id(context.get("round")))
    if round_ is None or round_.team_id != turn.team.id:
        return None
    if round_.closed or round_.closes_at <= turn.now:  # a lost card of a closed round
        return await checkins.open_instead(turn, round_)
    return checkins.round_card(turn.tr, turn.bank, turn.team, round_, member=turn.member)


async def skip_button(turn: Turn, event: FormSubmitted) -> list[Card]:
    return [await skip(turn, parse_id(event.context.get("round")))]


async def skip(turn: Turn, round_id: int) -> Card:
    tr = turn.tr
    assert turn.member is not None
    round_ = await round_store.round_by_id(turn.session, round_id)
    if round_ is None or (turn.team and round_.team_id != turn.team.id):
        return refused(tr, "checkin.closed")
    if round_.closed or round_.closes_at <= turn.now:
        # The button of a closed round's card: the open round, if any, is theirs to skip.
        return await checkins.open_instead(turn, round_) or checkins.closed_notice(tr)
    if await round_store.skip(turn.session, round_.id, turn.member.id):
        return notice(tr("checkin.skipped_title"), tr("checkin.skipped"))
    return notice(tr("checkin.already_title"), tr("checkin.already_answered"))


async def review_open_answer(turn: Turn, event: FormSubmitted) -> list[Card]:
    tr = turn.tr
    assert turn.team is not None
    answer = await turn.session.get(OpenAnswer, event.context.get("answer", "")[:64])
    round_ = await turn.session.get(Round, answer.round_id) if answer is not None else None
    if round_ is None or round_.team_id != turn.team.id:
        return [refused(tr, "errors.stale_button")]  # unknown, or another team's
    status = "visible" if event.action == "open.approve" else "hidden"
    done = await open_review.review(turn, event.context.get("answer", ""), status)
    key = f"open_review.done_{status}" if done else "open_review.already"
    return [notice(tr("open_review.title"), tr(key))]


async def late_joiner(turn: Turn, team: Team, member: Member) -> None:
    """Someone joining while a round is open is asked too."""
    await checkins.late_joiner(turn.session, turn.bank, team, member, turn.now)
