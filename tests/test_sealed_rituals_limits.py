"""Sealed rituals at their limits: the weekly tension limit across processes and restarts, what
a lost key sealed (announced, never dropped silently), a tension sealed while its batch runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import uuid
from typing import Any

import pytest

from bot.outbox_worker import OutboxWorker
from dialogs.calendar import week_key, zone
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage.database import Database
from storage.sealing import Sealer, new_secret
from tests.conftest import Clock, RecordingSender
from tests.helpers import PEOPLE, seeded, text_of
from tests.sealed_rituals_helpers import (
    execute,
    pre_reflect,
    schedule_meeting,
    share,
    write_tension,
)
from tests.sql_reads import fetch, is_pg


async def test_the_weekly_limit_holds_across_processes_and_restarts(
    clock: Clock, database: Database
) -> None:
    """Two engines on one database (two processes sharing the secret), then a third after a
    restart: together they let a member send the team's limit, no more. `tension_tokens`
    names no one: no member id, in the clear or under a plain hash, and the tags cannot be
    recomputed without the secret."""
    secret = new_secret()
    first = Engine(database, clock=clock, sealer=Sealer(secret))
    other_db = Database(database.url)
    second = Engine(other_db, clock=clock, sealer=Sealer(secret))
    await seeded(first)
    await execute(database, "UPDATE teams SET tension_weekly_limit = 3")
    tr = Tr(PEOPLE["sophie"].language)
    sent, refused = tr("tension.sent_title"), tr("tension.limit_title")
    assert (await write_tension(first, "sophie", "Un.")).startswith(sent)
    assert (await write_tension(second, "sophie", "Deux.")).startswith(sent)
    # The last slot, asked for by both processes at once: one gets it.
    replies = await asyncio.gather(
        write_tension(first, "sophie", "Trois."), write_tension(second, "sophie", "Quatre.")
    )
    assert sorted(r.startswith(sent) for r in replies) == [False, True]
    assert any(r.startswith(refused) for r in replies)
    assert (await write_tension(second, "sophie", "Cinq.")).startswith(refused)
    assert (await write_tension(first, "aisha", "Per person.")).startswith(
        Tr(PEOPLE["aisha"].language)("tension.sent_title")
    )
    await other_db.dispose()
    # A restart: a new process, a new pool, the same secret. The week's count still holds.
    restarted_db = Database(database.url)
    restarted = Engine(restarted_db, clock=clock, sealer=Sealer(secret))
    assert (await write_tension(restarted, "sophie", "Six.")).startswith(refused)
    # Nothing in the rows says whose they are.
    tokens = await fetch(database, "SELECT token, week FROM tension_tokens")
    assert len(tokens) == 4
    members = await fetch(database, "SELECT id, team_id, user_ref FROM members")
    for member in members:
        plain = {str(member["id"]), member["user_ref"]}
        plain |= {
            hashlib.new(algorithm, str(member["id"]).encode()).hexdigest()
            for algorithm in ("md5", "sha1", "sha256", "sha512")
        }
        for token in tokens:
            assert token["token"] not in plain
            assert not any(p in token["token"] for p in plain if len(p) > 3)
    week = week_key(clock(), zone("America/Toronto"))
    sophie = next(m for m in members if m["user_ref"] == "sophie")

    def slots(sealer: Sealer) -> set[str]:
        return {
            sealer.tag("tension-slot", sophie["team_id"], sophie["id"], week, n) for n in (1, 2, 3)
        }

    stored = {t["token"] for t in tokens}
    assert slots(Sealer(secret)) <= stored  # with the secret: the residual (docs/privacy.md)
    assert not slots(Sealer(new_secret())) & stored
    # Next week the slots are free again; the weekly batch forgets last week's.
    clock.advance(days=7)
    assert (await write_tension(restarted, "sophie", "Six.")).startswith(sent)
    await restarted.jobs.run("batch", "demo")
    weeks = {r["week"] for r in await fetch(database, "SELECT week FROM tension_tokens")}
    assert weeks == {week_key(clock(), zone("America/Toronto"))}
    await restarted_db.dispose()


async def test_what_a_lost_key_sealed_is_announced_never_dropped_silently(
    clock: Clock,
    database: Database,
    worker: OutboxWorker,
    sender: RecordingSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Sealed under a secret the server no longer holds: the batch cannot open them. The team
    channel is told how many, and whoever wrote one before then is asked to write again; the
    rows are deleted; the log says how many, never what."""
    lost = Engine(database, clock=clock, sealer=Sealer(new_secret()))
    await seeded(lost)
    await schedule_meeting(lost)
    secrets_ = ("Perdu un.", "Perdu deux.", "Réussite perdue.", "Note perdue.")
    await write_tension(lost, "sophie", secrets_[0])
    await write_tension(lost, "aisha", secrets_[1])
    await share(lost, "luc", secrets_[2], "anonymous")
    await pre_reflect(lost, database, "daniel", secrets_[3])
    current = Engine(database, clock=clock, sealer=Sealer(new_secret()))
    kept = "Celle-ci s'ouvre."
    await write_tension(current, "camille", kept)
    caplog.set_level(logging.INFO)
    assert (await current.jobs.run("batch", "demo")).count == 1
    clock.now = dt.datetime(2026, 12, 3, 18, 31, tzinfo=dt.UTC)
    assert (await current.jobs.run("reflexive", "demo", forced=False)).count == 1
    await worker.drain()
    assert not await fetch(database, "SELECT id FROM sealed")
    channel = [d.card for d in sender.to("equipe", "channel")]
    notices = [c for c in channel if c.title == Tr("fr")("lost_key.title")]
    assert len(notices) == 3
    said = text_of(notices)
    for line in (
        Tr("fr")("lost_key.tension", count=2),
        Tr("fr")("lost_key.success", count=1),
        Tr("fr")("lost_key.pre_reflection", count=1),
    ):
        assert line in said
    assert "2026" in said  # "before <date>"
    assert kept in text_of(channel)
    logged = caplog.text
    assert "2 sealed tension(s)" in logged and "1 sealed success(s)" in logged
    for words in secrets_:
        assert words not in logged and words not in text_of(channel)


