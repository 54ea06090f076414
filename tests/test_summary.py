"""Pulse summaries: delivery to both sectors, pooling, frozen units, export, review, and a
property test over random teams whose membership changes between repeated summaries."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import itertools
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.pool import StaticPool

from dialogs.anonymity import effective_k, recording_scheme
from dialogs.checkins import results
from dialogs.content import DIMENSIONS
from dialogs.summaries import pulse
from storage import ballots, migrate, rounds, summaries, teams
from storage.database import Database
from storage.models import (
    Base,
    Member,
    OpenAnswer,
    OutboxMessage,
    Sealed,
    Success,
    SummaryUnit,
    Tension,
    UnitCell,
)
from storage.sealing import Sealer
from tests.conftest import POSTGRES_ADMIN_URL, _admin, unavailable
from tests.helpers import field_names, say, seeded, submit, submit_card, text_of

READERS = {"nadia", "luc", "emilie"}


async def answer_round(engine, worker, sender, clock, people, value="4"):
    await engine.jobs.run("checkin", "demo")
    clock.advance(hours=2)  # past Vancouver's quiet hours
    await worker.drain()
    for who in people:
        card = [
            d.card for d in sender.to(who) if d.card.form and d.card.form.action == "checkin.submit"
        ][-1]
        values = {n: value for n in field_names(card) if n.startswith("item:")}
        values["open"] = f"Note de {who}"
        replies = await submit_card(engine, who, card, values)
        assert replies[0].title in ("Merci!", "Thank you!"), text_of(replies)


async def sealed_ballot_rounds(session) -> set[int]:
    """Rounds whose check-in ballots still wait sealed (any team)."""
    batches = await session.scalars(select(Sealed.batch).where(Sealed.kind == ballots.BALLOT))
    return {int(b.removeprefix("round:")) for b in batches.all()}


async def stored_respondents(session) -> list[int]:
    """The respondents of every frozen cell at rest (any team)."""
    return list((await session.scalars(select(UnitCell.respondents))).all())


async def set_team(engine, **changes):
    async with engine.database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        for name, value in changes.items():
            setattr(team, name, value)


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    return f"sqlite+aiosqlite:///{tmp_path / 'summary.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def both_databases(request, tmp_path, postgres_ok):
    """A migrated database on SQLite and on PostgreSQL: compute() reads everything through one
    `UNION ALL` statement, whose column types each database resolves in its own way."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'both.db'}"
    else:
        if not postgres_ok:
            unavailable("PostgreSQL is not reachable at " + POSTGRES_ADMIN_URL)
        name = f"passerelle_{uuid.uuid4().hex[:12]}"
        await _admin(f'CREATE DATABASE "{name}"')
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    await migrate.upgrade(db)
    yield db
    await db.dispose()
    if name is not None:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_readers_of_both_sectors_get_it_at_once_in_their_language(
    engine, worker, sender, clock
):
    await seeded(engine)
    await answer_round(
        engine, worker, sender, clock, ["camille", "jonathan", "sophie", "aisha", "luc"]
    )
    await engine.jobs.run("close", "demo")
    async with engine.database.session() as session:
        queued = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.idem_key.startswith("summary:"))
            )
        ).all()
    assert {m.address for m in queued} == READERS
    assert len({m.not_before for m in queued}) == 1  # the same moment for everyone
    await worker.drain()
    cards = {who: sender.to(who)[-1].card for who in READERS}
    assert cards["nadia"].title.startswith("Sommaire") and cards["luc"].title.startswith("Sommaire")
    png = base64.b64decode(cards["nadia"].attachments[0].data)
    assert png.startswith(b"\x89PNG") and cards["nadia"].attachments[0].description
    assert [b.label for b in cards["emilie"].buttons] == ["Exporter en CSV"]
    assert not cards["nadia"].buttons  # the export is the coordinator's
    assert not [d for d in sender.to("camille") if d.card.title.startswith("Sommaire")]
    body = text_of([cards["luc"]])
    assert "5 réponse(s) sur 9" in body and "moyenne 4,0" in body and "pas l’évaluation" in body


async def test_small_round_is_hidden_or_pooled(engine, worker, sender, clock):
    await seeded(engine)
    await set_team(engine, k=5)
    await answer_round(engine, worker, sender, clock, ["camille", "sophie", "luc"])
    await engine.jobs.run("close", "demo")
    first = text_of(await say(engine, "nadia", "sommaire"))
    assert "Pas encore assez" in first and "moyenne" not in first
    await set_team(engine, pool_small_rounds=True)
    clock.advance(days=14)
    await answer_round(engine, worker, sender, clock, ["jonathan", "aisha", "daniel"], value="2")
    await engine.jobs.run("close", "demo")
    pooled = text_of(await say(engine, "nadia", "sommaire"))
    assert "bilans nᵒˢ 1 à 2 regroupés" in pooled and "6 réponse(s) sur 18" in pooled


