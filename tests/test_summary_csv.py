"""The coordinator's CSV export (dialogs/summaries/export.py), parsed back with the csv module:
headers, dimensions, groups and statuses in the reader's language, team and date columns,
rounds named as the product names them, UTF-8 with a BOM, `;` and decimal commas for a French
reader, `,` and decimal points for an English one, and nothing of a figure under k."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.outbox_worker import OutboxWorker
from dialogs.content import load_bank
from dialogs.engine import Engine
from dialogs.i18n import Tr
from dialogs.summaries import export
from storage.models import Member
from tests.conftest import Clock, RecordingSender
from tests.helpers import say, seeded
from tests.summary_helpers import answer_round
from tests.test_summary_chart import sample_summary

NBSP = "\u00a0"
FRENCH_HEADER = [
    "Équipe",
    "Bilan",
    "Date",
    "Dimension",
    "Regroupement",
    "Groupe",
    "Personnes",
    "Moyenne (1 à 5)",
    *[f"Réponses «{NBSP}{n}{NBSP}»" for n in range(1, 6)],
    "Statut",
]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'summary-csv.db'}"


def parsed(data: bytes, delimiter: str) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert all(len(row) == len(rows[0]) for row in rows)  # no field split by a decimal comma
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_french_reader_gets_semicolons_commas_and_readable_rounds() -> None:
    days = {("checkin", n): dt.date(2026, 10, 6) + dt.timedelta(weeks=n - 1) for n in range(1, 5)}
    text = export.summary_csv(sample_summary(community=2), Tr("fr"), load_bank(), days)
    data = text.encode("utf-8")
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert header == FRENCH_HEADER
    rows = parsed(data, ";")
    assert {r["Équipe"] for r in rows} == {"Partenariat Rosemont"}
    latest = [r for r in rows if r["Date"] == "2026-10-27"]
    assert {r["Bilan"] for r in latest} == {f"Bilan nᵒ{NBSP}4 — 27 octobre 2026"}
    vision = {
        r["Groupe"]: r for r in latest if r["Dimension"] == "Vision et finalités" and r["Personnes"]
    }
    assert vision["Toutes les personnes"]["Moyenne (1 à 5)"] == "4,00"  # (4+5+4+4 + 4+3) / 6
    assert vision["Toutes les personnes"]["Regroupement"] == "Ensemble"
    assert vision["Toutes les personnes"][f"Réponses «{NBSP}4{NBSP}»"] == "4"
    assert "Réseau public (CIUSSS/CISSS)" not in vision  # its complement has two people
    hidden = [r for r in latest if r["Regroupement"] == "Par secteur"]
    assert hidden and all(r["Statut"].startswith(f"Masqué{NBSP}:") for r in hidden)
    # Nothing of a withheld figure: not its people, mean or answers.
    assert all(r["Personnes"] == r["Moyenne (1 à 5)"] == "" for r in hidden)
    assert not [r for r in hidden if any(r[f"Réponses «{NBSP}{n}{NBSP}»"] for n in range(1, 6))]
    shown = [r for r in rows if r["Statut"] == "Montré"]
    assert shown and all(int(r["Personnes"]) >= 3 for r in shown)
    assert all("," in r["Moyenne (1 à 5)"] and "." not in r["Moyenne (1 à 5)"] for r in shown)
    by_sector = [r for r in shown if r["Regroupement"] == "Par secteur"]
    assert {r["Groupe"] for r in by_sector} == {
        "Réseau public (CIUSSS/CISSS)",
        "Organisme communautaire",
    }


def test_english_reader_gets_commas_and_points() -> None:
    days = {("checkin", 4): dt.date(2026, 11, 3)}
    text = export.summary_csv(sample_summary(), Tr("en"), load_bank(), days)
    rows = parsed(text.encode("utf-8"), ",")
    assert set(rows[0]) >= {"Team", "Check-in", "Date", "Dimension", "Mean (1 to 5)", "Status"}
    latest = [r for r in rows if r["Date"] == "2026-11-03"]
    assert {r["Check-in"] for r in latest} == {"Check-in no. 4 — 3 November 2026"}
    assert {r["Check-in"] for r in rows if not r["Date"]} == {
        f"Check-in no. {n}" for n in (1, 2, 3)
    }
    assert {r["Dimension"] for r in rows} == {
        "Vision and aims",
        "Functions and contributions",
        "Relationship and communication",
        "Powers and resources",
    }
    means = [r["Mean (1 to 5)"] for r in rows if r["Status"] == "Shown"]
    assert "4.25" in means and all("." in m and "," not in m for m in means)


def test_pooled_rounds_are_named_as_the_summary_names_them() -> None:
    summary = sample_summary()
    pooled = summary.units[0].__class__(9, "checkin", 3, 4, 20, 9)
    assert export.round_label(pooled, Tr("fr"), {}) == f"Bilans nᵒˢ{NBSP}3 à 4 regroupés"
    days = {("checkin", 4): dt.date(2026, 11, 3)}
    assert export.round_label(pooled, Tr("en"), days) == (
        "Check-ins no. 3 to 4, pooled — 3 November 2026"
    )


async def test_the_coordinator_exports_in_their_language(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    """Through the engine: `sommaire csv` in French, then `summary csv` once Émilie reads
    English; both parsed back; the demo's small sectors never show (k = 3)."""
    await seeded(engine)
    await answer_round(
        engine, worker, sender, clock, ["camille", "jonathan", "daniel", "sophie", "aisha"]
    )
    await engine.jobs.run("close", "demo")
    card = (await say(engine, "emilie", "sommaire csv"))[0]
    (attachment,) = card.attachments
    assert attachment.media_type == "text/csv" and attachment.filename == "passerelle-demo.csv"
    rows = parsed(base64.b64decode(attachment.data), ";")
    assert {r["Équipe"] for r in rows} == {"Équipe mixte Passerelle (démo)"}
    shown = [r for r in rows if r["Statut"] == "Montré"]
    assert shown and all(int(r["Personnes"]) >= 3 for r in shown)
    assert {r["Regroupement"] for r in shown} == {"Ensemble"}
    # The round opened on the clock's first day (tests/conftest.py: 24 November 2026).
    assert {r["Date"] for r in rows} == {"2026-11-24"}
    assert {r["Bilan"] for r in rows} == {f"Bilan nᵒ{NBSP}1 — 24 novembre 2026"}
    assert "Vision et finalités" in {r["Dimension"] for r in rows}
    assert all("," in r["Moyenne (1 à 5)"] for r in shown)
    async with engine.database.session() as session, session.begin():
        await session.execute(
            update(Member).where(Member.user_ref == "emilie").values(language="en")
        )
    card = (await say(engine, "emilie", "summary csv"))[0]
    rows = parsed(base64.b64decode(card.attachments[0].data), ",")
    shown = [r for r in rows if r["Status"] == "Shown"]
    assert shown and {r["Breakdown"] for r in shown} == {"Everyone"}
    assert all("." in r["Mean (1 to 5)"] for r in shown)
    assert "Vision and aims" in {r["Dimension"] for r in rows}
    assert {r["Check-in"] for r in rows} == {"Check-in no. 1 — 24 November 2026"}

    # `export` alone, as the README says, is the same file; a member is refused.
    (exported,) = await say(engine, "emilie", "export")
    assert exported.attachments[0].data == card.attachments[0].data
    (refusal,) = await say(engine, "camille", "exporter")
    assert not refusal.attachments


def test_a_team_name_never_runs_as_a_formula() -> None:
    summary = sample_summary(team='=HYPERLINK("http://example.test","x")')
    rows = parsed(export.summary_csv(summary, Tr("en"), load_bank()).encode("utf-8"), ",")
    assert {r["Team"] for r in rows} == {'\'=HYPERLINK("http://example.test","x")'}
