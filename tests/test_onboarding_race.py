"""Two processes onboarding the same person at once (a roster read after `setup` and a
`membersAdded`, a retry reaching another server) store one member and one welcome, and neither
fails: member creation is INSERT ... ON CONFLICT DO NOTHING then a read (storage.teams.add_member).

Two engines with their own connection pools on one database stand for two processes; on
PostgreSQL their transactions overlap for real (the second insert waits for the first's commit).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from dialogs.engine import Engine
from dialogs.events import Actor, MemberJoined, Place
from storage import migrate, teams
from storage.database import Database
from storage.models import Member, OutboxMessage
from tests.conftest import START

PLACE = Place("teams", "tenant", "19:general", "General")
PEOPLE = 30


async def test_concurrent_onboarding_stores_each_person_once(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        await migrate.upgrade(first)
        async with first.session() as session, session.begin():
            team = await teams.create_team(session, slug="est", name="Est", now=START)
            await teams.link_channel(
                session, team, PLACE.platform, PLACE.workspace, PLACE.channel_ref, PLACE.name
            )
        engines = [Engine(db, clock=lambda: START) for db in (first, second)]
        people = [Actor("teams", "tenant", f"29:p{n}", f"Personne {n}") for n in range(PEOPLE)]
        joined = [MemberJoined(actor=person, place=PLACE) for person in people]
        # Each person joins through both processes at the same moment, twice over.
        replies = await asyncio.gather(
            *(engine.handle(event) for event in joined for engine in engines * 2)
        )
        assert all(reply == [] for reply in replies), [r for r in replies if r]
        async with first.session() as session:
            members = await session.scalar(select(func.count()).select_from(Member))
            welcomes = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.idem_key.like("welcome:%"))
            )
        assert members == PEOPLE and welcomes == PEOPLE
    finally:
        await first.dispose()
        await second.dispose()
