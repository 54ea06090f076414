"""What people do with tensions: write one (preview, edit, cancel, confirm), read the replies
to one by its code, and, for coordinators, review and reply."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.cards import Card, notice
from dialogs.commands import Command
from dialogs.content import ContentBank
from dialogs.events import FormSubmitted
from dialogs.forms import refused
from dialogs.tensions import batches, store, writing
from dialogs.tensions.models import Tension
from dialogs.tensions.rate_limit import WeeklyLimiter
from dialogs.texts import clean
from dialogs.turn import Turn


def known_prompt(bank: ContentBank, context: Mapping[str, str]) -> bool:
    """A prompt id from a card is client data (Teams builds `data` itself): one the content
    bank does not hold is refused, not looked up."""
    prompt = context.get("prompt")
    return not prompt or any(p.id == prompt for p in bank.tension_prompts)


async def tension_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    assert turn.team is not None
    if command.args:  # `tension CODE`: the replies to one's own tension
        code = " ".join(command.args)
        return [await writing.followup_card(turn.session, turn.bank, code, turn.tr)]
    prompt = context.get("prompt") or None
    return [writing.form_card(turn.tr, turn.bank, turn.team, prompt_id=prompt)]


async def preview(turn: Turn, event: FormSubmitted) -> list[Card]:
    text, theme = writing.read_draft(turn.bank, event.values, turn.tr)
    return [await writing.preview_card(turn, text, theme, event.context.get("prompt", ""))]


async def draft_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None
    prompt = context.get("prompt") or None
    return writing.form_card(turn.tr, turn.bank, turn.team, prompt_id=prompt)


async def edit(turn: Turn, event: FormSubmitted) -> list[Card]:
    assert turn.team is not None
    context = event.context
    return [
        writing.form_card(
            turn.tr,
            turn.bank,
            turn.team,
            prompt_id=context.get("prompt") or None,
            text=context.get("text", ""),
            theme=context.get("theme", "other"),
        )
    ]


async def cancel(turn: Turn, event: FormSubmitted) -> list[Card]:
    return [notice(turn.tr("tension.cancelled_title"), turn.tr("tension.cancelled"))]


async def confirm(turn: Turn, event: FormSubmitted) -> list[Card]:
    text, theme = writing.read_draft(turn.bank, event.context, turn.tr)
    prompt = event.context.get("prompt") or None
    return [await writing.confirm(turn, text, theme, prompt, WeeklyLimiter())]


async def team_tension(turn: Turn, context: Mapping[str, str]) -> Tension | None:
    """The tension a button names, if it belongs to the person's team."""
    tension = await store.tension_by_id(turn.session, context.get("tension", ""))
    if tension is None or turn.team is None or tension.team_id != turn.team.id:
        return None
    return tension


async def review(turn: Turn, event: FormSubmitted) -> list[Card]:
    """Approve, or reject with an optional reason. The reason is kept as the coordination's
    answer to the tension (no author, like every reply), which its author reads with their
    follow-up code: nobody learns who they are."""
    tr = turn.tr
    tension = await team_tension(turn, event.context)
    if tension is None:
        return [refused(tr, "errors.stale_button")]
    rejecting = event.action == "tension.reject"
    # Read before anything changes: a reason too long comes back with the form, nothing done.
    reason = (
        clean(event.values.get("reason"), max_length=batches.REASON_LIMIT, required=False)
        if rejecting
        else ""
    )
    new = store.REJECTED if rejecting else store.APPROVED
    if not await store.set_status(turn.session, tension.id, store.PENDING_REVIEW, new):
        return [notice(tr("review.done_title"), tr("review.already"))]
    if reason:
        await store.add_reply(turn.session, tension.id, reason, turn.today)
    done = "review.done_rejected_reason" if reason else f"review.done_{new}"
    return [notice(tr("review.done_title"), tr(done))]


async def review_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    """The review card again (a reason refused as too long), while the tension still waits."""
    tension = await team_tension(turn, context)
    if tension is None or turn.team is None or tension.status != store.PENDING_REVIEW:
        return None
    return batches.review_card(turn.tr, turn.bank, turn.team, tension)


async def reply_form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    tension = await team_tension(turn, context)
    if tension is None or turn.team is None:
        return None
    return writing.reply_form(turn.tr, turn.team, tension)


async def open_reply_form(turn: Turn, event: FormSubmitted) -> list[Card]:
    card = await reply_form(turn, event.context)
    return [card or refused(turn.tr, "errors.stale_button")]


async def reply(turn: Turn, event: FormSubmitted) -> list[Card]:
    tension = await team_tension(turn, event.context)
    if tension is None or turn.team is None:
        return [refused(turn.tr, "errors.stale_button")]
    return [
        await writing.save_reply(turn.session, turn.team, tension, event.values, turn.tr, turn.now)
    ]
