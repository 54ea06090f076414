"""Which language the Teams bridge speaks, by one rule.

- In a 1:1 chat, the person's: their saved member language, else their client's locale (the
  engine's `Turn.tr`).
- In a channel, the team's; before a team exists there, the client locale of the person who
  installed the app or asked for the setup.

Teams sends the client locale with messages (`locale`, or a `clientInfo` entity), not with the
conversationUpdate that says the app was added to a team. The installer's locale is then the
one of their last activity in their 1:1 chat with the bot, kept with its reference
(adapters/teams/conversations.py).
"""

from __future__ import annotations

from dataclasses import replace

from adapters.teams import activities as act
from adapters.teams import conversations
from dialogs.events import Actor, Place
from dialogs.i18n import language_of
from storage import teams
from storage.database import Database

DEFAULT = "fr"


async def with_locale(database: Database, activity: act.Json, actor: Actor) -> Actor:
    """`actor`, with the client locale their last 1:1 activity showed when this one has none."""
    if actor.locale or not actor.user_ref or not act.tenant_of(activity):
        return actor
    async with database.session() as session:
        row = await conversations.find(
            session, act.tenant_of(activity), conversations.PERSONAL, actor.user_ref
        )
    locale = conversations.locale_of(row)
    return replace(actor, locale=locale) if locale else actor


async def of_channel(database: Database, place: Place, actor: Actor) -> str:
    """The language of what is posted in `place` for everyone: its team's, else (no team yet)
    the client's of the person who acted."""
    async with database.session() as session:
        link = await teams.channel_at(session, place.platform, place.workspace, place.channel_ref)
        team = await teams.team_by_id(session, link.team_id) if link is not None else None
        if team is not None:
            return language_of(team.language, DEFAULT)
    return language_of(actor.locale, DEFAULT)