async def test_a_tension_sealed_while_its_batch_runs_is_never_deleted_unread(
    engine: Engine, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch takes its rows in one `DELETE ... RETURNING`: a tension committed while the
    batch runs is outside that statement's snapshot, so it waits for the next batch instead
    of being deleted without being read. (On PostgreSQL the two transactions really overlap;
    SQLite has one writer at a time, so there the tension is sealed before the batch.)"""
    from dialogs.tensions import batches as tension_batches
    from storage import sealed_batches

    await seeded(engine)
    await write_tension(engine, "sophie", "Avant le lot.")
    taken = asyncio.Event()

    async def spied(*args: Any, **kwargs: Any) -> Any:
        result = await sealed_batches.take(*args, **kwargs)
        taken.set()
        return result

    monkeypatch.setattr(tension_batches, "take", spied)
    late = "Pendant le lot."
    batch: asyncio.Task[Any] | None = None
    async with database.session() as session, session.begin():
        [team] = await fetch(database, "SELECT id FROM teams WHERE slug = 'demo'")
        payload = {"text": late, "theme": "other", "prompt": "", "followup": "x" * 64}
        assert await sealed_batches.seal_once(
            session,
            engine.sealer,
            row_id=uuid.uuid4().hex,
            team_id=team["id"],
            kind="tension",
            batch="week",
            payload=payload,
        )
        if is_pg(database):
            batch = asyncio.create_task(engine.jobs.run("batch", "demo"))
            await asyncio.wait_for(taken.wait(), 30)  # the batch has taken its rows
    first = await batch if batch is not None else await engine.jobs.run("batch", "demo")
    published = {r["text"] for r in await fetch(database, "SELECT text FROM tensions")}
    if is_pg(database):
        assert first.count == 1 and published == {"Avant le lot."}
        [waiting] = await fetch(database, "SELECT kind, batch FROM sealed")
        assert (waiting["kind"], waiting["batch"]) == ("tension", "week")
        assert (await engine.jobs.run("batch", "demo")).count == 1
    else:
        assert first.count == 2
    published = {r["text"] for r in await fetch(database, "SELECT text FROM tensions")}
    assert published == {"Avant le lot.", late}
    assert not await fetch(database, "SELECT id FROM sealed")
