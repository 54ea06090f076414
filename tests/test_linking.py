"""Link codes: one more channel (another platform) joins an existing partnership team."""

from __future__ import annotations

from sqlalchemy import select

from dialogs.cards import Card, Paragraph
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, Place
from storage import teams
from storage.models import Member, Team
from tests.conftest import Clock
from tests.helpers import seeded, submit

TENANT = "tenant-linking"


def place(channel: str) -> Place:
    return Place("teams", TENANT, channel, "Général")


GABY = Actor("teams", TENANT, "29:gaby", "Gaby", locale="fr-CA")


def texts(card: Card) -> str:
    return " ".join(b.text for b in card.blocks if isinstance(b, Paragraph))


async def code_from(engine: Engine, user: str = "emilie") -> str:
    (card,) = await submit(engine, user, "setup.link_code", {"team": "demo"})
    codes = [b.text for b in card.blocks if isinstance(b, Paragraph) and b.text.count("-") == 2]
    assert len(codes) == 1, texts(card)
    return codes[0]


async def setup_with(engine: Engine, code: str, channel: str = "19:est") -> Card:
    (card,) = await engine.handle(CommandReceived(GABY, f"setup {code}", place(channel)))
    return card


async def test_a_code_links_the_channel_once_and_makes_a_coordinator(engine: Engine) -> None:
    await seeded(engine)
    code = await code_from(engine)
    async with engine.database.session() as session:
        team = await session.scalar(select(Team).where(Team.slug == "demo"))
        assert team is not None and team.link_code_hash and code not in team.link_code_hash
    done = await setup_with(engine, code.lower().replace("-", " "))  # typed loosely: works
    assert "moins de 3\u00a0personnes" in texts(done), texts(done)
    async with engine.database.session() as session:
        channels = await teams.channels_of(session, 1)
        gaby = await session.scalar(select(Member).where(Member.user_ref == "29:gaby"))
        team = await session.scalar(select(Team).where(Team.slug == "demo"))
    assert {c.platform for c in channels} == {"sandbox", "teams"}
    assert gaby is not None and gaby.is_coordinator and gaby.team_id == 1
    assert team is not None and team.link_code_hash is None  # used up
    again = await setup_with(engine, code, channel="19:autre")
    assert "unknown" in texts(again).lower() or "inconnu" in texts(again).lower()


async def test_a_wrong_or_expired_code_links_nothing(engine: Engine, clock: Clock) -> None:
    await seeded(engine)
    wrong = await setup_with(engine, "ABCD-EFGH-JKMN")
    assert "inconnu" in texts(wrong).lower() or "unknown" in texts(wrong).lower()
    code = await code_from(engine)
    clock.advance(hours=25)
    expired = await setup_with(engine, code)
    assert "expir" in texts(expired).lower()
    async with engine.database.session() as session:
        assert len(await teams.channels_of(session, 1)) == 1


async def test_only_a_coordinator_gets_a_code_and_a_new_code_replaces_the_old(
    engine: Engine,
) -> None:
    await seeded(engine)
    (refused,) = await submit(engine, "camille", "setup.link_code", {"team": "demo"})
    assert not any(b.text.count("-") == 2 for b in refused.blocks if isinstance(b, Paragraph))
    first = await code_from(engine)
    second = await code_from(engine)
    assert first != second
    stale = await setup_with(engine, first)
    assert "inconnu" in texts(stale).lower() or "unknown" in texts(stale).lower()
    await setup_with(engine, second)
    async with engine.database.session() as session:
        assert len(await teams.channels_of(session, 1)) == 2
