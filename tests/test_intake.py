"""The intake (storage/intake.py, adapters/intake.py): committed before the ack, claimed once,
consumed with the recording, kept through failures, unreadable in the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.intake import GroupCommit, IntakeUnavailable, IntakeWorker
from dialogs.administration import team_forms as team_admin
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from dialogs.i18n import Tr
from storage import intake, teams
from storage.database import Database
from storage.models import Intake
from storage.sealing import SealBroken, Sealer

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=10)
SECRET_TEXT = "Les décisions arrivent sans nous, encore"
USER = "U0SECRETUSER"


async def put(database: Database, sealer: Sealer, n: int, platform: str = "slack") -> list[str]:
    rows = [intake.sealed_row(sealer, platform, {"n": i, "user": USER}) for i in range(n)]
    async with database.session() as session, session.begin():
        await intake.put(session, rows)
    return [str(r["id"]) for r in rows]


async def claim(
    database: Database, now: dt.datetime = NOW, limit: int = 100, **options: Any
) -> list[intake.Claimed]:
    async with database.session() as session, session.begin():
        return await intake.claim(session, now=now, lease=LEASE, limit=limit, **options)


async def stored(database: Database) -> dict[str, Intake]:
    async with database.session() as session:
        return {r.id: r for r in (await session.scalars(select(Intake))).all()}


async def test_a_row_is_claimed_once_until_its_lease_runs_out(database: Database) -> None:
    sealer = Sealer.ephemeral()
    ids = await put(database, sealer, 6)
    first = await claim(database, limit=4)
    second = await claim(database)  # another worker, a moment later
    assert len(first) == 4 and len(second) == 2
    assert {r.id for r in first} | {r.id for r in second} == set(ids)
    assert await claim(database, NOW + LEASE - dt.timedelta(seconds=1)) == []  # all leased
    again = await claim(database, NOW + LEASE + dt.timedelta(seconds=1))  # their worker died
    assert {r.id for r in again} == set(ids)
    assert [r.open(sealer)["user"] for r in again] == [USER] * 6


async def test_concurrent_claims_take_disjoint_rows(database: Database) -> None:
    """Two workers claiming at the same moment (PostgreSQL: both transactions open at once,
    SKIP LOCKED; SQLite: one after the other under the write lock) never share a row."""
    ids = await put(database, Sealer.ephemeral(), 40)
    results = await asyncio.gather(*(claim(database, limit=15) for _ in range(4)))
    taken = [r.id for found in results for r in found]
    assert len(taken) == len(set(taken)) == 40
    assert set(taken) == set(ids)


async def test_claims_keep_to_their_platforms(database: Database) -> None:
    sealer = Sealer.ephemeral()
    await put(database, sealer, 2, "slack")
    await put(database, sealer, 1, "teams")
    assert {r.platform for r in await claim(database, platforms=["teams"])} == {"teams"}
    # A blob moved to another platform's row does not open: the platform is in its seal.
    (row,) = await claim(database, platforms=["slack"], limit=1)
    with pytest.raises(SealBroken):
        sealer.open(intake.purpose("teams"), row.blob)


async def test_a_failure_keeps_the_row_and_backs_off(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    (row_id,) = await put(database, Sealer.ephemeral(), 1)
    now = NOW
    for attempt in range(1, intake.MAX_ATTEMPTS + 2):
        (row,) = await claim(database, now)
        async with database.session() as session, session.begin():
            assert await intake.release(session, row, now=now)
        kept = (await stored(database))[row_id]
        assert kept.attempts == attempt
        assert kept.lease_until == now + intake.backoff(attempt)
        assert await claim(database, now + intake.backoff(attempt) - dt.timedelta(seconds=1)) == []
        now += intake.backoff(attempt) + dt.timedelta(seconds=1)
    assert intake.backoff(intake.MAX_ATTEMPTS) == dt.timedelta(hours=1)
    stuck = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(stuck) == 2  # at MAX_ATTEMPTS and after: said, never dropped
    assert all(USER not in r.getMessage() and row_id not in r.getMessage() for r in stuck)
    assert row_id in await stored(database)


async def test_a_release_by_a_worker_that_lost_its_lease_changes_nothing(
    database: Database,
) -> None:
    await put(database, Sealer.ephemeral(), 1)
    (late,) = await claim(database)
    (taken,) = await claim(database, NOW + LEASE * 2)  # the lease ran out; another took it
    async with database.session() as session, session.begin():
        assert not await intake.release(session, late, now=NOW + LEASE * 2)
    assert (await stored(database))[taken.id].attempts == 0


# ------------------------------------------------------------------ consumed by the engine
async def engine_with_team(database: Database) -> Engine:
    engine = Engine(database, clock=lambda: NOW)
    async with database.session() as session, session.begin():
        await teams.create_team(session, slug="est", name="Est", now=NOW, language="fr")
    return engine


async def test_the_engine_consumes_the_row_in_its_own_transaction(database: Database) -> None:
    engine = await engine_with_team(database)
    (row_id,) = await put(database, engine.sealer, 1)
    actor = Actor("slack", "T0", "U0ANNE", locale="fr-CA")
    place = Place("slack", "T0", "C0NEW", "nouveau")
    event = CommandReceived(actor, "help", place)
    cards = await engine.handle(event, intake_id=row_id)
    assert cards and row_id not in await stored(database)
    with pytest.raises(intake.AlreadyConsumed):  # a second worker with the same row
        await engine.handle(event, intake_id=row_id)


async def test_a_failing_engine_keeps_the_row(database: Database) -> None:
    engine = await engine_with_team(database)
    (row_id,) = await put(database, engine.sealer, 1)

    async def broken(turn: Any, event: Any) -> Any:
        raise RuntimeError("a bug")

    engine._dispatch = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):  # raised to the worker, not answered with a card
        await engine.handle(
            CommandReceived(Actor("slack", "T0", "U0ANNE"), "help"), intake_id=row_id
        )
    assert row_id in await stored(database)
    # Without an intake id the engine still answers with its error card, as before.
    (card,) = await engine.handle(CommandReceived(Actor("slack", "T0", "U0ANNE"), "help"))
    assert card.title


async def test_what_the_engine_writes_is_undone_when_the_row_was_consumed(
    database: Database,
) -> None:
    """Two workers held one row (a lease ran out): the second recording rolls back whole."""
    engine = await engine_with_team(database)
    (row_id,) = await put(database, engine.sealer, 1)
    async with database.session() as session, session.begin():
        await intake.consume(session, row_id)  # the first worker's transaction
    actor = Actor("slack", "T0", "U0COORD", locale="fr-CA")
    place = Place("slack", "T0", "C0SETUP", "partenariat")
    card = team_admin.setup_card(Tr("fr"), place, actor, engine.sealer)
    assert card.form is not None
    values = {i.name: str(i.default or "") for i in card.inputs()} | {"name": "Doublon"}
    setup = FormSubmitted(actor, "setup.save", card.form.context, values, place)
    with pytest.raises(intake.AlreadyConsumed):
        await engine.handle(setup, intake_id=row_id)
    async with database.session() as session:
        assert await teams.channel_at(session, "slack", "T0", "C0SETUP") is None
    await engine.handle(setup)  # the same event, on its own, does link the channel
    async with database.session() as session:
        assert await teams.channel_at(session, "slack", "T0", "C0SETUP") is not None


# ------------------------------------------------------------------ unreadable
async def test_an_intake_row_holds_nothing_readable(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    sealer = Sealer.ephemeral()
    commit = GroupCommit(database, sealer)
    payload = {"actor": {"user_ref": USER}, "values": {"text": SECRET_TEXT}}
    row_id = await commit.put("slack", payload)
    assert row_id is not None
    row = (await stored(database))[row_id]
    for secret in (USER, SECRET_TEXT, "décisions", "arrivent"):
        for encoded in (secret.encode(), secret.encode("utf-16-le")):
            assert encoded not in row.blob
    assert row.platform == "slack" and row.lease_until is None  # routing only, in the clear
    assert intake.Claimed(row.id, "slack", row.blob, 0, NOW).open(sealer) == payload
    if database_url.startswith("sqlite"):  # the file and its write-ahead log, byte for byte
        path = Path(database_url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert USER.encode() not in raw and SECRET_TEXT.encode() not in raw


# ------------------------------------------------------------------ group commit and worker
async def test_puts_waiting_together_share_one_transaction(database: Database) -> None:
    commit = GroupCommit(database, Sealer.ephemeral())
    ids = await asyncio.gather(*(commit.put("slack", {"n": i}) for i in range(30)))
    assert len(set(ids)) == 30 and set(ids) == set(await stored(database))
    assert commit.commits <= 2  # the first alone, then the 29 that waited for it


async def test_a_put_whose_commit_fails_raises_and_leaves_nothing(
    database: Database, database_url: str
) -> None:
    broken = Database(database_url.replace("passerelle", "missing-dir/passerelle", 1))
    if not database_url.startswith("sqlite"):
        broken = Database(database_url + "_missing")
    commit = GroupCommit(broken, Sealer.ephemeral())
    try:
        with pytest.raises(IntakeUnavailable):
            await asyncio.gather(*(commit.put("slack", {"n": i}) for i in range(3)))
    finally:
        await broken.dispose()
    assert await stored(database) == {}


async def test_the_worker_handles_each_row_once_and_keeps_failures(database: Database) -> None:
    sealer = Sealer.ephemeral()
    seen: list[int] = []

    async def handler(row_id: str, payload: Any) -> None:
        if payload["n"] == 3:
            raise ValueError("cannot")
        seen.append(payload["n"])
        async with database.session() as session, session.begin():
            await intake.consume(session, row_id)

    worker = IntakeWorker(database, sealer, {"slack": handler}, concurrency=3)
    commit = GroupCommit(database, sealer, on_commit=worker.wake)
    worker.start()
    try:
        await asyncio.gather(*(commit.put("slack", {"n": i}) for i in range(8)))
        await worker.settle()
    finally:
        await worker.stop()
    assert sorted(seen) == [0, 1, 2, 4, 5, 6, 7]
    assert (worker.done, worker.failed) == (7, 1)
    (kept,) = (await stored(database)).values()
    assert kept.attempts == 1 and kept.lease_until is not None  # backed off, not dropped
