"""What the page needs to know about the persona it shows, beyond the engine's directory."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dialogs.calendar import zone
from dialogs.directory import Person

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


def viewer_of(person: Person) -> Viewer:
    return Viewer(person, zone(person.timezone), person.team_language)
