"""The weekly tension limit is kept as keyed slots that name no one without the server's secret;
no table keeps a tally per member, no row tells the week's writers from the others."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, text

from bot.outbox_worker import OutboxWorker
from bot.scheduler import team_triggers
from dialogs.calendar import week_key, zone
from dialogs.engine import Engine
from dialogs.i18n import Tr
from dialogs.tensions.rate_limit import WeeklyLimiter
from storage import teams
from storage.database import Database
from storage.sealing import Sealer
from tests.conftest import Clock
from tests.helpers import PEOPLE, seeded
from tests.sql_reads import fetch
from tests.unlinkability_story import PRIVATE, TORONTO, as_datetime, dump, outbox_rows, tell

# The words a per-member tally of tensions would need in a column or table name.
TALLY_WORDS = ("tension", "week", "count", "quota", "limit", "tally")

# The tables that may name a member, each reviewed: the roster itself, the round's ledger
# (erased at close) and the messages to send. A new one must be reviewed and added here.
PER_MEMBER = ("members", "participation", "outbox")


async def inspect_schema(database: Database) -> dict[str, tuple[list[Any], list[Any]]]:
    """Every table's columns and foreign keys, as the database reports them."""

    def read(sync: Connection) -> dict[str, tuple[list[Any], list[Any]]]:
        inspector = sa.inspect(sync)
        return {
            name: (inspector.get_columns(name), inspector.get_foreign_keys(name))
            for name in inspector.get_table_names()
        }

    async with database.engine.connect() as connection:
        return await connection.run_sync(read)


def member_columns(name: str, columns: list[Any], foreign_keys: list[Any]) -> set[str]:
    """The columns of a table that name a member: `members.id` itself, any column under a
    foreign key to `members`, and any column whose name says member (a bare id kept without
    a constraint names a member just as well)."""
    named = {"id"} if name == "members" else set()
    named |= {c["name"] for c in columns if "member" in c["name"].lower()}
    for fk in foreign_keys:
        if fk["referred_table"] == "members":
            named |= set(fk["constrained_columns"])
    return named


def per_member_tables(tables: dict[str, tuple[list[Any], list[Any]]]) -> dict[str, set[str]]:
    """Tables with a column that names a member, and those columns."""
    found = {name: member_columns(name, *schema) for name, schema in tables.items()}
    return {name: columns for name, columns in found.items() if columns}


def tally_violations(tables: dict[str, tuple[list[Any], list[Any]]]) -> list[str]:
    """The rule: a table with a column that names a member (see `member_columns`; `members`
    included) is one of PER_MEMBER, is not a content table (PRIVATE), has no foreign key to a
    content table, and neither its name nor any of its columns' names holds one of TALLY_WORDS.
    Anything that counted tensions (or weeks) per member would break one of these."""
    problems = []
    for name in sorted(per_member_tables(tables)):
        columns, foreign_keys = tables[name]
        if name not in PER_MEMBER:
            problems.append(f"{name}: names a member and was never reviewed")
        if name in PRIVATE:
            problems.append(f"{name}: a content table that names a member")
        if any(word in name.lower() for word in TALLY_WORDS):
            problems.append(f"{name}: a per-member table named for a tally")
        problems += [
            f"{name}: points at {fk['referred_table']}"
            for fk in foreign_keys
            if fk["referred_table"] in PRIVATE
        ]
        problems += [
            f"{name}.{c['name']}: a per-member tally"
            for c in columns
            if any(word in c["name"].lower() for word in TALLY_WORDS)
        ]
    return problems


async def test_no_table_keeps_a_tension_tally_per_member(database: Database) -> None:
    tables = await inspect_schema(database)
    # The rule bites on real tables: these do name members.
    assert set(per_member_tables(tables)) == set(PER_MEMBER)
    assert not tally_violations(tables), tally_violations(tables)
    # And it catches a tally, whether its member column says so or only its foreign key does,
    # and whether its columns say what they count or not.
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TABLE planted_counters "
                "(team_id INTEGER, member_id INTEGER, week VARCHAR(8), count INTEGER)"
            )
        )
        await connection.execute(
            text("CREATE TABLE planted_notes (who INTEGER REFERENCES members(id), n INTEGER)")
        )
        await connection.execute(
            text("CREATE TABLE planted_marks (who INTEGER REFERENCES members(id), tensions INT)")
        )
    found = tally_violations(await inspect_schema(database))
    assert {f.split(":")[0] for f in found} == {
        "planted_counters",
        "planted_counters.week",
        "planted_counters.count",
        "planted_notes",
        "planted_marks",
        "planted_marks.tensions",
    }, found


def _row_set(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str, ensure_ascii=False) for r in rows)


