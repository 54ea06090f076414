"""The adversary against tensions, successes and pre-reflections, which wait sealed.

Each test reads the database as someone holding a copy would: every row of every table, the
SQLite files (the `-wal` file included), PostgreSQL's row positions (`ctid`), row versions
(`xmin`) and its write-ahead log (the segments, read with `pg_read_binary_file`). Each search
is shown able to find what is there: a named success, stored in the clear by its author's
choice, is found by the same search that finds no sealed text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text

from dialogs.calendar import week_key, zone
from dialogs.engine import Engine
from dialogs.i18n import Tr
from dialogs.summaries import store as summary_store
from storage.database import Database
from storage.sealing import Sealer, new_secret
from tests.helpers import PEOPLE, say, seeded, submit, text_of

WRITERS = ("camille", "jonathan", "daniel", "nadia", "sophie", "marc-andre", "aisha", "luc")
SCHEDULE = {
    "prompt": "X1",
    "custom": "",
    "date": "2026-12-03",
    "time": "13:30",
    "recurrence": "once",
    "lead": "24",
    "channel": "all",
}


def is_pg(database: Database) -> bool:
    return database.engine.dialect.name == "postgresql"


async def fetch(database: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        result = await connection.execute(text(sql), params)
        return [dict(row) for row in result.mappings().all()]


async def execute(database: Database, sql: str, **params: Any) -> None:
    async with database.session() as session, session.begin():
        await session.execute(text(sql), params)


async def every_byte(database: Database, since: dt.datetime) -> dict[str, bytes]:
    """What a copy of the database holds, by source: every row of every table as text; on
    SQLite the files themselves (the main file and the -wal file); on PostgreSQL the
    write-ahead log segments written since `since` (the cluster's, as an archive or a replica
    gets them)."""
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    rows = []
    for name in names:
        if is_pg(database):
            found = await fetch(database, f'SELECT t::text AS r FROM "{name}" t')
        else:
            found = [{"r": repr(r)} for r in await fetch(database, f'SELECT * FROM "{name}"')]
        rows += [str(r["r"]).encode() for r in found]
    below: list[bytes] = []
    if is_pg(database):
        segments = await fetch(
            database,
            "SELECT name FROM pg_ls_waldir() WHERE modification >= :since ORDER BY name",
            since=since,
        )
        assert segments
        for segment in segments:
            [row] = await fetch(
                database, "SELECT pg_read_binary_file('pg_wal/' || :n) AS b", n=segment["name"]
            )
            below.append(bytes(row["b"]))
    else:
        path = Path(database.url.split("///", 1)[1])
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        assert any(p.name.endswith("-wal") for p in files)
        below += [p.read_bytes() for p in files if not p.name.endswith("-shm")]
    return {"rows": b"\n".join(rows), "wal" if is_pg(database) else "files": b"".join(below)}


def holds(sources: dict[str, bytes], words: str) -> bool:
    return any(words.encode() in data for data in sources.values())


async def write_tension(engine: Engine, who: str, words: str, theme: str = "workload") -> str:
    context = {"team": "demo", "text": words, "theme": theme, "prompt": ""}
    return text_of(await submit(engine, who, "tension.confirm", context))


async def share(engine: Engine, who: str, words: str, consent: str) -> str:
    context = {"team": "demo", "prompt": ""}
    values = {"text": words, "consent": consent}
    return text_of(await submit(engine, who, "success.submit", context, values))


async def pre_reflect(engine: Engine, database: Database, who: str, words: str) -> str:
    [occurrence] = await fetch(database, "SELECT id FROM reflexive_occurrences")
    context = {"team": "demo", "occurrence": str(occurrence["id"])}
    return text_of(await submit(engine, who, "reflexive.pre", context, {"text": words}))


async def schedule_meeting(engine: Engine) -> None:
    await submit(engine, "emilie", "reflexive.save", {"team": "demo"}, SCHEDULE)
    assert (await engine.jobs.run("reflexive-invite", "demo")).count == 9


# ---------------------------------------------------------------------------------- at rest


async def test_before_its_batch_no_text_is_anywhere_and_after_only_what_was_published(
    engine, worker, clock, database
):
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    await seeded(engine)
    await schedule_meeting(engine)
    marker = uuid.uuid4().hex[:8]
    tension = f"Les urgences s'empilent {marker}."
    anonymous = f"Une famille enfin accompagnee {marker}."
    counted = f"Le comite a enfin tranche {marker}."
    note = f"On n'ose pas parler du financement {marker}."
    named = f"Belle rencontre avec le CLSC {marker}."
    sent = Tr(PEOPLE["sophie"].language)("tension.sent_title")
    assert (await write_tension(engine, "sophie", tension)).startswith(sent)
    await share(engine, "aisha", anonymous, "anonymous")
    await share(engine, "nadia", counted, "summary_only")
    await share(engine, "luc", named, "named")  # in the clear, by choice: the control
    await pre_reflect(engine, database, "daniel", note)
    await worker.drain()
    seen = await every_byte(database, started)
    # The search finds what is there, in each source (rows, and the log or files below)...
    assert all(named.encode() in data for data in seen.values()), list(seen)
    for secret in (tension, anonymous, counted, note):  # ...and finds no sealed text
        assert not holds(seen, secret), secret
    # In the clear, only routing: what kind, for which batch.
    [meeting] = await fetch(database, "SELECT id FROM reflexive_occurrences")
    waiting = await fetch(database, "SELECT kind, batch FROM sealed ORDER BY kind, batch")
    assert [(r["kind"], r["batch"]) for r in waiting] == [
        ("pre_reflection", f"occurrence:{meeting['id']}"),
        ("success", "week"),
        ("success", "week"),
        ("tension", "week"),
    ]
    assert (await engine.jobs.run("batch", "demo")).count == 2  # the tension, the success
    clock.now = dt.datetime(2026, 12, 3, 18, 31, tzinfo=dt.UTC)
    assert (await engine.jobs.run("reflexive", "demo", forced=False)).count == 1
    await worker.drain()
    assert not await fetch(database, "SELECT id FROM sealed")
    seen = await every_byte(database, started)
    assert holds(seen, tension) and holds(seen, anonymous) and holds(seen, note)
    # A summary-only success was never written in any form: counted, not kept.
    assert not holds(seen, counted)
    tallies = await fetch(database, "SELECT count FROM success_tallies")
    assert [r["count"] for r in tallies] == [1]
    # A pre-reflection, once posted, is kept nowhere but in the sent message (the outbox
    # keeps sent messages two weeks: docs/privacy.md).
    for name in ("successes", "tensions", "open_answers", "sealed"):
        rows = await fetch(database, f"SELECT * FROM {name}")
        assert not any(note in str(row) for row in rows), name
    posted = await fetch(database, "SELECT payload FROM outbox WHERE idem_key LIKE 'reflexive:%'")
    assert posted and note in str(posted[0]["payload"])


async def test_the_summary_counts_successes_and_tallies(engine, clock, database):
    await seeded(engine)
    for n, (who, consent) in enumerate(
        (
            ("aisha", "anonymous"),
            ("nadia", "summary_only"),
            ("luc", "named"),
            ("sophie", "summary_only"),
        )
    ):
        await share(engine, who, f"Réussite {n}", consent)
    [team] = await fetch(database, "SELECT id FROM teams WHERE slug = 'demo'")
    since = clock().date() - dt.timedelta(days=30)

    async def counted() -> int:
        async with database.session() as session:
            read = await summary_store.summary_read(session, team["id"], 3, since)
            return read.successes

    assert await counted() == 1  # the named one; the others wait for the batch
    await engine.jobs.run("batch", "demo")
    assert await counted() == 4
    clock.advance(days=1)
    await share(engine, "camille", "Encore une", "summary_only")
    await engine.jobs.run("batch", "demo")
    assert await counted() == 5
    assert {r["count"] for r in await fetch(database, "SELECT count FROM success_tallies")} == {
        2,
        1,
    }
    async with database.session() as session:
        later = await summary_store.summary_read(session, team["id"], 3, clock().date())
    assert later.successes == 1  # only what was counted since that day


# ---------------------------------------------------------------------------------- order


async def test_published_order_and_ids_do_not_follow_the_order_of_writing(
    engine, worker, clock, database
):
    """Twelve tensions and twelve anonymous successes written in a known order: once the
    batch has written them, neither their ids, nor their physical order (ctid; SQLite's table
    scan), nor their row versions (xmin) replay that order. A single shuffled insert makes a
    replay a 1 in 12! chance."""
    await seeded(engine)
    await execute(database, "UPDATE teams SET tension_weekly_limit = 12")
    tensions = [f"Tension numéro {n:02d}" for n in range(12)]
    successes = [f"Réussite numéro {n:02d}" for n in range(12)]
    for n in range(12):
        clock.advance(minutes=7)
        who = WRITERS[n % len(WRITERS)]
        assert "Tension" in await write_tension(engine, who, tensions[n])
        await share(engine, who, successes[n], "anonymous")
    pg = is_pg(database)
    version = ", xmin::text AS xmin" if pg else ""
    sealed_before = await fetch(database, f"SELECT id{version} FROM sealed")
    assert len(sealed_before) == 24
    assert (await engine.jobs.run("batch", "demo")).count == 24
    for table, written in (("tensions", tensions), ("successes", successes)):
        order = " ORDER BY ctid" if pg else ""  # SQLite: the order of a table scan
        rows = await fetch(database, f"SELECT id, text{version} FROM {table}{order}")
        assert sorted(r["text"] for r in rows) == written
        assert [r["text"] for r in rows] != written, table
        assert [r["text"] for r in sorted(rows, key=lambda r: r["id"])] != written, table
        assert not {r["id"] for r in rows} & {r["id"] for r in sealed_before}  # fresh ids
        for row in rows:
            assert uuid.UUID(hex=row["id"]).version == 4
        if pg:
            # One transaction wrote them all, none of the submissions' transactions.
            assert len({r["xmin"] for r in rows}) == 1, table
            assert not {r["xmin"] for r in rows} & {r["xmin"] for r in sealed_before}
    days = await fetch(database, "SELECT DISTINCT created_on FROM tensions")
    assert len(days) == 1  # the batch's day, not the twelve moments of writing


async def test_reviewed_tensions_are_opened_at_the_review_in_random_order(
    engine, worker, clock, database
):
    await seeded(engine)
    await execute(
        database, "UPDATE teams SET review_tensions = :y, tension_weekly_limit = 12", y=True
    )
    written = [f"À relire numéro {n:02d}" for n in range(12)]
    for n, words in enumerate(written):
        clock.advance(minutes=5)
        assert "Tension" in await write_tension(engine, WRITERS[n % len(WRITERS)], words)
    assert not await fetch(database, "SELECT id FROM tensions")
    assert len(await fetch(database, "SELECT id FROM sealed WHERE batch = 'review'")) == 12
    # The weekly batch does not publish what awaits review.
    assert (await engine.jobs.run("batch", "demo")).count == 0
    assert (await engine.jobs.run("review", "demo")).count == 12  # one coordinator, Émilie
    order = " ORDER BY ctid" if is_pg(database) else ""
    rows = await fetch(database, f"SELECT text, status FROM tensions{order}")
    assert {r["status"] for r in rows} == {"pending_review"}
    assert sorted(r["text"] for r in rows) == written != [r["text"] for r in rows]
    assert not await fetch(database, "SELECT id FROM sealed")


# ---------------------------------------------------------------------------------- follow-up


async def test_the_follow_up_code_works_once_the_tension_is_opened(engine, worker, clock):
    await seeded(engine)
    sent = await write_tension(engine, "sophie", "Les décisions arrivent sans nous.")
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", sent)
    assert code is not None
    tr = Tr(PEOPLE["sophie"].language)
    before = text_of(await say(engine, "sophie", f"tension {code.group()}"))
    assert before.startswith(tr("followup.unknown_title"))
    await engine.jobs.run("batch", "demo")
    after = text_of(await say(engine, "sophie", f"tension {code.group().lower()}"))
    assert after.startswith(tr("followup.title"))
    assert "Les décisions arrivent sans nous." in after
    assert tr("tension_status.published") in after


# ---------------------------------------------------------------------------------- the limit


async def test_the_weekly_limit_holds_across_processes_and_restarts(clock, database):
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


# ---------------------------------------------------------------------------------- lost key


async def test_what_a_lost_key_sealed_is_announced_never_dropped_silently(
    clock, database, worker, sender, caplog
):
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
    engine, database, monkeypatch
):
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
