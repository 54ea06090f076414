"""Check-in ballots in the sealed inbox, attacked as an operator holding copies would.

Without the key: the live database (every table, the SQLite file and its `-wal`, PostgreSQL's
write-ahead log) holds no ballot value and no open answer of an open round. After the close,
even with the key: no ballot is left, sealed or not; only cells that a summary could show
(0 or at least k respondents each) and the open answers of a published unit. A lost key asks
the authors again; a rotated key still opens what it sealed.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.logs import quiet_drivers
from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card
from dialogs.engine import Engine
from storage.database import Database
from storage.sealing import Sealer
from tests.conftest import Clock, RecordingSender
from tests.helpers import field_names, seeded, submit_card, text_of

DEMO_K = 3


async def fetch(database: Database, sql: str) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        return [dict(r) for r in (await connection.execute(text(sql))).mappings().all()]


async def logical_copy(database: Database) -> str:
    """Every row of every table as text: what `pg_dump` or `VACUUM INTO` would carry."""
    names = [
        r["name"]
        for r in await fetch(
            database,
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
            if database.engine.dialect.name == "postgresql"
            else "SELECT name FROM sqlite_master WHERE type = 'table'",
        )
    ]
    return "\n".join([repr(await fetch(database, f'SELECT * FROM "{n}"')) for n in names])


def checkin_card(sender: RecordingSender, who: str) -> Card:
    return [
        d.card for d in sender.to(who) if d.card.form and d.card.form.action == "checkin.submit"
    ][-1]


async def answer(engine: Engine, sender: RecordingSender, who: str, value: str, note: str) -> None:
    card = checkin_card(sender, who)
    values = {n: value for n in field_names(card) if n.startswith("item:")}
    values["open"] = note
    replies = await submit_card(engine, who, card, values)
    assert replies[0].title in ("Merci\u00a0!", "Thank you!"), text_of(replies)


async def open_round(engine: Engine, worker: OutboxWorker, clock: Clock) -> None:
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    clock.advance(hours=2)  # past Vancouver's quiet hours
    await worker.drain()


# ----------------------------------------------------------------------- reading raw storage


def sqlite_files(database: Database) -> bytes:
    path = Path(database.url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


class WalReader:
    """PostgreSQL's write-ahead log between two moments, read from the server's files (the
    tests run on the database host, as an operator with the data directory would)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.start = ""

    async def lsn(self) -> str:
        [row] = await fetch(self.database, "SELECT pg_current_wal_lsn()::text AS lsn")
        return str(row["lsn"])

    async def mark(self) -> None:
        self.start = await self.lsn()

    async def since_mark(self) -> bytes:
        async with self.database.engine.connect() as connection:
            await connection.execute(text("SELECT pg_switch_wal()"))  # close the segment
            await connection.commit()
            directory = (await connection.execute(text("SHOW data_directory"))).scalar_one()
            first = (
                await connection.execute(text(f"SELECT pg_walfile_name('{self.start}')"))
            ).scalar_one()
            last = (
                await connection.execute(text("SELECT pg_walfile_name(pg_current_wal_lsn())"))
            ).scalar_one()
        wal = Path(directory) / "pg_wal"
        names = sorted(p.name for p in wal.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name))
        return b"".join((wal / n).read_bytes() for n in names if first <= n <= last)


def is_pg(database: Database) -> bool:
    return database.engine.dialect.name == "postgresql"


# ----------------------------------------------------------------------- the attacks


async def test_an_open_round_holds_no_ballot_in_the_clear(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock, database: Database
) -> None:
    wal = WalReader(database)
    if is_pg(database):
        await wal.mark()
    await open_round(engine, worker, clock)
    markers = {who: f"marqueur-{uuid.uuid4().hex}" for who in ("camille", "sophie", "nadia")}
    for who, marker in markers.items():
        await answer(engine, sender, who, "2", marker)
    # The adversary without the key: every table, and the files below them.
    copy = await logical_copy(database)
    raw = (await wal.since_mark()) if is_pg(database) else sqlite_files(database)
    for marker in markers.values():
        assert marker not in copy
        assert marker.encode() not in raw
    sealed = await fetch(database, "SELECT kind, batch, blob FROM sealed")
    assert [r["kind"] for r in sealed] == ["ballot"] * 3
    # One length for every blob: the size of what was written does not show through.
    assert len({len(bytes(r["blob"])) for r in sealed}) == 1
    assert not await fetch(database, "SELECT * FROM open_answers")
    # The reader is able to find what is there: after the close, the published open answers
    # are written in the clear, and the same reading finds them.
    await engine.jobs.run("close", "demo")
    raw = (await wal.since_mark()) if is_pg(database) else sqlite_files(database)
    copy = await logical_copy(database)
    for marker in markers.values():
        assert marker in copy
        if is_pg(database):
            assert marker.encode() in raw


