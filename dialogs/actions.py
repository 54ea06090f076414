"""What each submitted form or pressed button does, by its action name.

Every action receives the turn (with the person's team and membership already checked) and
returns the replies for its author. Coordinator-only actions say so where they are registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dialogs import (
    checkins,
    linking,
    membership,
    open_review,
    profile,
    readers,
    reflexive,
    successes,
    team_admin,
    tensions,
)
from dialogs.cards import Card, notice
from dialogs.content import ContentBank
from dialogs.events import FormSubmitted
from dialogs.forms import parse_id, refill, refused
from dialogs.i18n import Tr
from dialogs.rate_limit import WeeklyLimiter
from dialogs.turn import Turn
from storage import reflexive as reflexive_store
from storage import rounds
from storage import tensions as tension_store
from storage.models import OpenAnswer, ReflexiveOccurrence, ReflexiveSchedule, Round, Tension


@dataclass(frozen=True)
class Kit:
    """What actions need beyond the turn: the content and the weekly tension limit."""

    bank: ContentBank
    limiter: WeeklyLimiter


Action = Callable[[Kit, Turn, FormSubmitted], Awaitable[list[Card]]]
ACTIONS: dict[str, Action] = {}
COORDINATOR_ONLY: set[str] = set()
# Actions that may come from someone not yet in a team (creating one).
OUTSIDE_A_TEAM = {"setup.save"}


def action(*names: str, coordinator: bool = False) -> Callable[[Action], Action]:
    def register(handler: Action) -> Action:
        for name in names:
            ACTIONS[name] = handler
            if coordinator:
                COORDINATOR_ONLY.add(name)
        return handler

    return register


# ------------------------------------------------------------------ profile and check-ins
@action("profile.save")
async def profile_save(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    member, team = turn.member, turn.team
    assert member is not None and team is not None
    previous_position = member.position
    profile.apply_profile(turn, member, event.values)
    tr = Tr(member.language or team.language)
    if readers.awaits_confirmation(team, member, previous_position):
        # Declaring oneself a manager does not open the summaries: a coordinator decides.
        await readers.ask_coordinators(turn, team, member)
        return [notice(tr("profile.saved_title"), tr("profile.saved"), tr("readers.awaiting"))]
    return [notice(tr("profile.saved_title"), tr("profile.saved"))]


@action("checkin.submit")
async def checkin_submit(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None and turn.member is not None
    round_ = await rounds.round_by_id(turn.session, parse_id(event.context.get("round")))
    if round_ is None or round_.team_id != turn.team.id:
        return [refused(turn.tr, "errors.stale_button")]
    return [
        await checkins.submit(
            turn.session,
            kit.bank,
            turn.team,
            turn.member,
            round_,
            event.values,
            turn.tr,
            turn.now,
            turn.sealer,
        )
    ]


@action("checkin.skip")
async def checkin_skip(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    return [await skip(turn, parse_id(event.context.get("round")))]


async def skip(turn: Turn, round_id: int) -> Card:
    tr = turn.tr
    assert turn.member is not None
    round_ = await rounds.round_by_id(turn.session, round_id)
    if round_ is None or round_.closed or (turn.team and round_.team_id != turn.team.id):
        return refused(tr, "checkin.closed")
    if await rounds.skip(turn.session, round_.id, turn.member.id):
        return notice(tr("checkin.skipped_title"), tr("checkin.skipped"))
    return notice(tr("checkin.already_title"), tr("checkin.already_answered"))


# ------------------------------------------------------------------ tensions
@action("tension.preview")
async def tension_preview(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None and turn.member is not None
    text, theme = tensions.read_draft(kit.bank, event.values, turn.tr)
    return [
        await tensions.preview_card(
            turn.session,
            turn.tr,
            kit.bank,
            turn.team,
            turn.member,
            text,
            theme,
            event.context.get("prompt", ""),
            turn.now,
        )
    ]


@action("tension.edit")
async def tension_edit(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None
    context = event.context
    return [
        tensions.form_card(
            turn.tr,
            kit.bank,
            turn.team,
            prompt_id=context.get("prompt") or None,
            text=context.get("text", ""),
            theme=context.get("theme", "other"),
        )
    ]


@action("tension.cancel")
async def tension_cancel(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    return [notice(turn.tr("tension.cancelled_title"), turn.tr("tension.cancelled"))]


@action("tension.confirm")
async def tension_confirm(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None and turn.member is not None
    text, theme = tensions.read_draft(kit.bank, event.context, turn.tr)
    return [
        await tensions.confirm(
            turn.session,
            kit.bank,
            turn.team,
            turn.member,
            text,
            theme,
            event.context.get("prompt") or None,
            turn.tr,
            turn.now,
            kit.limiter,
            turn.sealer,
        )
    ]


async def team_tension(turn: Turn, event: FormSubmitted) -> Tension | None:
    """The tension a button names, if it belongs to the person's team."""
    tension = await tension_store.tension_by_id(turn.session, event.context.get("tension", ""))
    if tension is None or turn.team is None or tension.team_id != turn.team.id:
        return None
    return tension


