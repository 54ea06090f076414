"""The help card: what this person may do here, from what the rituals declare."""

from __future__ import annotations

from dialogs.cards import Card, Paragraph
from dialogs.i18n import Tr
from dialogs.registry import Audience
from dialogs.rituals import registry


def audiences(*, reader: bool, coordinator: bool) -> list[Audience]:
    """Whose lines a person sees: every member's, then readers', then coordinators'."""
    shown: list[Audience] = ["member"]
    if reader:
        shown.append("reader")
    if coordinator:
        shown.append("coordinator")
    return shown


def help_card(
    tr: Tr,
    *,
    member: bool,
    reader: bool,
    coordinator: bool,
    team_name: str | None,
    unknown: str = "",
) -> Card:
    blocks: list[Paragraph] = []
    if unknown:
        blocks.append(Paragraph(text=tr("help.unknown", word=unknown)))
    if not member:
        blocks.append(Paragraph(text=tr("help.not_member")))
        keys = ["help", *(e.key for e in registry().outside_team_entries())]
        blocks += [Paragraph(text=tr(f"help.cmd.{key}")) for key in keys]
        return Card(title=tr("help.title_generic"), blocks=blocks)
    blocks.append(Paragraph(text=tr("help.intro", team=team_name or "")))
    keys = ["help"]
    for audience in audiences(reader=reader, coordinator=coordinator):
        keys += [e.key for e in registry().entries(audience) if e.key not in keys]
    blocks += [Paragraph(text=tr(f"help.cmd.{key}")) for key in keys]
    blocks.append(Paragraph(text=tr("help.privacy")))
    return Card(title=tr("help.title", team=team_name or ""), blocks=blocks)
