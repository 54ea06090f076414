"""A person's home: what they may do, as buttons (Slack's App Home, a Teams welcome tab)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import Button, Card, Paragraph
from dialogs.events import Actor
from dialogs.help import audiences, help_card
from dialogs.i18n import Tr, language_of
from dialogs.rituals import registry
from dialogs.turn import is_reader
from storage import teams


def home_commands(*, reader: bool, coordinator: bool) -> list[str]:
    """The commands a person's home offers as buttons, as the rituals declare them."""
    shown = audiences(reader=reader, coordinator=coordinator)
    return [e.home for a in shown for e in registry().entries(a) if e.home is not None]


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
        reader = is_reader(team, member)
        for word in home_commands(reader=reader, coordinator=member.is_coordinator):
            label = tr("home.button." + word.replace(" ", "_"))
            if len(memberships) > 1:
                label = f"{label} · {team.name}"
            buttons.append(
                Button(label=label, action="command", context={"team": team.slug, "text": word})
            )
    blocks.append(Paragraph(text=tr("help.privacy")))
    return Card(title=tr("home.title"), blocks=blocks, buttons=buttons)
