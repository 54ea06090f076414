"""Pulse summaries: delivery to both sectors, pooling, frozen units, export, review, charts (on
SQLite). The property test over random teams: tests/test_summary_property.py; the units and
the summary's one statement on both databases: tests/test_summary_units.py."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.outbox_worker import OutboxWorker
from dialogs.engine import Engine
from dialogs.summaries import pulse
from storage import teams
from storage.models import (
    OutboxMessage,
)
from tests.conftest import Clock, RecordingSender
from tests.helpers import say, seeded, submit, text_of
from tests.summary_helpers import answer_round, set_team

READERS = {"nadia", "luc", "emilie"}


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'summary.db'}"


async def test_readers_of_both_sectors_get_it_at_once_in_their_language(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
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
    assert "5 personnes sur 9 ont répondu" in body and "pas l’évaluation" in body
    assert "Vision et finalités — 4,0 · " in body  # every answer was 4: a mean of 4,0


async def test_small_round_is_hidden_or_pooled(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    await set_team(engine, k=5)
    await answer_round(engine, worker, sender, clock, ["camille", "sophie", "luc"])
    await engine.jobs.run("close", "demo")
    first = text_of(await say(engine, "nadia", "sommaire"))
    assert "Pas encore assez" in first and "Moyenne sur 5" not in first  # no table of means
    await set_team(engine, pool_small_rounds=True)
    clock.advance(days=14)
    await answer_round(engine, worker, sender, clock, ["jonathan", "aisha", "daniel"], value="2")
    await engine.jobs.run("close", "demo")
    pooled = text_of(await say(engine, "nadia", "sommaire"))
    assert "bilans nᵒˢ\u00a01 à 2 regroupés" in pooled
    assert "6 réponses pour 18 invitations" in pooled  # answers, not people, when pooled


async def test_published_units_are_frozen(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    """Changing k or pooling later never re-cuts what was already shown."""
    await seeded(engine)
    await answer_round(engine, worker, sender, clock, ["camille", "sophie", "luc"])
    await engine.jobs.run("close", "demo")
    assert "Résultats du bilan nᵒ\u00a01" in text_of(await say(engine, "nadia", "sommaire"))
    await set_team(engine, k=5, pool_small_rounds=True)
    clock.advance(days=14)
    await answer_round(engine, worker, sender, clock, ["jonathan", "aisha"])
    await engine.jobs.run("close", "demo")
    later = text_of(await say(engine, "nadia", "sommaire"))
    assert "regroupés" not in later and "sera regroupé avec le suivant" in later


async def test_csv_export_holds_only_published_figures(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    await answer_round(
        engine, worker, sender, clock, ["camille", "jonathan", "daniel", "sophie", "aisha"]
    )
    await engine.jobs.run("close", "demo")
    assert "coordination" in text_of(await say(engine, "nadia", "summary csv"))
    card = (await say(engine, "emilie", "sommaire csv"))[0]
    # A French reader's CSV: UTF-8 with a BOM, `;` between fields (tests/test_summary_csv.py).
    text = base64.b64decode(card.attachments[0].data).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    shown = [r for r in rows if r["Statut"] == "Montré"]
    assert shown and all(int(r["Personnes"]) >= 3 for r in shown)
    # Three public and two community answers: the sector split would expose the two. Positions
    # are not recorded at all in the demo team: (public, no position) would hold only two people.
    assert {r["Regroupement"] for r in shown} == {"Ensemble"}
    # Both sectors would be withheld (two community answers; public by complement), so the
    # frozen cells do not keep them apart at all: no row even names a sector.
    assert not [r for r in rows if r["Regroupement"] == "Par secteur"]
    assert all(r["Moyenne (1 à 5)"] == "" for r in rows if r["Statut"] != "Montré")


async def test_open_answers_wait_for_review_when_asked(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
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


async def test_monthly_summary_is_sent_once(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    fire = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
    clock.now = fire
    first = await engine.jobs.run("summary", "demo", forced=False, fire_time=fire)
    second = await engine.jobs.run("summary", "demo", forced=False, fire_time=fire)
    assert (first.count, second.count) == (3, 0)


async def test_a_chart_is_drawn_once_per_team_units_and_language(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    from dialogs.i18n import Tr
    from dialogs.summaries import charts

    await seeded(engine)
    await answer_round(engine, worker, sender, clock, ["camille", "jonathan", "sophie"])
    await engine.jobs.run("close", "demo")
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        computed = await pulse.compute(session, team, clock.now.date())
    first = charts.cached_chart(computed, Tr("fr"))
    assert charts.cached_chart(computed, Tr("fr")) is first  # served from the cache
    english = charts.cached_chart(computed, Tr("en"))
    assert english is not first and english.startswith(b"\x89PNG")
