"""Who is where, for adapters that list people or channels (the sandbox's persona switcher)."""

from __future__ import annotations

from dataclasses import dataclass

from storage import teams
from storage.database import Database


@dataclass(frozen=True)
class Person:
    user_ref: str
    display_name: str
    team_slug: str
    team_name: str
    sector: str | None
    position: str | None
    language: str
    is_coordinator: bool
    timezone: str  # the person's own zone, or their team's
    team_language: str  # the language the team's channel speaks


async def directory(database: Database, platform: str, workspace: str = "") -> list[Person]:
    """Active members on one platform, across teams."""
    people: list[Person] = []
    async with database.session() as session:
        for team in await teams.all_teams(session):
            for m in await teams.active_members(session, team.id):
                if m.platform == platform and m.workspace == workspace:
                    people.append(
                        Person(
                            m.user_ref,
                            m.display_name,
                            team.slug,
                            team.name,
                            m.sector,
                            m.position,
                            m.language or team.language,
                            m.is_coordinator,
                            m.timezone or team.timezone,
                            team.language,
                        )
                    )
    return people


async def team_channels(database: Database, team_slug: str, platform: str) -> list[tuple[str, str]]:
    """(channel_ref, name) of a team's channels on one platform."""
    async with database.session() as session:
        team = await teams.team_by_slug(session, team_slug)
        if team is None:
            return []
        return [
            (c.channel_ref, c.name)
            for c in await teams.channels_of(session, team.id)
            if c.platform == platform
        ]
