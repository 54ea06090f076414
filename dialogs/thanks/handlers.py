"""The `thanks` command, its form (a teammate and a message) and what sending it does."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.cards import Card, notice
from dialogs.commands import Command
from dialogs.events import FormSubmitted
from dialogs.forms import FormError
from dialogs.texts import TextRejected, clean
from dialogs.thanks import note
from dialogs.turn import Turn


async def form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None and turn.member is not None
    teammates = await note.teammates(turn.session, turn.team, turn.member)
    return note.form_card(turn.tr, turn.team, teammates)


async def thanks_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    card = await form(turn, context)
    assert card is not None
    return [card]


async def send(turn: Turn, event: FormSubmitted) -> list[Card]:
    """`thanks.send`: a refusal raises FormError, and the engine shows the form again, filled."""
    team, author, tr = turn.team, turn.member, turn.tr
    assert team is not None and author is not None
    recipient = await note.teammate(turn.session, team, author, event.values.get("member"))
    if recipient is None:
        raise FormError("thanks.unknown_member")
    try:
        message = clean(event.values.get("message"), max_length=note.MESSAGE_LIMIT)
    except TextRejected as problem:
        if problem.key == "errors.empty":
            raise FormError("thanks.empty") from None
        raise
    queued = await note.deliver(turn.session, team, author, recipient, message, turn.now)
    name = note.name_of(recipient)
    if not queued:
        key = "thanks.unreachable" if recipient.unreachable else "thanks.duplicate"
        return [notice(tr("thanks.not_sent_title"), tr(key, name=name))]
    return [notice(tr("thanks.sent_title"), tr("thanks.sent", name=name))]
