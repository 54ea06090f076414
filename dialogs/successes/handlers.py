"""What people do with successes: the `success` command and its form."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.cards import Card
from dialogs.commands import Command
from dialogs.content import ContentBank
from dialogs.events import FormSubmitted
from dialogs.successes import sharing
from dialogs.turn import Turn


def known_prompt(bank: ContentBank, context: Mapping[str, str]) -> bool:
    """A prompt id from a card is client data: one the content bank does not hold is refused."""
    prompt = context.get("prompt")
    return not prompt or any(p.id == prompt for p in bank.success_prompts)


async def success_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    card = await form(turn, context)
    assert card is not None
    return [card]


async def form(turn: Turn, context: Mapping[str, str]) -> Card | None:
    assert turn.team is not None
    prompt = context.get("prompt") or None
    return sharing.form_card(turn.tr, turn.bank, turn.team, prompt_id=prompt)


async def submit(turn: Turn, event: FormSubmitted) -> list[Card]:
    return [await sharing.submit(turn, event.values, event.context.get("prompt") or None)]