@action("tension.approve", "tension.reject", coordinator=True)
async def tension_review(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    tr = turn.tr
    tension = await team_tension(turn, event)
    if tension is None:
        return [refused(tr, "errors.stale_button")]
    new = tension_store.APPROVED if event.action == "tension.approve" else tension_store.REJECTED
    if not await tension_store.set_status(
        turn.session, tension.id, tension_store.PENDING_REVIEW, new
    ):
        return [notice(tr("review.done_title"), tr("review.already"))]
    return [notice(tr("review.done_title"), tr(f"review.done_{new}"))]


@action("tension.reply_form", coordinator=True)
async def tension_reply_form(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    tension = await team_tension(turn, event)
    if tension is None or turn.team is None:
        return [refused(turn.tr, "errors.stale_button")]
    return [tensions.reply_form(turn.tr, turn.team, tension)]


@action("tension.reply", coordinator=True)
async def tension_reply(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    tension = await team_tension(turn, event)
    if tension is None or turn.team is None:
        return [refused(turn.tr, "errors.stale_button")]
    return [
        await tensions.save_reply(turn.session, turn.team, tension, event.values, turn.tr, turn.now)
    ]


# ------------------------------------------------------------------ successes, reflexive spaces
@action("success.submit")
async def success_submit(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None and turn.member is not None
    return [
        await successes.submit(
            turn.session,
            kit.bank,
            turn.team,
            turn.member,
            event.values,
            event.context.get("prompt") or None,
            turn.tr,
            turn.now,
            turn.sealer,
        )
    ]


@action("reflexive.save", coordinator=True)
async def reflexive_save(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None
    return [
        await reflexive.save_schedule(
            turn.session, kit.bank, turn.team, event.values, turn.tr, turn.now
        )
    ]


async def team_occurrence(
    turn: Turn, event: FormSubmitted
) -> tuple[ReflexiveOccurrence, ReflexiveSchedule] | None:
    """The reflexive occurrence a form names, if it belongs to the person's team."""
    occurrence = await reflexive_store.occurrence_by_id(
        turn.session, parse_id(event.context.get("occurrence"))
    )
    if occurrence is None or turn.team is None:
        return None
    schedule = await turn.session.get(ReflexiveSchedule, occurrence.schedule_id)
    if schedule is None or schedule.team_id != turn.team.id:
        return None
    return occurrence, schedule


@action("reflexive.pre")
async def reflexive_pre(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    found = await team_occurrence(turn, event)
    if found is None:
        return [refused(turn.tr, "errors.stale_button")]
    assert turn.team is not None
    return [
        await reflexive.save_pre_reflection(
            turn.session, turn.team, found[0], event.values, turn.tr, turn.now, turn.sealer
        )
    ]


# ------------------------------------------------------------------ coordination
@action("open.approve", "open.hide", coordinator=True)
async def open_answer_review(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    tr = turn.tr
    assert turn.team is not None
    answer = await turn.session.get(OpenAnswer, event.context.get("answer", "")[:64])
    round_ = await turn.session.get(Round, answer.round_id) if answer is not None else None
    if round_ is None or round_.team_id != turn.team.id:
        return [refused(tr, "errors.stale_button")]  # unknown, or another team's
    status = "visible" if event.action == "open.approve" else "hidden"
    done = await open_review.decide(
        turn.session, turn.team, event.context.get("answer", ""), status
    )
    key = f"open_review.done_{status}" if done else "open_review.already"
    return [notice(tr("open_review.title"), tr(key))]


@action("settings.save", coordinator=True)
async def settings_save(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    tr = turn.tr
    assert turn.team is not None
    team_admin.apply_settings(turn.team, event.values, tr)
    turn.calendar_changed.add(turn.team.id)
    return [notice(tr("settings.saved_title"), tr("settings.saved"))]


@action("schedule.save", coordinator=True)
async def schedule_save(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    tr = turn.tr
    assert turn.team is not None
    team_admin.apply_schedule(turn.team, event.values, tr)
    turn.calendar_changed.add(turn.team.id)
    return [notice(tr("settings.saved_title"), tr("schedule.saved"))]


@action("readers.save", coordinator=True)
async def readers_save(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    return [await readers.save(turn, event.values)]


@action("readers.confirm", coordinator=True)
async def readers_confirm(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    return [await readers.confirm(turn, event.context.get("member"))]


@action("setup.save")
async def setup_save(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    tr = turn.tr
    if turn.place is None:
        return [refused(tr, "setup.in_channel")]
    if not team_admin.setup_requested_by(turn.sealer, turn.actor, turn.place, event.context):
        # A setup card in a channel is seen by everyone there; only its requester submits it.
        return [refused(tr, "setup.not_yours")]
    team, coordinator = await team_admin.create_team(
        turn.session, turn.actor, turn.place, event.values, tr, turn.now
    )
    await membership.welcome(turn, team, coordinator)
    turn.calendar_changed.add(team.id)
    return [notice(tr("setup.done_title"), tr("setup.done", team=team.name, k=team.k))]


@action("setup.link_code", coordinator=True)
async def setup_link_code(kit: Kit, turn: Turn, event: FormSubmitted) -> list[Card]:
    return [linking.issue(turn)]


# ------------------------------------------------------------------ a form rebuilt
async def form_card(kit: Kit, turn: Turn, name: str, context: dict[str, str]) -> Card | None:
    """The empty form behind an action and its context, as the person would get it now;
    None when it no longer exists or is not theirs (a closed round, another team)."""
    tr, team, member, bank = turn.tr, turn.team, turn.member, kit.bank
    probe = FormSubmitted(turn.actor, name, context)
    if name == "setup.save" and turn.place is not None:
        return team_admin.setup_card(tr, turn.place, turn.actor, turn.sealer)
    if team is None or member is None:
        return None
    if name == "checkin.submit":
        round_ = await rounds.round_by_id(turn.session, parse_id(context.get("round")))
        if round_ is None or round_.team_id != team.id or round_.closed:
            return None
        return checkins.round_card(tr, bank, team, round_)
    if name == "profile.save":
        return profile.profile_card(tr, team, member)
    if name in ("tension.preview", "tension.confirm"):
        return tensions.form_card(tr, bank, team, prompt_id=context.get("prompt") or None)
    if name == "tension.reply":
        tension = await team_tension(turn, probe)
        return tensions.reply_form(tr, team, tension) if tension and turn.is_coordinator else None
    if name == "success.submit":
        return successes.form_card(tr, bank, team, prompt_id=context.get("prompt") or None)
    if name == "reflexive.pre":
        found = await team_occurrence(turn, probe)
        return reflexive.invitation_card(tr, bank, team, found[1], found[0]) if found else None
    if name in COORDINATOR_ONLY and not turn.is_coordinator:
        return None
    if name == "reflexive.save":
        return await reflexive.schedule_form(turn.session, tr, bank, team, turn.now)
    if name == "settings.save":
        return team_admin.settings_card(tr, team)
    if name == "schedule.save":
        return team_admin.schedule_card(tr, team)
    if name == "readers.save":
        return await readers.readers_card(turn.session, tr, team)
    return None


async def form_again(kit: Kit, turn: Turn, event: FormSubmitted) -> Card:
    """The card the person just submitted, rebuilt with what they typed, so nothing is lost."""
    card = await form_card(kit, turn, event.action, event.context)
    return refill(card or Card(title=turn.tr("errors.refused_title")), event.values)