async def test_after_the_close_only_publishable_cells_remain(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock, database: Database
) -> None:
    await open_round(engine, worker, clock)
    for who, value in (("camille", "1"), ("jonathan", "2"), ("daniel", "3"), ("sophie", "5")):
        await answer(engine, sender, who, value, f"Note {who}")
    await engine.jobs.run("close", "demo")
    # Even with the key, nothing is left to open: no sealed ballot, nothing in the intake.
    assert not await fetch(database, "SELECT id FROM sealed WHERE kind = 'ballot'")
    cells = await fetch(database, "SELECT sector, position, respondents FROM unit_cells")
    assert cells
    assert all(c["respondents"] == 0 or c["respondents"] >= DEMO_K for c in cells), cells
    # Three public answers and one community one: the lone community respondent is not kept
    # apart (and so neither is the public side, which would reveal it by subtraction).
    assert {c["sector"] for c in cells} == {None}
    texts = sorted(r["text"] for r in await fetch(database, "SELECT text FROM open_answers"))
    assert texts == sorted(f"Note {w}" for w in ("camille", "jonathan", "daniel", "sophie"))


async def test_a_round_under_k_leaves_nothing_behind(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock, database: Database
) -> None:
    await open_round(engine, worker, clock)
    for who in ("camille", "sophie"):
        await answer(engine, sender, who, "4", f"Seule note de {who}")
    await engine.jobs.run("close", "demo")
    assert not await fetch(database, "SELECT id FROM sealed")
    assert not await fetch(database, "SELECT id FROM unit_cells")
    assert "Seule note" not in await logical_copy(database)  # open answers too: never published


