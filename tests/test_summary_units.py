"""Summary units on SQLite and PostgreSQL: pooled units never take the other kinds' rounds, and
compute() reads all a summary shows through one ``UNION ALL`` statement, whose column types
each database resolves in its own way."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import results
from dialogs.checkins import round_store as rounds
from dialogs.checkins.models import OpenAnswer
from dialogs.disclosure import Figure
from dialogs.successes.models import Success
from dialogs.summaries import pulse
from dialogs.summaries import store as summary_store
from dialogs.tensions.models import Tension
from storage import teams
from storage.database import Database
from storage.models import SummaryUnit
from storage.sealing import Sealer
from tests.summary_helpers import (
    add_members,
    open_round_now,
    sealed_ballot_rounds,
    stored_respondents,
)


def shown(result: pulse.PulseSummary, unit: int, dimension: str) -> Figure:
    """A figure the summary must show."""
    figure = result.disclosure.get(unit, dimension)
    assert figure is not None, (unit, dimension)
    return figure


async def test_pooled_units_never_take_the_other_kinds_rounds(database: Database) -> None:
    """Check-in rounds 1 and 3 pool together across diagnostic round 2, and keep to their kind."""
    database = database
    sealer = Sealer.ephemeral()
    now = dt.datetime(2026, 1, 6, 15, tzinfo=dt.UTC)
    async with database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug="t", name="T", now=now, k=3, pool_small_rounds=True
        )
        people = await add_members(session, team.id, 6)
        plan = [
            ("checkin", ["V1"], ["vision"], 2),
            ("diagnostic", ["C1a"], ["diagnostic:inclusion"], 5),
            ("checkin", ["V1"], ["vision"], 2),
        ]
        round_ids: list[int] = []
        for seq, (kind, items, dims, answering) in enumerate(plan, start=1):
            member_ids = [m.id for m in people]
            round_ = await open_round_now(
                session, team.id, seq, now, member_ids, items=items, kind=kind
            )
            for member in people[:answering]:
                await ballots.record_ballot(
                    session,
                    sealer,
                    round_=round_,
                    member_id=member.id,
                    values=[rounds.ItemValue(items[0], dims[0], 4)],
                    sector=None,
                    position=None,
                    open_text=None,
                )
            await rounds.close_round(session, round_)
            await results.freeze_new_units(session, sealer, team)
            round_ids.append(round_.id)
            # Check-in round 1 (two answers) waits sealed for round 3, across the diagnostic.
            assert await sealed_ballot_rounds(session) == ({round_ids[0]} if seq < 3 else set())
        result = await pulse.compute(session, team, now.date())
        assert all(n == 0 or n >= 3 for n in await stored_respondents(session))
    (checkin,) = result.units
    assert (checkin.first_seq, checkin.last_seq, checkin.answered) == (1, 3, 4)
    assert result.diagnostic is not None and result.diagnostic.answered == 5
    assert {f.dimension for f in result.disclosure.figures if f.unit == checkin.key} == {"vision"}
    assert shown(result, checkin.key, "vision").respondents == 4
    assert shown(result, result.diagnostic.key, "diagnostic:inclusion").respondents == 5


async def test_one_statement_reads_all_a_summary_shows(database: Database) -> None:
    """Units and their cells, the latest closed round, the last 30 days' tensions and successes,
    and the latest unit's visible open answers: all from compute()'s one statement, on both
    databases; nothing of another team, of an older unit, under review or hidden."""
    database = database
    now = dt.datetime(2026, 3, 3, 15, tzinfo=dt.UTC)
    today = now.date()
    sealer = Sealer.ephemeral()
    async with database.session() as session, session.begin():
        team = await teams.create_team(session, slug="t", name="T", now=now, k=3)
        other = await teams.create_team(session, slug="o", name="O", now=now, k=3)
        people = await add_members(session, team.id, 5)
        round_ids = []
        for seq, answering in enumerate((3, 4, 2), start=1):  # round 3 stays under k
            member_ids = [m.id for m in people]
            round_ = await open_round_now(
                session, team.id, seq, now, member_ids, items=["V1"], open_question_id="Q1"
            )
            round_ids.append(round_.id)
            for n, member in enumerate(people[:answering]):
                await ballots.record_ballot(
                    session,
                    sealer,
                    round_=round_,
                    member_id=member.id,
                    values=[rounds.ItemValue("V1", "vision", 2 + n % 3)],
                    sector=None,
                    position=None,
                    open_text=f"round {seq} text {n}",
                )
            await rounds.close_round(session, round_)
            await results.freeze_new_units(session, sealer, team)
        # Rounds 1 and 2 are frozen; round 3, under k without pooling, is dropped unread: no
        # ballot is left sealed, and only the frozen rounds' open answers were ever written.
        assert await sealed_ballot_rounds(session) == set()
        written = await session.scalars(select(OpenAnswer.text).order_by(OpenAnswer.text))
        assert written.all() == [
            f"round {s} text {n}" for s, a in ((1, 3), (2, 4)) for n in range(a)
        ]
        assert await session.scalar(select(func.count()).select_from(SummaryUnit)) == 2
        texts = (
            await session.scalars(
                select(OpenAnswer)
                .where(OpenAnswer.round_id == round_ids[1])
                .order_by(OpenAnswer.text)
            )
        ).all()
        texts[0].status = "pending_review"
        texts[1].status = "hidden"
        for n, (who, status, theme, days_ago) in enumerate(
            [
                (team, "published", "workload", 2),
                (team, "published", "workload", 30),
                (team, "approved", "other", 10),
                (team, "published", "funding", 31),  # before the 30 days
                (other, "published", "workload", 1),  # another team
            ]
        ):
            session.add(
                Tension(
                    team_id=who.id,
                    text=f"tension {n}",
                    theme=theme,
                    status=status,
                    created_on=today - dt.timedelta(days=days_ago),
                    followup_hash=f"f{n}",
                    dedupe_key=f"d{n}",
                )
            )
        for n, (who, days_ago) in enumerate([(team, 0), (team, 29), (team, 45), (other, 1)]):
            session.add(
                Success(
                    team_id=who.id,
                    text=f"success {n}",
                    consent="anonymous",
                    created_on=today - dt.timedelta(days=days_ago),
                    dedupe_key=f"s{n}",
                )
            )
        await session.flush()
        result = await pulse.compute(session, team, today)
        empty = await pulse.compute(session, other, today)
    assert [(u.first_seq, u.last_seq, u.asked, u.answered) for u in result.units] == [
        (1, 1, 5, 3),
        (2, 2, 5, 4),
    ]
    assert result.diagnostic is None
    assert result.latest_round == summary_store.LatestRound(
        seq=3, kind="checkin", asked=5, answered=2
    )
    assert not result.latest_published
    assert shown(result, result.units[-1].key, "vision").respondents == 4
    assert shown(result, result.units[0].key, "vision").counts == (0, 1, 1, 1, 0)
    assert sorted(result.texts) == [("Q1", "round 2 text 2"), ("Q1", "round 2 text 3")]
    assert result.tensions == {"published": {"workload": 2}, "approved": {"other": 1}}
    assert result.successes == 2
    assert result.since == today - dt.timedelta(days=30)
    assert empty.units == () and empty.latest_round is None and empty.texts == ()
    assert empty.tensions == {"published": {"workload": 1}} and empty.successes == 1
    assert empty.disclosure.figures == () and empty.disclosure.withheld == ()