async def test_published_units_are_frozen(engine, worker, sender, clock):
    """Changing k or pooling later never re-cuts what was already shown."""
    await seeded(engine)
    await answer_round(engine, worker, sender, clock, ["camille", "sophie", "luc"])
    await engine.jobs.run("close", "demo")
    assert "bilan nᵒ 1 :" in text_of(await say(engine, "nadia", "sommaire"))
    await set_team(engine, k=5, pool_small_rounds=True)
    clock.advance(days=14)
    await answer_round(engine, worker, sender, clock, ["jonathan", "aisha"])
    await engine.jobs.run("close", "demo")
    later = text_of(await say(engine, "nadia", "sommaire"))
    assert "regroupés" not in later and "sera regroupé avec le suivant" in later


async def test_csv_export_holds_only_published_figures(engine, worker, sender, clock):
    await seeded(engine)
    await answer_round(
        engine, worker, sender, clock, ["camille", "jonathan", "daniel", "sophie", "aisha"]
    )
    await engine.jobs.run("close", "demo")
    assert "coordination" in text_of(await say(engine, "nadia", "summary csv"))
    card = (await say(engine, "emilie", "sommaire csv"))[0]
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(card.attachments[0].data).decode())))
    shown = [r for r in rows if r["status"] == "shown"]
    assert shown and all(int(r["respondents"]) >= 3 for r in shown)
    # Three public and two community answers: the sector split would expose the two. Positions
    # are not recorded at all in the demo team: (public, no position) would hold only two people.
    assert {r["breakdown"] for r in shown} == {"all"}
    # Both sectors would be withheld (two community answers; public by complement), so the
    # frozen cells do not keep them apart at all: no row even names a sector.
    assert not [r for r in rows if r["breakdown"] == "sector"]
    assert all(r["mean"] == "" for r in rows if r["status"] != "shown")


async def test_open_answers_wait_for_review_when_asked(engine, worker, sender, clock):
    await seeded(engine)
    await set_team(engine, review_open_answers=True)
    await answer_round(engine, worker, sender, clock, ["camille", "jonathan", "sophie"])
    await engine.jobs.run("close", "demo")
    await worker.drain()
    assert "Note de" not in text_of(await say(engine, "nadia", "sommaire"))
    reviews = [d.card for d in sender.to("emilie") if d.card.title == "Réponse ouverte à relire"]
    assert len(reviews) == 3
    approve = reviews[0].buttons[0]
    assert "coordination" in text_of(await submit(engine, "nadia", approve.action, approve.context))
    await submit(engine, "emilie", approve.action, approve.context)
    hide = reviews[1].buttons[1]
    await submit(engine, "emilie", hide.action, hide.context)
    assert "déjà été relue" in text_of(await submit(engine, "emilie", hide.action, hide.context))
    shown = text_of(await say(engine, "nadia", "sommaire"))
    assert shown.count("Note de") == 1


async def test_monthly_summary_is_sent_once(engine, worker, sender, clock):
    await seeded(engine)
    fire = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
    clock.now = fire
    first = await engine.jobs.run("summary", "demo", forced=False, fire_time=fire)
    second = await engine.jobs.run("summary", "demo", forced=False, fire_time=fire)
    assert (first.count, second.count) == (3, 0)


# --------------------------------------------------------------------------- property
PEOPLE = 14
SEGMENTS = list(
    itertools.product(("public", "community", "other", None), ("front_line", "manager", None))
)


@st.composite
def histories(draw):
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
    plan = []
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
def test_repeated_summaries_never_isolate_fewer_than_k(history):
    import asyncio

    asyncio.run(_replay(*history))


async def _replay(k, pooling, segments, plan):
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
        who_answered: dict[int, dict[int, tuple]] = {}
        round_of_seq: dict[int, int] = {}
        for seq, (active, moved, answers) in enumerate(plan, start=1):
            for p, segment in moved.items():
                members[p].sector, members[p].position = segment
            for p, member in enumerate(members):
                member.active = p in active
            await session.flush()
            round_ = await rounds.open_round(
                session,
                team_id=team.id,
                occurrence=str(seq),
                kind="checkin",
                items=items,
                open_question_id=None,
                opened_at=now,
                opened_on=now.date(),
                remind_at=now,
                closes_at=now,
                member_ids=[members[p].id for p in sorted(active)],
            )
            assert round_ is not None
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
            frozen_up_to = await summaries.last_frozen_seq(session, team.id, "checkin")
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


