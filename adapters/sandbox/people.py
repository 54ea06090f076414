"""What the page needs to know about the persona it shows, beyond the engine's directory."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dialogs.calendar import zone
from dialogs.directory import Person
from dialogs.engine import Engine
from storage import teams

PLATFORM = "sandbox"


@dataclass(frozen=True)
class Viewer:
    """A persona as the page shows them: their zone (for times) and their team's language
    (the language the team channel speaks)."""

    person: Person
    zone: ZoneInfo
    team_language: str

    @property
    def zone_name(self) -> str:
        return self.zone.key


async def viewer_of(engine: Engine, person: Person) -> Viewer:
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, person.team_slug)
        member = (
            await teams.member_in(session, team.id, PLATFORM, "", person.user_ref)
            if team is not None
            else None
        )
        team_zone = team.timezone if team is not None else None
        own_zone = member.timezone if member is not None else None
        return Viewer(
            person,
            zone(own_zone or team_zone),
            team.language if team is not None else person.language,
        )
