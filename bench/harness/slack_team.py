"""A team the Slack benches run against: its members onboarded straight in the database (so
no welcome message is queued) and known to the fake, a clock the bench can move, the settings
that point Passerelle at the fake, and the check-in card a round queued."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bench.harness.databases import OUT, remove_sqlite, sqlite_url
from bench.harness.remote_slack import Slack
from bot.settings import Settings
from dialogs.cards import Card
from dialogs.engine import Engine
from storage import migrate, teams
from storage.database import Database
from storage.models import Member, OutboxMessage
from tests.slack_signing import TEAM_ID

CHANNEL = "C0BENCH"
SLUG = "bench"
SECTORS = ("public", "community", "other")
POSITIONS = ("front_line", "manager")


class ShiftedClock:
    """Real time plus an offset the benchmark can move (a new round needs a new minute)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def user_ref(n: int) -> str:
    return f"U0B{n:06d}"


async def fresh_database(name: str, url: str | None = None) -> Database:
    """A migrated database: a SQLite file under bench/out/, or the PostgreSQL `url` given."""
    if url is None:
        path = OUT / f"{name}.sqlite"
        OUT.mkdir(parents=True, exist_ok=True)
        remove_sqlite(path)
        url = sqlite_url(path)
    database = Database(url)
    await migrate.upgrade(database)
    return database


async def seed_team(
    engine: Engine,
    slack: Slack,
    members: int,
    *,
    slug: str = SLUG,
    channel: str = CHANNEL,
    first: int = 0,
) -> list[str]:
    """A team linked to a Slack channel, ``members`` onboarded members (user refs numbered
    from ``first``), users in the fake."""
    refs = [user_ref(first + n) for n in range(members)]
    for ref in refs:
        slack.add_user(ref, tz="America/Toronto", locale="en-US")
        slack.dm_id(ref)
    slack.add_channel(channel, slug, members=refs)
    now = engine.clock()
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session,
            slug=slug,
            name="Bench" if slug == SLUG else f"Bench {slug}",
            now=now,
            language="en",
            timezone="America/Toronto",
            quiet_start=0,  # no quiet hours: the round goes out whatever the time of the run
            quiet_end=0,
        )
        await teams.link_channel(session, team, "slack", TEAM_ID, channel, slug)
        for n, ref in enumerate(refs):
            session.add(
                Member(
                    team_id=team.id,
                    platform="slack",
                    workspace=TEAM_ID,
                    user_ref=ref,
                    display_name=ref.lower(),
                    sector=SECTORS[n % 3],
                    position=POSITIONS[n % 2],
                    language="en",
                    timezone="America/Toronto",
                    is_coordinator=n == 0,
                    onboarded=True,
                )
            )
    return refs


async def round_card(engine: Engine, round_id: int) -> Card:
    """The check-in card the round queued (the same for every member of one language)."""
    async with engine.database.session() as session:
        row = (
            await session.execute(
                select(OutboxMessage.payload)
                .where(OutboxMessage.idem_key.like(f"%checkin:{round_id}:%"))
                .limit(1)
            )
        ).scalar_one()
    return Card.model_validate(row)


def settings(slack: Slack) -> Settings:
    """Passerelle's settings for a run against the fake: no calendar, no sandbox."""
    env: dict[str, object] = {
        "PASSERELLE_SCHEDULER": False,
        "PASSERELLE_SANDBOX": False,
        **slack.env(),
    }
    return Settings(**env)  # type: ignore[arg-type]