async def test_pooled_units_never_take_the_other_kinds_rounds(both_databases):
    """Check-in rounds 1 and 3 pool together across diagnostic round 2, and keep to their kind."""
    database = both_databases
    sealer = Sealer.ephemeral()
    now = dt.datetime(2026, 1, 6, 15, tzinfo=dt.UTC)
    async with database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug="t", name="T", now=now, k=3, pool_small_rounds=True
        )
        people = []
        for p in range(6):
            member = Member(
                team_id=team.id, platform="sandbox", workspace="", user_ref=f"p{p}", active=True
            )
            session.add(member)
            people.append(member)
        await session.flush()
        plan = [
            ("checkin", ["V1"], ["vision"], 2),
            ("diagnostic", ["C1a"], ["diagnostic:inclusion"], 5),
            ("checkin", ["V1"], ["vision"], 2),
        ]
        round_ids: list[int] = []
        for seq, (kind, items, dims, answering) in enumerate(plan, start=1):
            round_ = await rounds.open_round(
                session,
                team_id=team.id,
                occurrence=str(seq),
                kind=kind,
                items=items,
                open_question_id=None,
                opened_at=now,
                opened_on=now.date(),
                remind_at=now,
                closes_at=now,
                member_ids=[m.id for m in people],
            )
            assert round_ is not None
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
    assert result.disclosure.get(checkin.key, "vision").respondents == 4
    assert result.disclosure.get(result.diagnostic.key, "diagnostic:inclusion").respondents == 5


async def test_a_chart_is_drawn_once_per_team_units_and_language(engine, worker, sender, clock):
    from dialogs.i18n import Tr
    from dialogs.summaries import charts

    await seeded(engine)
    await answer_round(engine, worker, sender, clock, ["camille", "jonathan", "sophie"])
    await engine.jobs.run("close", "demo")
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, "demo")
        computed = await pulse.compute(session, team, clock.now.date())
    first = charts.cached_chart(computed, Tr("fr"))
    assert charts.cached_chart(computed, Tr("fr")) is first  # served from the cache
    english = charts.cached_chart(computed, Tr("en"))
    assert english is not first and english.startswith(b"\x89PNG")


async def test_one_statement_reads_all_a_summary_shows(both_databases):
    """Units and their cells, the latest closed round, the last 30 days' tensions and successes,
    and the latest unit's visible open answers: all from compute()'s one statement, on both
    databases; nothing of another team, of an older unit, under review or hidden."""
    database = both_databases
    now = dt.datetime(2026, 3, 3, 15, tzinfo=dt.UTC)
    today = now.date()
    sealer = Sealer.ephemeral()
    async with database.session() as session, session.begin():
        team = await teams.create_team(session, slug="t", name="T", now=now, k=3)
        other = await teams.create_team(session, slug="o", name="O", now=now, k=3)
        people = []
        for p in range(5):
            member = Member(
                team_id=team.id, platform="sandbox", workspace="", user_ref=f"p{p}", active=True
            )
            session.add(member)
            people.append(member)
        await session.flush()
        round_ids = []
        for seq, answering in enumerate((3, 4, 2), start=1):  # round 3 stays under k
            round_ = await rounds.open_round(
                session,
                team_id=team.id,
                occurrence=str(seq),
                kind="checkin",
                items=["V1"],
                open_question_id="Q1",
                opened_at=now,
                opened_on=today,
                remind_at=now,
                closes_at=now,
                member_ids=[m.id for m in people],
            )
            assert round_ is not None
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
    assert result.latest_round == summaries.LatestRound(seq=3, kind="checkin", asked=5, answered=2)
    assert not result.latest_published
    assert result.disclosure.get(result.units[-1].key, "vision").respondents == 4
    assert result.disclosure.get(result.units[0].key, "vision").counts == (0, 1, 1, 1, 0)
    assert sorted(result.texts) == [("Q1", "round 2 text 2"), ("Q1", "round 2 text 3")]
    assert result.tensions == {"published": {"workload": 2}, "approved": {"other": 1}}
    assert result.successes == 2
    assert result.since == today - dt.timedelta(days=30)
    assert empty.units == () and empty.latest_round is None and empty.texts == ()
    assert empty.tensions == {"published": {"workload": 1}} and empty.successes == 1
    assert empty.disclosure.figures == () and empty.disclosure.withheld == ()
