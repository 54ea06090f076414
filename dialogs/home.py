"""A person's home: what they may do, as buttons (Slack's App Home, a Teams welcome tab)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import Button, Card, Paragraph
from dialogs.commands import help_card
from dialogs.events import Actor
from dialogs.i18n import Tr, language_of
from dialogs.turn import is_reader
from storage import teams

MEMBER_BUTTONS = ("checkin", "tension", "success", "profile")
READER_BUTTONS = ("summary",)
COORDINATOR_BUTTONS = ("checkin now", "reflexive", "schedule", "settings", "readers")


async def home_card(session: AsyncSession, actor: Actor) -> Card:
    """One section per team the person belongs to; their options as buttons."""
    memberships = await teams.memberships(session, actor.platform, actor.workspace, actor.user_ref)
    if not memberships:
        tr = Tr(language_of(actor.locale))
        return help_card(tr, member=False, reader=False, coordinator=False, team_name=None)
    first = memberships[0]
    first_team = await teams.team_by_id(session, first.team_id)
    tr = Tr(first.language or (first_team.language if first_team else "fr"))
    blocks: list[Paragraph] = [Paragraph(text=tr("home.intro"))]
    buttons: list[Button] = []
    for member in memberships:
        team = await teams.team_by_id(session, member.team_id)
        if team is None:
            continue
        blocks.append(Paragraph(text=tr("home.team", team=team.name, k=team.k)))
        words = list(MEMBER_BUTTONS)
        if is_reader(team, member):
            words += READER_BUTTONS
        if member.is_coordinator:
            words += COORDINATOR_BUTTONS
        for word in words:
            label = tr("home.button." + word.replace(" ", "_"))
            if len(memberships) > 1:
                label = f"{label} · {team.name}"
            buttons.append(
                Button(label=label, action="command", context={"team": team.slug, "text": word})
            )
    blocks.append(Paragraph(text=tr("help.privacy")))
    return Card(title=tr("home.title"), blocks=blocks, buttons=buttons)