def traces(
    tables: dict[str, list[dict[str, Any]]],
    named_by: dict[str, set[str]],
    person: dict[str, Any],
) -> Counter[tuple[str, str]]:
    """Every row, in any table, that names this person: one of its member columns holds their
    id, or any of its values is or contains (as a word) their user_ref or display name."""
    words = [
        re.compile(rf"(?<!\w){re.escape(w)}(?!\w)")
        for w in (person["user_ref"], person["display_name"])
        if w
    ]
    found: Counter[tuple[str, str]] = Counter()
    for name, rows in tables.items():
        for row in rows:
            names_them = any(row.get(c) == person["id"] for c in named_by.get(name, ()))
            for value in row.values():
                if isinstance(value, dict | list):
                    value = json.dumps(value, ensure_ascii=False)
                if isinstance(value, str) and any(w.search(value) for w in words):
                    names_them = True
            if names_them:
                found[(name, json.dumps(row, sort_keys=True, default=str))] += 1
    return found


async def test_no_row_tells_the_weeks_tension_writers_from_the_others(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    """Sophie writes two tensions and Aïsha one while a round is open; the others write none.

    Read whole (every table, every column, row versions on PostgreSQL), the database then
    differs from before only by the three sealed tensions and the three weekly slots they
    took, which name no one: every row that names a member is exactly as it was, for the
    writers as for everyone else.
    """
    await seeded(engine)
    await worker.drain()
    assert (await engine.jobs.run("checkin", "demo")).count == 9
    named_by = {"members": {"id"}} | per_member_tables(await inspect_schema(database))
    people = await fetch(database, "SELECT id, user_ref, display_name FROM members")
    before = await dump(database)
    # Not vacuous: every member is named, in the ledger and the outbox among others.
    for person in people:
        where = {name for name, _ in traces(before, named_by, person)}
        assert where >= {"members", "participation", "outbox"}, (person, where)
    writers = {"sophie": 2, "aisha": 1}
    subjects = iter(("Les urgences s'empilent.", "On court sans arrêt.", "Too many forms."))
    for who, times in writers.items():
        for _ in range(times):
            clock.advance(minutes=40)
            words = next(subjects)
            reply = await tell(
                engine,
                who,
                "tension.confirm",
                {"team": "demo", "text": words, "theme": "workload", "prompt": ""},
            )
            assert reply.startswith(Tr(PEOPLE[who].language)("tension.sent_title")), reply
    after = await dump(database)
    changed = {name for name in after if _row_set(after[name]) != _row_set(before[name])}
    assert changed == {"sealed", "tension_tokens"}, changed
    for name in ("sealed", "tension_tokens"):
        assert len(after[name]) - len(before[name]) == sum(writers.values()), name
    for person in people:
        assert traces(after, named_by, person) == traces(before, named_by, person), person
    # The comparison finds a trace where one is left: one more outbox row for Sophie.
    sophie = next(p for p in people if p["user_ref"] == "sophie")
    mine = next(r for r in after["outbox"] if r["member_id"] == sophie["id"])
    planted = {**after, "outbox": [*after["outbox"], {**mine, "id": 0, "idem_key": "tally"}]}
    told = {
        p["user_ref"] for p in people if traces(planted, named_by, p) != traces(before, named_by, p)
    }
    assert told == {"sophie"}


async def test_the_weekly_limit_holds_and_its_slots_name_no_one(
    engine: Engine, clock: Clock, database: Database
) -> None:
    """The limit is kept in `tension_tokens` (so every process and a restart agree: see
    tests/test_sealed_rituals.py), one row per slot taken, keyed by a tag of the server's
    secret: no member id in the clear or under a hash anyone could recompute per id, no tag
    another secret would give, nothing that groups one person's rows."""
    await seeded(engine)
    [team] = await fetch(
        database, "SELECT id, tension_weekly_limit AS n, timezone FROM teams WHERE slug = 'demo'"
    )
    limit, tz = team["n"], zone(team["timezone"])
    assert limit >= 2
    ids = {
        r["user_ref"]: r["id"] for r in await fetch(database, "SELECT id, user_ref FROM members")
    }
    tr = Tr(PEOPLE["sophie"].language)
    sent, refused = tr("tension.sent_title"), tr("tension.limit_title")

    async def write(who: str, words: str) -> str:
        clock.advance(minutes=10)
        context = {"team": "demo", "text": words, "theme": "workload", "prompt": ""}
        return await tell(engine, who, "tension.confirm", context)

    for n in range(limit):
        assert (await write("sophie", f"Sujet numéro {n + 1}.")).startswith(sent)
    last = "Encore un sujet, le dernier."
    assert (await write("sophie", last)).startswith(refused)
    assert len(await fetch(database, "SELECT id FROM sealed WHERE kind = 'tension'")) == limit
    # The limit is per person: Aïsha still writes this week.
    aisha = await write("aisha", "Funding news reaches us too late.")
    assert aisha.startswith(Tr(PEOPLE["aisha"].language)("tension.sent_title")), aisha
    week = week_key(clock(), tz)

    async def used(who: str, when: str) -> int:
        async with database.session() as session:
            return await WeeklyLimiter().used(
                session,
                engine.sealer,
                team_id=team["id"],
                member_id=ids[who],
                week=when,
                limit=limit,
            )

    assert (await used("sophie", week), await used("aisha", week)) == (limit, 1)
    tokens = await fetch(database, "SELECT * FROM tension_tokens")
    assert len(tokens) == limit + 1
    assert {tuple(sorted(row)) for row in tokens} == {("token", "week")}  # nothing else kept
    # No member id in a token, in clear or under a plain hash anyone could recompute per id.
    for row in tokens:
        for member_id in ids.values():
            plain = {str(member_id)}
            plain |= {
                hashlib.new(algorithm, str(member_id).encode()).hexdigest()
                for algorithm in ("md5", "sha1", "sha256", "sha512")
            }
            assert row["token"] not in plain, (row, member_id)
    # Keyed by the server's secret: another secret computes other tags for the same slots.
    other = Sealer.ephemeral()
    assert not {
        other.tag("tension-slot", team["id"], ids["sophie"], week, n) for n in range(1, limit + 1)
    } & {row["token"] for row in tokens}
    # Next week, the refused tension goes through; the weekly batch forgets last week's slots.
    local = clock().astimezone(tz)
    monday = local.date() + dt.timedelta(days=7 - local.weekday())
    clock.now = dt.datetime.combine(monday, dt.time(9), tzinfo=tz).astimezone(dt.UTC)
    next_week = week_key(clock(), tz)
    assert next_week != week
    assert (await write("sophie", last)).startswith(sent)
    assert await used("sophie", next_week) == 1
    assert await used("sophie", week) == limit  # until the batch
    await engine.jobs.run("batch", "demo")
    assert await used("sophie", week) == await used("aisha", week) == 0
    assert [r["week"] for r in await fetch(database, "SELECT week FROM tension_tokens")] == [
        next_week
    ]


async def test_review_requests_wait_for_the_daily_job_and_carry_no_author(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
    """With review on, confirming a tension queues nothing: a request queued then would date
    it to the minute. The daily job (09:00 team time) asks each coordinator, once."""
    await seeded(engine)
    async with database.session() as session, session.begin():
        await session.execute(text("UPDATE teams SET review_tensions = :yes"), {"yes": True})
        await session.execute(
            text("UPDATE members SET is_coordinator = :yes WHERE user_ref = 'nadia'"), {"yes": True}
        )
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        trigger = team_triggers(team)["review"]
    await worker.drain()
    clock.advance(hours=2)
    written_at = clock()
    before = await outbox_rows(database)
    words = "Le financement nous muselle."
    reply = await tell(
        engine,
        "sophie",
        "tension.confirm",
        {"team": "demo", "text": words, "theme": "funding", "prompt": ""},
    )
    assert reply.startswith(Tr(PEOPLE["sophie"].language)("tension.sent_title")), reply
    assert await outbox_rows(database) == before
    # Sealed for the review, unread until then.
    assert not await fetch(database, "SELECT id FROM tensions")
    [waiting] = await fetch(database, "SELECT batch FROM sealed WHERE kind = 'tension'")
    assert waiting["batch"] == "review"
    # The scheduler's next firing: the next morning at 09:00, team time.
    clock.now = trigger.get_next_fire_time(None, written_at).astimezone(dt.UTC)
    assert clock().astimezone(TORONTO).time() == dt.time(9)
    assert clock() - written_at > dt.timedelta(hours=12)
    result = await engine.jobs.run("review", "demo", forced=False, fire_time=clock())
    [tension] = await fetch(database, "SELECT id, status FROM tensions")
    assert tension["status"] == "pending_review"
    assert not await fetch(database, "SELECT id FROM sealed WHERE kind = 'tension'")
    known = {row[0] for row in before}
    new = [r for r in await fetch(database, "SELECT * FROM outbox") if r["id"] not in known]
    coordinators = {
        r["id"]
        for r in await fetch(database, "SELECT id FROM members WHERE is_coordinator = :y", y=True)
    }
    assert len(coordinators) == 2
    assert result.count == len(new) == len(coordinators)
    assert {r["member_id"] for r in new} == coordinators
    assert {r["idem_key"] for r in new} == {f"review:{tension['id']}:{c}" for c in coordinators}
    author = PEOPLE["sophie"]
    sophie_id = next(
        r["id"]
        for r in await fetch(database, "SELECT id, user_ref FROM members")
        if r["user_ref"] == "sophie"
    )
    for row in new:
        assert as_datetime(row["not_before"]) == clock() != written_at  # the job's time
        assert str(sophie_id) not in row["idem_key"].split(":")
        shown = row["payload"] if isinstance(row["payload"], str) else json.dumps(row["payload"])
        assert words in shown or json.dumps(words)[1:-1] in shown
        for trace in (author.name, author.user_ref, "Sophie"):
            assert trace not in shown and trace not in row["address"]
    # Fired again (another process, a retry): nothing new.
    after = await outbox_rows(database)
    again = await engine.jobs.run("review", "demo", forced=False, fire_time=clock())
    assert again.count == 0
    assert await outbox_rows(database) == after