async def test_a_lost_key_asks_the_authors_again(
    database: Database, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    before = Engine(database, clock=clock, sealer=Sealer("a" * 40))
    await open_round(before, worker, clock)
    await answer(before, sender, "camille", "4", "Première réponse")
    await answer(before, sender, "sophie", "4", "Autre réponse")
    # The server restarts with another key (the first one was lost).
    after = Engine(database, clock=clock, sealer=Sealer("b" * 40))
    await answer(after, sender, "nadia", "3", "Sous la nouvelle clé")
    await after.jobs.tick()
    await worker.drain()
    for who in ("camille", "sophie"):
        assert "répondre de nouveau" in text_of([checkin_card(sender, who)]), who
    assert "nadia" not in {d.address for d in sender.deliveries if "de nouveau" in d.card.title}
    statuses = {r["status"] for r in await fetch(database, "SELECT status FROM participation")}
    assert "answered" in statuses  # nadia's stays
    assert len(await fetch(database, "SELECT id FROM sealed")) == 1  # only nadia's is left
    await answer(after, sender, "camille", "5", "Encore")  # asked again: may answer again


async def test_a_rotated_key_still_opens_what_it_sealed(
    database: Database, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    old, new = "o" * 40, "n" * 40
    before = Engine(database, clock=clock, sealer=Sealer(old))
    await open_round(before, worker, clock)
    for who in ("camille", "jonathan"):
        await answer(before, sender, who, "2", f"avant {who}")
    rotated = Engine(database, clock=clock, sealer=Sealer(new, previous=[old]))
    await answer(rotated, sender, "daniel", "2", "après")
    await rotated.jobs.tick()  # nobody is asked again: the old key is still held
    await rotated.jobs.run("close", "demo")
    cells = await fetch(database, "SELECT respondents FROM unit_cells")
    assert sum(c["respondents"] for c in cells) >= 3 * 1  # every dimension counts all three
    texts = {r["text"] for r in await fetch(database, "SELECT text FROM open_answers")}
    assert texts == {"avant camille", "avant jonathan", "après"}


def test_the_sealing_resists_tampering_and_foreign_keys() -> None:
    sealer = Sealer(os.urandom(24).hex())
    blob = sealer.seal("ballot|1|round:2", {"values": [["A1", "vision", 4]]})
    assert sealer.open("ballot|1|round:2", blob) == {"values": [["A1", "vision", 4]]}
    import pytest

    from storage.sealing import SealBroken

    with pytest.raises(SealBroken):  # moved to another round
        sealer.open("ballot|1|round:3", blob)
    with pytest.raises(SealBroken):  # one bit changed
        sealer.open("ballot|1|round:2", blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(SealBroken):  # another server's key
        Sealer(os.urandom(24).hex()).open("ballot|1|round:2", blob)
    # (long needles: two random bytes such as "A1" turn up in 4 KiB of ciphertext by chance)
    marked = sealer.seal("ballot|1|round:2", {"open": ["O1", "une-réponse-reconnaissable"]})
    assert "une-réponse-reconnaissable".encode() not in marked
    assert len(marked) == len(blob)  # padded: a text's length does not show


async def test_the_server_log_names_no_one_and_quotes_nothing(
    engine: Engine,
    worker: OutboxWorker,
    sender: RecordingSender,
    clock: Clock,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await open_round(engine, worker, clock)
    caplog.set_level(logging.DEBUG)  # PASSERELLE_LOG_LEVEL=DEBUG
    logging.getLogger("aiosqlite").setLevel(logging.NOTSET)
    await answer(engine, sender, "camille", "3", "sans protection")
    unprotected = "\n".join(f"{r.getMessage()}" for r in caplog.records)
    if not is_pg(database):  # the attack works on the driver's own DEBUG lines...
        assert "camille" in unprotected
    caplog.clear()
    quiet_drivers()  # ...which `passerelle` keeps at WARNING (bot/logs.py)
    marker = f"marqueur-{uuid.uuid4().hex}"
    await answer(engine, sender, "sophie", "3", marker)
    await engine.jobs.tick()
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert marker not in logged
    assert "sophie" not in logged.lower()


async def test_a_pooled_small_rounds_texts_do_not_stand_apart(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock, database: Database
) -> None:
    """k = 3, pooling on: round 1 has one respondent, round 2 three. The unit's open answers
    are all stored under its last round and day, so the lone first-round text cannot be told
    from the others (and the close's review of open answers covers them all)."""
    await open_round(engine, worker, clock)
    async with database.engine.begin() as connection:
        await connection.execute(
            text("UPDATE teams SET pool_small_rounds = :y, review_open_answers = :y"), {"y": True}
        )
    await answer(engine, sender, "sophie", "2", "seule au premier bilan")
    await engine.jobs.run("close", "demo")
    assert not await fetch(database, "SELECT id FROM open_answers")  # waits, sealed
    clock.advance(hours=1)
    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    for who in ("camille", "jonathan", "daniel"):
        await answer(engine, sender, who, "4", f"au second, {who}")
    await engine.jobs.run("close", "demo")
    await worker.drain()
    [_first, second] = await fetch(database, "SELECT id, opened_on FROM rounds ORDER BY seq")
    texts = await fetch(database, "SELECT round_id, day, status, text FROM open_answers")
    assert len(texts) == 4
    assert {(r["round_id"], str(r["day"])) for r in texts} == {
        (second["id"], str(second["opened_on"]))
    }
    assert {r["status"] for r in texts} == {"pending_review"}
    # The coordinator is asked about every one of them, the first round's included.
    reviews = [d for d in sender.to("emilie") if "seule au premier bilan" in repr(d.card)]
    assert reviews


async def test_ballots_a_lost_key_sealed_are_announced_at_the_close(
    database: Database, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    before = Engine(database, clock=clock, sealer=Sealer("a" * 40))
    await open_round(before, worker, clock)
    for who in ("camille", "jonathan", "daniel"):
        await answer(before, sender, who, "4", f"note {who}")
    after = Engine(database, clock=clock, sealer=Sealer("b" * 40))
    await after.jobs.run("close", "demo")  # closed at once: nobody could be asked again
    await worker.drain()
    notices = [d for d in sender.deliveries if d.kind == "channel" and "ouvert" in d.card.title]
    assert notices and "3" in repr(notices[0].card)
    assert not await fetch(database, "SELECT id FROM open_answers")  # fewer than k read
    assert not await fetch(database, "SELECT id FROM sealed")
