"""A property test over random teams whose membership changes between repeated summaries: no
summary, alone or with the ones before it, isolates fewer than k members."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import StaticPool

from dialogs.anonymity import effective_k, recording_scheme
from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import results
from dialogs.checkins import round_store as rounds
from dialogs.content import DIMENSIONS
from dialogs.summaries import pulse
from storage import summary_units, teams
from storage.database import Database
from storage.models import (
    Base,
    Member,
)
from storage.sealing import Sealer
from tests.summary_helpers import open_round_now, sealed_ballot_rounds, stored_respondents

# --------------------------------------------------------------------------- property
PEOPLE = 14

SEGMENTS = list(
    itertools.product(("public", "community", "other", None), ("front_line", "manager", None))
)


Segment = tuple[str | None, str | None]  # (sector, position)
# A round: who is active, who moved to which segment, who answered what (None: skipped).
Step = tuple[set[int], dict[int, Segment], dict[int, list[int | None]]]
History = tuple[int, bool, list[Segment], list[Step]]


@st.composite
def histories(draw: st.DrawFn) -> History:
    """A team whose members answer, change segment or come and go over a few rounds."""
    k = draw(st.integers(3, 6))
    pooling = draw(st.booleans())
    # Mostly the four common segments, sometimes any: realistic teams, with rare outliers.
    common = st.sampled_from(
        [
            ("public", "front_line"),
            ("community", "front_line"),
            ("public", "manager"),
            ("community", "manager"),
        ]
    )
    segments = [draw(common | st.sampled_from(SEGMENTS)) for _ in range(PEOPLE)]
    plan: list[Step] = []
    for _ in range(draw(st.integers(1, 4))):
        active = draw(st.sets(st.integers(0, PEOPLE - 1), min_size=3, max_size=PEOPLE))
        moved = {
            p: draw(common | st.sampled_from(SEGMENTS))
            for p in draw(st.sets(st.integers(0, PEOPLE - 1), max_size=3))
        }
        answers = {
            p: [draw(st.sampled_from([1, 2, 3, 4, 5, None])) for _ in range(5)]
            for p in draw(
                st.sets(
                    st.sampled_from(sorted(active)), min_size=len(active) // 2, max_size=len(active)
                )
            )
        }
        plan.append((active, moved, answers))
    return k, pooling, segments, plan


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_repeated_summaries_never_isolate_fewer_than_k(history: History) -> None:
    import asyncio

    asyncio.run(replay(*history))


async def replay(k: int, pooling: bool, segments: list[Segment], plan: list[Step]) -> None:
    database = Database("sqlite+aiosqlite://", poolclass=StaticPool)
    sealer = Sealer.ephemeral()
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    now = dt.datetime(2026, 1, 6, 15, tzinfo=dt.UTC)
    items = ["V1", "F1", "R1", "P1", "V2"]
    dims = ["vision", "roles", "relation", "power", "vision"]
    published = []  # (dimension, breakdown, segment, frozenset of (round, person))
    async with database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug="t", name="T", now=now, k=k, pool_small_rounds=pooling
        )
        members = []
        for p in range(PEOPLE):
            member = Member(
                team_id=team.id,
                platform="sandbox",
                workspace="",
                user_ref=f"p{p}",
                sector=segments[p][0],
                position=segments[p][1],
                active=True,
            )
            session.add(member)
            members.append(member)
        await session.flush()
        who_answered: dict[int, dict[int, tuple[str | None, str | None, list[int | None]]]] = {}
        round_of_seq: dict[int, int] = {}
        for seq, (active, moved, answers) in enumerate(plan, start=1):
            for p, segment in moved.items():
                members[p].sector, members[p].position = segment
            for p, member in enumerate(members):
                member.active = p in active
            await session.flush()
            member_ids = [members[p].id for p in sorted(active)]
            round_ = await open_round_now(session, team.id, seq, now, member_ids, items=items)
            scheme = recording_scheme(await teams.group_sizes(session, team.id), k)
            who_answered[round_.id] = {}
            round_of_seq[round_.seq] = round_.id
            for p, values in answers.items():
                sector, position = scheme.apply(members[p].sector, members[p].position)
                who_answered[round_.id][p] = (sector, position, values)
                await ballots.record_ballot(
                    session,
                    sealer,
                    round_=round_,
                    member_id=members[p].id,
                    values=[
                        rounds.ItemValue(i, d, v)
                        for i, d, v in zip(items, dims, values, strict=True)
                    ],
                    sector=sector,
                    position=position,
                    open_text=None,
                )
            await rounds.close_round(session, round_)
            await results.freeze_new_units(session, sealer, team)
            # At rest: no frozen cell holds a group smaller than k, and the only ballots still
            # sealed are those of closed rounds waiting to be pooled.
            assert all(n == 0 or n >= effective_k(k) for n in await stored_respondents(session))
            frozen_up_to = await summary_units.last_frozen_seq(session, team.id, "checkin")
            waiting = {
                round_of_seq[s]
                for s in range(frozen_up_to + 1, seq + 1)
                if pooling and who_answered[round_of_seq[s]]
            }
            assert await sealed_ballot_rounds(session) == waiting
            # A summary after every round: figures accumulate across repeated summaries.
            result = await pulse.compute(session, team, now.date())
            units = {u.key: u for u in result.units}
            for figure in result.disclosure.figures:
                # Who the figure covers, from what each person gave (the stored cells are
                # generalised, so their groups no longer name every recorded segment).
                people = frozenset(
                    (round_id, p)
                    for seq in range(units[figure.unit].first_seq, units[figure.unit].last_seq + 1)
                    for round_id in [round_of_seq[seq]]
                    for p, (sector, position, values) in who_answered[round_id].items()
                    if figure.segment
                    == {"all": figure.segment, "sector": sector, "position": position}[
                        figure.breakdown
                    ]
                    and any(
                        v is not None
                        for v, d in zip(values, dims, strict=True)
                        if d == figure.dimension
                    )
                )
                assert len(people) == figure.respondents >= max(3, k)
                published.append((figure.dimension, people))
    await database.dispose()
    event(f"published figures: {'none' if not published else 'some'}")
    for (dim_a, a), (dim_b, b) in itertools.permutations(set(published), 2):
        if dim_a == dim_b and a < b:
            assert len(b - a) >= max(3, k), "a difference of two summaries isolates a small group"
    assert all(d in DIMENSIONS for d, _ in published)
