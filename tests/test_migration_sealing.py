"""Migration 0005 on a database written before the sealed inbox: what was in the clear is
sealed (rounds not yet published), aggregated (frozen units keep generalised cells only) or
deleted (raw answers, texts of rounds never published)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.outbox_worker import OutboxWorker
from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import results
from dialogs.engine import Engine
from storage import migrate, sealed, teams
from storage.database import Database
from storage.sealing import Sealer
from tests.conftest import Clock, RecordingSender
from tests.helpers import field_names, seeded, submit_card


async def fetch(database: Database, sql: str) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        return [dict(r) for r in (await connection.execute(text(sql))).mappings().all()]


async def downgrade(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def legacy_database(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock, database: Database
) -> dict[str, int]:
    """A frozen round and an open one, then the schema as it was (0004) with the old rows."""
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    clock.advance(hours=2)
    await worker.drain()
    for who in ("camille", "jonathan", "daniel", "sophie"):
        card = [d.card for d in sender.to(who) if d.card.form][-1]
        values = {n: "4" for n in field_names(card) if n.startswith("item:")}
        await submit_card(engine, who, card, values)
    await engine.jobs.run("close", "demo")
    clock.advance(hours=1)
    await engine.jobs.run("checkin", "demo")
    [frozen, open_] = [r["id"] for r in await fetch(database, "SELECT id FROM rounds ORDER BY seq")]
    [unit] = [r["id"] for r in await fetch(database, "SELECT id FROM summary_units")]
    await downgrade(database, "0004")
    async with database.engine.begin() as connection:
        rows = [
            # A frozen round's raw answers, as the old close left them (reshuffled, kept).
            (frozen, "b1", "A1", "vision", 4, "public", None),
            # The open round: two ballots in the clear, one carrying the lone community member.
            (open_, "b2", "A1", "vision", 2, "public", None),
            (open_, "b2", "B1", "functions", None, "public", None),
            (open_, "b3", "A1", "vision", 5, "community", None),
        ]
        for i, (round_id, ballot, item, dimension, value, sector, position) in enumerate(rows):
            await connection.execute(
                text(
                    "INSERT INTO answers (id, round_id, ballot, item_id, dimension, value, sector,"
                    " position, day) VALUES (:id, :r, :b, :i, :d, :v, :s, :p, '2026-11-24')"
                ),
                {
                    "id": f"old{i}",
                    "r": round_id,
                    "b": ballot,
                    "i": item,
                    "d": dimension,
                    "v": value,
                    "s": sector,
                    "p": position,
                },
            )
        for round_id, words in ((frozen, "texte publié"), (open_, "texte en cours")):
            await connection.execute(
                text(
                    "INSERT INTO open_answers (id, round_id, question_id, text, status, day) "
                    "VALUES (:id, :r, 'O1', :t, 'visible', '2026-11-24')"
                ),
                {"id": f"txt{round_id}", "r": round_id, "t": words},
            )
        # A cell the old freeze kept although no summary would show it (one respondent).
        await connection.execute(
            text(
                "INSERT INTO unit_cells (unit_id, dimension, sector, position, respondents,"
                " answers, total, count_1, count_2, count_3, count_4, count_5)"
                " VALUES (:u, 'vision', 'community', NULL, 1, 1, 4, 0, 0, 0, 1, 0)"
            ),
            {"u": unit},
        )
        await legacy_texts(connection)
    return {"frozen": frozen, "open": open_, "unit": unit}


async def legacy_texts(connection: AsyncConnection) -> None:
    """Tensions and successes as the old code stored them, and a pre-reflection waiting for
    its meeting."""
    for i, (status, words) in enumerate(
        (
            ("approved", "en attente du lot"),
            ("pending_review", "en revue"),
            ("published", "publiée"),
        )
    ):
        await connection.execute(
            text(
                "INSERT INTO tensions (id, team_id, text, theme, prompt_id, status, created_on,"
                " published_on, followup_hash, dedupe_key) VALUES (:id, 1, :w, 'roles', NULL,"
                " :s, '2026-11-24', NULL, :f, :d)"
            ),
            {"id": f"t{i}", "w": words, "s": status, "f": f"hash{i}", "d": f"key{i}"},
        )
    for i, (consent, status, words) in enumerate(
        (
            ("anonymous", "pending", "succès anonyme"),
            ("summary_only", "kept", "succès compté"),
            ("summary_only", "kept", "autre succès compté"),
            ("named", "published", "succès signé"),
        )
    ):
        await connection.execute(
            text(
                "INSERT INTO successes (id, team_id, text, consent, author_name, prompt_id,"
                " status, created_on, dedupe_key) VALUES (:id, 1, :w, :c, NULL, NULL, :s,"
                " '2026-11-24', :d)"
            ),
            {"id": f"s{i}", "w": words, "c": consent, "s": status, "d": f"skey{i}"},
        )
    await connection.execute(
        text(
            "INSERT INTO reflexive_schedules (id, team_id, prompt_id, custom_text, first_local,"
            " recurrence, lead_hours, channel_id, active, dedupe_key) VALUES (50, 1, 'X1', NULL,"
            " '2026-12-03 13:30:00', 'once', 24, NULL, :t, 'rkey')"
        ),
        {"t": True},
    )
    await connection.execute(
        text(
            "INSERT INTO reflexive_occurrences (id, schedule_id, occurs_at, invited, posted)"
            " VALUES (60, 50, '2026-12-03 18:30:00', :t, :f)"
        ),
        {"t": True, "f": False},
    )
    await connection.execute(
        text(
            "INSERT INTO pre_reflections (id, occurrence_id, text, day, dedupe_key)"
            " VALUES ('p1', 60, 'note-avant-réunion-q7', '2026-12-03', 'pkey')"
        )
    )


async def test_an_old_database_is_sealed_aggregated_and_rewritten(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock, database: Database
) -> None:
    ids = await legacy_database(engine, worker, sender, clock, database)
    with pytest.raises(RuntimeError, match="sealing key"):
        await migrate.upgrade(database)  # ballots to seal, and no key given
    sealer = Sealer("m" * 40)
    await migrate.upgrade(database, sealer=sealer)
    tables = {r["name"] for r in await fetch(database, _TABLES[database.engine.dialect.name])}
    assert "answers" not in tables
    async with database.session() as session:
        opened, unopenable = await ballots.open_ballots(session, sealer, 1, [ids["open"]])
    assert unopenable == 0
    values = sorted(
        (
            (
                b.sector or "",
                tuple(sorted(((v.item_id, v.dimension, v.value) for v in b.values), key=repr)),
                b.open_answer,
            )
            for b in opened
        ),
        key=repr,
    )
    assert values == sorted(
        [
            ("public", (("A1", "vision", 2), ("B1", "functions", None)), None),
            ("community", (("A1", "vision", 5),), None),
            ("", (), ("O1", "texte en cours")),
        ],
        key=repr,
    )
    # Texts: the published unit's stays; the open round's is now sealed, not in the clear.
    assert [r["text"] for r in await fetch(database, "SELECT text FROM open_answers")] == [
        "texte publié"
    ]
    # Waiting texts are sealed for their batch; summary-only successes are only counted.
    async with database.session() as session:
        for kind, batch, expected in (
            ("tension", "week", ["en attente du lot"]),
            ("tension", "review", ["en revue"]),
            ("success", "week", ["succès anonyme"]),
            ("pre_reflection", "occurrence:60", ["note-avant-réunion-q7"]),
        ):
            batch_opened = await sealed.open_batch(
                session, sealer, team_id=1, kind=kind, batches=[batch]
            )
            assert [p["text"] for p in batch_opened.payloads] == expected, kind
    assert [r["text"] for r in await fetch(database, "SELECT text FROM tensions")] == ["publiée"]
    assert [r["text"] for r in await fetch(database, "SELECT text FROM successes")] == [
        "succès signé"
    ]
    assert [r["count"] for r in await fetch(database, "SELECT count FROM success_tallies")] == [2]
    assert "pre_reflections" not in tables
    copy = repr(
        [
            await fetch(database, f'SELECT * FROM "{t}"')
            for t in sorted(tables - {"answers", "pre_reflections"})
        ]
    )
    for words in (
        "en attente du lot",
        "en revue",
        "succès anonyme",
        "compté",
        "note-avant-réunion-q7",
    ):
        assert words not in copy
    # The old unit's cells follow the summary's rule once generalised.
    async with database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        assert await results.generalise_stored(session, team) == 1
        assert await results.generalise_stored(session, team) == 0  # idempotent
    cells = await fetch(database, "SELECT sector, respondents FROM unit_cells")
    assert all(c["respondents"] == 0 or c["respondents"] >= 3 for c in cells), cells
    assert "community" not in {c["sector"] for c in cells}


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
}
