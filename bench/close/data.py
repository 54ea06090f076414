"""The close bench's data: one team of people with drawn sectors and positions, and for each
repetition a fresh check-in round whose ballots are recorded through the real path (sealed,
ledger marked) and written again in the clear to `bench_ballots`, the baseline's table."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, insert, select

from bench.harness.baseline import clear_answer_columns
from dialogs.anonymity import recording_scheme
from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import round_store as rounds
from dialogs.checkins.round_store import ItemValue
from dialogs.checkins.rounds import draw_items
from dialogs.content import ContentBank
from storage import migrate, teams
from storage.database import Database
from storage.models import Member, Team
from storage.sealing import Sealer

K = 5
SECTORS = (("public", 45), ("community", 45), ("other", 10))
POSITIONS = (("front_line", 60), ("manager", 28), ("coordinator", 12))
UNSET = 0.04  # members who left their sector (or position) unset
SKIPPED_ITEM = 0.05  # "prefer not to answer"
OPEN_ANSWER = 0.3  # ballots with an open answer
WORDS = [
    "équipe",
    "partenariat",
    "réunion",
    "dossier",
    "temps",
    "charge",
    "soutien",
    "clients",
    "accueil",
    "suivi",
]
# An ephemeral key: the bench seals and opens within one process.
SEALER = Sealer.ephemeral()

# The baseline's tables. `bench_ballots` holds in the clear what the sealed ballots hold;
# `bench_cells` has the columns of `unit_cells` (`unit_id` holds the round id).
BENCH_META = MetaData()
BENCH_BALLOTS = Table(
    "bench_ballots",
    BENCH_META,
    *clear_answer_columns(),
    Index("bench_ballots_by_round", "round_id", "dimension"),
    sqlite_with_rowid=False,
)
BENCH_CELLS = Table(
    "bench_cells",
    BENCH_META,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, nullable=False),
    Column("dimension", String(40), nullable=False),
    Column("sector", String(16)),
    Column("position", String(16)),
    Column("respondents", Integer, nullable=False),
    Column("answers", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    *(Column(f"count_{v}", Integer, nullable=False) for v in range(1, 6)),
    Index("bench_cells_by_unit", "unit_id"),
)
CELL_COLUMNS = [c.name for c in BENCH_CELLS.columns if c.name != "id"]


async def migrated(db: Database) -> None:
    """The real schema (migrations, as `tests/conftest.py` builds it), then the bench's own."""
    await migrate.upgrade(db)
    async with db.engine.begin() as connection:
        await connection.run_sync(BENCH_META.create_all)


# --------------------------------------------------------------------------- the team
def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str | None:
    if rng.random() < UNSET:
        return None
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


async def make_team(db: Database, members: int, rng: random.Random) -> int:
    """One team of `members` onboarded people; its id."""
    anchor = dt.date(2026, 1, 6)
    async with db.session() as session, session.begin():
        team = Team(
            slug="close-bench",
            name="Partenariat du banc",
            k=K,
            anchor_on=anchor,
            pool_small_rounds=False,
            created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        session.add(team)
        await session.flush()
        for i in range(members):
            position = _weighted(rng, POSITIONS)
            session.add(
                Member(
                    team_id=team.id,
                    platform="slack",
                    workspace="TBENCH",
                    user_ref=f"U{i:05d}",
                    display_name=f"Personne {i}",
                    sector=_weighted(rng, SECTORS),
                    position=position,
                    is_coordinator=position == "coordinator",
                    onboarded=True,
                )
            )
        return team.id


@dataclass(frozen=True)
class Voter:
    id: int
    sector: str | None  # as recorded on ballots (recording scheme applied)
    position: str | None


async def voters(db: Database, team_id: int) -> list[Voter]:
    """The members with their segments as `dialogs.checkins.rounds.submit` records them."""
    async with db.session() as session:
        team = await session.get(Team, team_id)
        assert team is not None
        scheme = recording_scheme(await teams.group_sizes(session, team_id), team.k)
        people = (await session.scalars(select(Member).where(Member.team_id == team_id))).all()
        return [Voter(m.id, *scheme.apply(m.sector, m.position)) for m in people]


# --------------------------------------------------------------------------- one round's data
@dataclass
class RoundData:
    round_id: int
    ballots: int
    texts: int
    rows: int


def _ballot(
    rng: random.Random, bank: ContentBank, items: Sequence[str]
) -> tuple[list[ItemValue], str | None]:
    """One member's answers: values around a personal level, some skipped, maybe a text."""
    level = rng.uniform(2.0, 4.5)
    values = [
        ItemValue(
            item,
            bank.dimension_of(item),
            None if rng.random() < SKIPPED_ITEM else min(5, max(1, round(rng.gauss(level, 0.8)))),
        )
        for item in items
    ]
    text_ = None
    if rng.random() < OPEN_ANSWER:
        text_ = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
    return values, text_


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


async def new_round(
    db: Database,
    bank: ContentBank,
    team_id: int,
    people: Sequence[Voter],
    seq: int,
    history: list[list[str]],
    rng: random.Random,
) -> RoundData:
    """Open a round, record every member's ballot through the real path (sealed, ledger
    marked), and write the same answers in the clear to `bench_ballots`. Not timed."""
    opened = dt.datetime(2026, 1, 6, 15, tzinfo=dt.UTC) + dt.timedelta(days=14 * seq)
    async with db.session() as session, session.begin():
        team = await session.get(Team, team_id)
        assert team is not None
        draw = draw_items(bank, team, seq, history[:12])
        history.insert(0, draw.items)
        round_ = await rounds.open_round(
            session,
            team_id=team_id,
            occurrence=opened.date().isoformat(),
            kind=draw.kind,
            items=draw.items,
            open_question_id=draw.open_question_id,
            opened_at=opened,
            opened_on=opened.date(),
            remind_at=opened + dt.timedelta(hours=48),
            closes_at=opened + dt.timedelta(hours=72),
            member_ids=[p.id for p in people],
        )
        assert round_ is not None
        clear: list[dict[str, Any]] = []
        texts = 0
        for person in people:
            values, open_text = _ballot(rng, bank, draw.items)
            recorded = await ballots.record_ballot(
                session,
                SEALER,
                round_=round_,
                member_id=person.id,
                values=values,
                sector=person.sector,
                position=person.position,
                open_text=open_text,
            )
            assert recorded
            texts += open_text is not None and round_.open_question_id is not None
            ballot = _hex(rng)
            clear += [
                {
                    "id": _hex(rng),
                    "round_id": round_.id,
                    "ballot": ballot,
                    "item_id": v.item_id,
                    "dimension": v.dimension,
                    "value": v.value,
                    "sector": person.sector,
                    "position": person.position,
                }
                for v in values
            ]
        await session.execute(insert(BENCH_BALLOTS), clear)
        return RoundData(round_.id, len(people), texts, len(clear))
