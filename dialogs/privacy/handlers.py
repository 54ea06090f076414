"""The privacy card: a person's questions answered in the chat, in their language."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.cards import Card, Paragraph
from dialogs.commands import Command
from dialogs.i18n import Tr
from dialogs.operator import Operator
from dialogs.turn import Turn


def privacy_card(tr: Tr, operator: Operator, k: int | None) -> Card:
    """`k`: the person's team's smallest group shown, when they are in one."""
    contact = operator.privacy_contact or tr("privacy.contact_team")
    blocks = [
        Paragraph(text=tr("privacy.kept")),
        Paragraph(text=tr("privacy.never")),
        Paragraph(text=tr("privacy.seen_k", k=k) if k else tr("privacy.seen")),
        Paragraph(text=tr("privacy.platform")),
        Paragraph(text=tr("privacy.contact", contact=contact)),
    ]
    if operator.privacy_url:
        blocks.append(Paragraph(text=tr("privacy.policy", url=operator.privacy_url)))
    return Card(title=tr("privacy.title"), blocks=blocks)


async def privacy_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    k = turn.team.k if turn.team is not None else None
    return [privacy_card(turn.tr, turn.operator, k)]
