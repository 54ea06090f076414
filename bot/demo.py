"""`passerelle demo`: a demo partnership for the sandbox, seeded once."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.engine import Engine
from dialogs.events import Actor, MemberJoined, Place
from storage import teams

DEMO_SLUG = "demo"
DEMO_CHANNEL = Place("sandbox", "", "equipe", "equipe-mixte")


@dataclass(frozen=True)
class Persona:
    user_ref: str
    name: str
    sector: str
    position: str
    language: str
    timezone: str
    coordinator: bool = False


# Eight members from the public network and two community organisations, and a coordinator.
PERSONAS = (
    Persona("camille", "Camille Tremblay", "public", "front_line", "fr", "America/Toronto"),
    Persona("jonathan", "Jonathan Roy", "public", "front_line", "en", "America/Toronto"),
    Persona("daniel", "Daniel Wong", "public", "front_line", "en", "America/Vancouver"),
    Persona("nadia", "Nadia Benali", "public", "manager", "fr", "America/Toronto"),
    Persona("sophie", "Sophie Gagnon", "community", "front_line", "fr", "America/Toronto"),
    Persona("marc-andre", "Marc-André Lavoie", "community", "front_line", "fr", "America/Toronto"),
    Persona("aisha", "Aïsha Koné", "community", "front_line", "en", "America/Toronto"),
    Persona("luc", "Luc Bergeron", "community", "manager", "fr", "America/Toronto"),
    Persona("emilie", "Émilie Côté", "public", "coordinator", "fr", "America/Toronto", True),
)


async def seed(engine: Engine) -> bool:
    """Create the demo team and welcome its members; False when it already exists."""
    async with engine.database.session() as session, session.begin():
        if await teams.team_by_slug(session, DEMO_SLUG) is not None:
            return False
        team = await teams.create_team(
            session,
            slug=DEMO_SLUG,
            name="Équipe mixte Passerelle (démo)",
            now=engine.clock(),
            language="fr",
            timezone="America/Toronto",
            # k = 3 (the floor) so a handful of demo answers shows results; real teams keep 5.
            k=3,
            # People try the demo at any hour; real teams keep quiet hours (20 h to 8 h).
            quiet_start=0,
            quiet_end=0,
        )
        await teams.link_channel(
            session,
            team,
            DEMO_CHANNEL.platform,
            DEMO_CHANNEL.workspace,
            DEMO_CHANNEL.channel_ref,
            DEMO_CHANNEL.name,
        )
    for persona in PERSONAS:
        await engine.handle(MemberJoined(actor=actor_of(persona), place=DEMO_CHANNEL))
    async with engine.database.session() as session, session.begin():
        seeded = await teams.team_by_slug(session, DEMO_SLUG)
        assert seeded is not None
        for persona in PERSONAS:
            member = await teams.member_in(session, seeded.id, "sandbox", "", persona.user_ref)
            assert member is not None
            member.is_coordinator = persona.coordinator
            # Pre-filled so results show at once; the welcome card still asks each to confirm.
            member.sector, member.position = persona.sector, persona.position
            # The team reads summaries as confirmed by its coordinator: the demo's managers are.
            member.reads_summaries = persona.position != "front_line"
    return True


def actor_of(persona: Persona) -> Actor:
    return Actor("sandbox", "", persona.user_ref, persona.name, persona.timezone, persona.language)
