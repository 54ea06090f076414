"""An adversary with the whole database tries to tell who said what, and fails.

One scripted story runs on each database: a check-in round answered by seven people over three
days in an order unrelated to their ids (one skips, one stays silent, a reminder goes out in the
middle), three tensions, an anonymous and a summary-only success, a reflexive space with two
pre-reflections. Each test then reads the database as an operator could (every table, every
column, PostgreSQL's system columns, the SQLite files) and tries to link a ballot, a tension,
a success or a pre-reflection to a member.

The demo team is used with one change: Luc moves to the public network, so that the team's
recording scheme keeps both sectors and positions (every combination then holds k members) and
the story exercises ballots that carry both. The demo team as shipped gets sectors only: see
`test_recorded_segments_do_not_single_out_anyone` below.

Tensions, anonymous and summary-only successes and pre-reflections wait sealed until their
batch (tests/test_sealed_rituals.py attacks them at rest, in the WAL and after the batch). The
weekly tension limit is kept as keyed slots in `tension_tokens`, which name no one without the
server's secret: see the tests under "tensions" below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.scheduler import team_triggers
from dialogs.anonymity import recording_scheme
from dialogs.calendar import week_key, zone
from dialogs.i18n import Tr
from storage import ballots, maintenance, rounds, teams
from storage.database import Database
from storage.sealing import Sealer
from tests.conftest import POSTGRES_ADMIN_URL, START, _plain
from tests.helpers import PEOPLE, seeded, submit, text_of

# Content in the clear, once its batch has opened it: no member, a day at most.
PRIVATE = (
    "open_answers",
    "tensions",
    "tension_replies",
    "successes",
)
# Submissions waiting for their batch: no member, no time at all, and a sealed blob.
SEALED = ("sealed",)
LEDGERS = ("participation",)
TORONTO = ZoneInfo("America/Toronto")
DEMO_K = 3

# Distinct, never constant values per respondent ("skip" = prefer not to answer), so the test
# (not the adversary) knows whose ballot is whose after the close renames every ballot.
PATTERNS = {
    "aisha": ("1", "2", "3", "4", "5", "1"),
    "camille": ("5", "4", "3", "2", "1", "5"),
    "luc": ("2", "skip", "4", "4", "1", "3"),
    "daniel": ("3", "1", "1", "5", "2", "2"),
    "sophie": ("4", "5", "2", "1", "3", "4"),
    "nadia": ("1", "3", "5", "2", "4", "1"),
    "marc-andre": ("2", "4", "1", "3", "5", "3"),
}
TENSIONS = {
    "sophie": ("Les décisions arrivent sans nous.", "decisions"),
    "aisha": ("Funding changes reach us too late.", "funding"),
    "camille": ("Nos rôles se chevauchent sur les suivis.", "roles"),
}
SUCCESSES = {
    "marc-andre": ("Une famille enfin accompagnée ensemble.", "anonymous"),
    "nadia": ("Le comité a enfin tranché.", "summary_only"),
}
PRE_REFLECTIONS = {
    "marc-andre": "On n'ose pas parler du financement.",
    "daniel": "We never hear back about referrals.",
}
# (hours after the round opened, what happens, who). Submission order differs from member
# order (member ids follow the demo's persona order), and spans three local days.
TIMELINE: list[tuple[float, str, str]] = [
    (0.3, "ballot", "aisha"),
    (1.0, "tension", "sophie"),
    (3.0, "ballot", "camille"),
    (5.0, "skip", "jonathan"),
    (9.0, "ballot", "luc"),
    (20.0, "schedule", "emilie"),
    (26.0, "ballot", "daniel"),
    (27.0, "tension", "aisha"),
    (27.5, "tension", "camille"),
    (30.0, "success", "marc-andre"),
    (31.0, "success", "nadia"),
    (33.0, "pre", "marc-andre"),
    (34.0, "pre", "daniel"),
    (48.5, "reminders", ""),
    (49.0, "ballot", "sophie"),
    (55.0, "ballot", "nadia"),
    (70.0, "ballot", "marc-andre"),
    (72.1, "close", ""),
]
BALLOT_ORDER = [who for _, kind, who in TIMELINE if kind == "ballot"]
PRIVATE_ACTS = ("ballot", "skip", "tension", "success", "pre")


@dataclass
class Story:
    """What happened (the truth, which the adversary lacks) and what the adversary saw."""

    round_id: int = 0
    opened_on: dt.date = dt.date.min
    items: list[str] = field(default_factory=list)
    occurrence_id: int = 0
    occurs_on: dt.date = dt.date.min
    member_ids: dict[str, int] = field(default_factory=dict)
    # Adversary snapshots: after each act, and just before the close.
    after: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    outbox_changes: list[tuple[str, str, list[Any], list[Any]]] = field(default_factory=list)
    before_close: dict[str, Any] = field(default_factory=dict)
    closed: dict[str, Any] = field(default_factory=dict)

    def who_by_pattern(self) -> dict[tuple[int | None, ...], str]:
        return {
            tuple(None if v == "skip" else int(v) for v in PATTERNS[who][: len(self.items)]): who
            for who in PATTERNS
        }

    def respondent(self, rows: list[dict[str, Any]]) -> str:
        """Whose ballot this is, from its values (the test's knowledge, not the adversary's)."""
        by_item = {r["item_id"]: r["value"] for r in rows}
        return self.who_by_pattern()[tuple(by_item[i] for i in self.items)]


def is_pg(database: Database) -> bool:
    return database.engine.dialect.name == "postgresql"


async def fetch(database: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        result = await connection.execute(text(sql), params)
        return [dict(row) for row in result.mappings().all()]


async def outbox_rows(database: Database) -> list[Any]:
    return [tuple(r.values()) for r in await fetch(database, "SELECT * FROM outbox ORDER BY id")]


async def observe(database: Database, round_id: int) -> dict[str, Any]:
    """The adversary's look at the ledgers and the ballot box, as stored right now."""
    if is_pg(database):
        return {
            "ledger": await fetch(
                database,
                "SELECT member_id, status, xmin::text::bigint AS xmin, ctid::text AS ctid "
                "FROM participation WHERE round_id = :r ORDER BY ctid",
                r=round_id,
            ),
            "tensions": await fetch(
                database, "SELECT id, xmin::text::bigint AS xmin FROM tensions ORDER BY ctid"
            ),
            "sealed": await fetch(
                database,
                "SELECT id, kind, xmin::text::bigint AS xmin FROM sealed ORDER BY ctid",
            ),
        }
    return {
        "ledger": await fetch(
            database, "SELECT member_id, status FROM participation WHERE round_id = :r", r=round_id
        ),
        "tensions": await fetch(database, "SELECT id FROM tensions"),
        "sealed": await fetch(database, "SELECT id, kind FROM sealed"),
    }


async def dump(database: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, with xmin on PostgreSQL."""
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    extra = ", xmin::text::bigint AS xmin" if is_pg(database) else ""
    return {
        name: await fetch(database, f'SELECT *{extra} FROM "{name}"')
        for name in names
        if name != "alembic_version"
    }


async def tell(engine, who: str, action: str, context: dict[str, str], values=None) -> str:
    return text_of(await submit(engine, who, action, context, values))


async def live_story(engine, worker, clock, database: Database) -> Story:
    """Play the timeline through the engine; snapshot what an adversary would see."""
    story = Story()
    await seeded(engine)
    luc = {
        "sector": "public",
        "position": "manager",
        "language": "fr",
        "timezone": "America/Toronto",
        "paused_until": "",
        "quiet_start": "20",
        "quiet_end": "8",
    }
    await tell(engine, "luc", "profile.save", {"team": "demo"}, luc)
    await worker.drain()
    result = await engine.jobs.run("checkin", "demo", forced=False)
    assert result.message == "jobs.checkin" and result.count == 9
    [round_row] = await fetch(database, "SELECT id, opened_on, items FROM rounds")
    story.round_id = round_row["id"]
    story.opened_on = _as_date(round_row["opened_on"])
    items = round_row["items"]
    story.items = json.loads(items) if isinstance(items, str) else list(items)
    assert 4 <= len(story.items) <= 6
    assert len(set(story.who_by_pattern())) == len(PATTERNS)
    story.member_ids = {
        r["user_ref"]: r["id"] for r in await fetch(database, "SELECT id, user_ref FROM members")
    }
    for hours, kind, who in TIMELINE:
        clock.now = START + dt.timedelta(hours=hours)
        before = await outbox_rows(database)
        reply = await _act(engine, story, database, kind, who)
        if kind in PRIVATE_ACTS:
            story.outbox_changes.append((kind, who, before, await outbox_rows(database)))
            story.after.append((kind, who, await observe(database, story.round_id)))
        if kind == "ballot":
            assert reply.startswith(Tr(PEOPLE[who].language)("checkin.thanks_title")), reply
        if kind == "close":
            story.closed = await dump(database)
        elif kind == "reminders":
            assert reply == "jobs.reminders"
    return story


async def _act(engine, story: Story, database: Database, kind: str, who: str) -> str:
    context = {"team": "demo"}
    if kind == "ballot":
        values = dict(zip((f"item:{i}" for i in story.items), PATTERNS[who], strict=False))
        values["open"] = f"Idée numéro {BALLOT_ORDER.index(who) + 1}"
        return await tell(
            engine, who, "checkin.submit", {**context, "round": str(story.round_id)}, values
        )
    if kind == "skip":
        return await tell(engine, who, "checkin.skip", {**context, "round": str(story.round_id)})
    if kind == "tension":
        words, theme = TENSIONS[who]
        reply = await tell(
            engine, who, "tension.confirm", {**context, "text": words, "theme": theme, "prompt": ""}
        )
        assert re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", reply), reply
        return reply
    if kind == "success":
        words, consent = SUCCESSES[who]
        return await tell(
            engine,
            who,
            "success.submit",
            {**context, "prompt": ""},
            {"text": words, "consent": consent},
        )
    if kind == "schedule":
        values = {
            "prompt": "X1",
            "custom": "",
            "date": "2026-12-03",
            "time": "13:30",
            "recurrence": "once",
            "lead": "24",
            "channel": "all",
        }
        await tell(engine, who, "reflexive.save", context, values)
        result = await engine.jobs.run("reflexive-invite", "demo")
        assert result.count == 9
        [occurrence] = await fetch(database, "SELECT id, occurs_at FROM reflexive_occurrences")
        story.occurrence_id = occurrence["id"]
        story.occurs_on = _as_datetime(occurrence["occurs_at"]).date()
        return ""
    if kind == "pre":
        reply = await tell(
            engine,
            who,
            "reflexive.pre",
            {**context, "occurrence": str(story.occurrence_id)},
            {"text": PRE_REFLECTIONS[who]},
        )
        assert reply.startswith(Tr(PEOPLE[who].language)("reflexive.pre_thanks_title")), reply
        return reply
    if kind == "reminders":
        return (await engine.jobs.run("reminders", "demo", forced=False)).message
    assert kind == "close"
    story.before_close = await observe(database, story.round_id)
    story.before_close["open_answers"] = await fetch(database, "SELECT id, text FROM open_answers")
    story.before_close["outbox"] = await fetch(database, "SELECT idem_key FROM outbox")
    result = await engine.jobs.run("close", "demo", forced=False)
    assert result.message == "jobs.closed"
    return result.message


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _as_datetime(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def ballots_of(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["ballot"], []).append(row)
    return grouped


def contiguous(sequence: list[str]) -> bool:
    """True when equal labels form unbroken runs (rows of a ballot stored together)."""
    runs = [label for i, label in enumerate(sequence) if i == 0 or sequence[i - 1] != label]
    return len(runs) == len(set(runs))


# ---------------------------------------------------------------------------------- columns


async def test_private_tables_have_no_member_column_and_no_clock(database):
    def schema(sync) -> dict[str, Any]:
        inspector = sa.inspect(sync)
        return {
            name: (inspector.get_columns(name), inspector.get_foreign_keys(name))
            for name in inspector.get_table_names()
        }

    async with database.engine.connect() as connection:
        tables = await connection.run_sync(schema)
    member_tables = {"members"}
    for name in PRIVATE:
        columns, foreign_keys = tables[name]
        assert not [fk for fk in foreign_keys if fk["referred_table"] in member_tables], name
        for column in columns:
            lowered = column["name"].lower()
            if (name, lowered) != ("successes", "author_name"):  # kept only when named, by choice
                assert not any(word in lowered for word in ("member", "user", "author", "who"))
            assert not isinstance(column["type"], sa.DateTime | sa.Time | sa.Interval), (
                name,
                column,
            )
            assert column.get("default") is None, (name, column)  # no now(), no nextval()
        dates = [c["name"] for c in columns if isinstance(c["type"], sa.Date)]
        assert dates, name  # the one time they hold is a day
    for name in LEDGERS:
        columns, _ = tables[name]
        assert not [c for c in columns if isinstance(c["type"], sa.Date | sa.DateTime | sa.Time)]
    # The check is able to fail: other tables do keep instants.
    assert any(isinstance(c["type"], sa.DateTime) for c in tables["outbox"][0])
    # The sealed inbox keeps no time at all, no member and nothing that points at the ledger:
    # its clear columns are routing only.
    for name in SEALED:
        columns, foreign_keys = tables[name]
        assert {c["name"] for c in columns} == {"id", "team_id", "kind", "batch", "blob"}
        assert [fk["referred_table"] for fk in foreign_keys] == ["teams"]
    # No table of ballots exists at all: a ballot is sealed, then only aggregated.
    assert "answers" not in tables


async def test_private_tables_have_no_hidden_order(database):
    """No rowid (SQLite), no sequence or identity (PostgreSQL), no trigger on private tables."""
    async with database.engine.connect() as connection:
        if is_pg(database):
            serial = await connection.execute(
                text(
                    "SELECT t.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
                    "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S'"
                )
            )
            owners = set(serial.scalars().all())
            assert "rounds" in owners  # the query finds the sequences that do exist
            assert not owners & set(PRIVATE + SEALED)
            identity = await connection.execute(
                text(
                    "SELECT table_name FROM information_schema.columns WHERE is_identity = 'YES' "
                    "OR column_default LIKE '%nextval%' OR column_default LIKE '%now()%'"
                )
            )
            assert not set(identity.scalars().all()) & set(PRIVATE + SEALED)
            triggers = await connection.execute(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal"
                )
            )
            assert not triggers.scalars().all()
        else:
            assert (await connection.execute(text("SELECT rowid FROM rounds"))).all() == []
            for name in PRIVATE + SEALED:
                with pytest.raises(DBAPIError, match="rowid"):
                    await connection.execute(text(f"SELECT rowid FROM {name}"))
                await connection.rollback()
                sql = await connection.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
                )
                assert "WITHOUT ROWID" in sql.upper()
            triggers = await connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            )
            assert not triggers.all()
            sequences = await connection.execute(
                text("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
            )
            assert not sequences.all()  # no AUTOINCREMENT anywhere


# ---------------------------------------------------------------------------------- the story


async def test_ids_are_random_and_renewed_at_close(engine, worker, clock, database):
    story = await live_story(engine, worker, clock, database)
    closed = story.closed
    for name in PRIVATE:
        for row in closed[name]:
            assert re.fullmatch(r"[0-9a-f]{32}", row["id"]), (name, row)
            parsed = uuid.UUID(hex=row["id"])
            assert parsed.version == 4 and parsed.variant == uuid.RFC_4122, (name, row["id"])
    # While open, each ballot was one sealed row; listed in submission order, their ids are
    # uuid4-shaped and not sorted (a sequence or a time-based id would be).
    in_submission_order = sealed_ids_in_submission_order(story, "ballot")
    assert len(in_submission_order) == len(BALLOT_ORDER)
    for row_id in in_submission_order:
        parsed = uuid.UUID(hex=row_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert in_submission_order not in (
        sorted(in_submission_order),
        sorted(in_submission_order)[::-1],
    )
    # After the close no ballot is left, sealed or not, and no id seen before survives.
    assert not [r for r in closed["sealed"] if r["kind"] == "ballot"]
    everything_after = repr(closed)
    assert not [i for i in in_submission_order if i in everything_after]


def sealed_ids_in_submission_order(story: Story, kind: str) -> list[str]:
    """The sealed row each act of `kind` added (the test's knowledge of who acted when)."""
    seen: set[str] = set()
    order: list[str] = []
    for act, _, snapshot in story.after:
        ids = {r["id"] for r in snapshot["sealed"] if r["kind"] == kind}
        new = ids - seen
        if act == kind:
            assert len(new) == 1, (act, new)
            order += list(new)
        seen |= ids
    return order


async def test_physical_order_and_row_versions_replay_nothing(engine, worker, clock, database):
    story = await live_story(engine, worker, clock, database)
    pg = is_pg(database)
    members_in_first_order: list[int] | None = None
    for kind, who, seen in story.after:
        ledger = seen["ledger"]
        assert len(ledger) == 9
        order = [row["member_id"] for row in ledger]
        if members_in_first_order is None:
            members_in_first_order = order
        # The ledger's physical order is the same after every write, whoever wrote.
        assert order == members_in_first_order, (kind, who, order)
        if pg:
            # Every ledger row of the round carries the same row version after each write.
            assert len({row["xmin"] for row in ledger}) == 1, (kind, who, ledger)
    assert members_in_first_order is not None
    assert sorted(members_in_first_order) == members_in_first_order
    # The open answers, written at the close: "Idée numéro N" is the N-th ballot submitted.
    order = " ORDER BY ctid" if pg else ""  # else the table scan's order
    physical = await fetch(database, f"SELECT text FROM open_answers{order}")
    sequence = [int(r["text"].rsplit(" ", 1)[1]) for r in physical]
    assert sorted(sequence) == list(range(1, len(BALLOT_ORDER) + 1))
    assert sequence != sorted(sequence)  # shuffled (chance of this order by luck: 1 in 5,040)
    if pg:
        closed = story.closed
        xmins = {r["xmin"] for r in closed["open_answers"]} | {
            r["xmin"] for r in closed["unit_cells"]
        }
        # One transaction (the close) wrote every open answer and every cell...
        assert len(xmins) == 1
        # ...and none of the submissions' transactions survives in them.
        assert not xmins & {r["xmin"] for r in story.before_close["sealed"]}


async def test_time_is_a_day_at_most_and_no_outbox_row_dates_a_submission(
    engine, worker, clock, database
):
    story = await live_story(engine, worker, clock, database)
    closed = story.closed
    submitted_on = {
        (START + dt.timedelta(hours=h)).astimezone(TORONTO).date()
        for h, kind, _ in TIMELINE
        if kind == "ballot"
    }
    assert len(submitted_on) >= 3  # ballots came in over three local days...
    assert {_as_date(r["day"]) for r in closed["open_answers"]} == {story.opened_on}  # one day
    # Tensions, the anonymous and the summary-only success, the pre-reflections: still
    # sealed, waiting for their batch, with nothing in the clear but their kind and batch.
    assert not closed["tensions"] and not closed["successes"]
    assert "pre_reflections" not in closed  # they live sealed until the meeting, then go
    waiting = Counter(r["kind"] for r in closed["sealed"] if r["kind"] != "ballot")
    assert waiting == {"tension": 3, "success": 2, "pre_reflection": 2}
    assert {r["batch"] for r in closed["sealed"] if r["kind"] in ("tension", "success")} == {"week"}
    # Acting privately queues nothing: no outbox row is dated at someone's submission.
    acts = Counter(kind for kind, _, _, _ in story.outbox_changes)
    assert acts == {"ballot": 7, "skip": 1, "tension": 3, "success": 2, "pre": 2}
    for kind, who, before, after in story.outbox_changes:
        assert after == before, (kind, who)


async def test_ledger_speaks_while_open_and_is_erased_at_close(engine, worker, clock, database):
    story = await live_story(engine, worker, clock, database)
    ids = story.member_ids
    statuses = {row["member_id"]: row["status"] for row in story.before_close["ledger"]}
    assert statuses == {
        **{ids[who]: "answered" for who in BALLOT_ORDER},
        ids["jonathan"]: "skipped",
        ids["emilie"]: "asked",
    }
    closed = story.closed
    assert not [r for r in closed["participation"] if r["round_id"] == story.round_id]
    [round_row] = closed["rounds"]
    assert (round_row["asked_count"], round_row["answered_count"], round_row["skipped_count"]) == (
        9,
        7,
        1,
    )
    keys_before = {r["idem_key"] for r in story.before_close["outbox"]}
    assert any(k.startswith(f"remind:{story.round_id}:") for k in keys_before)  # there were some
    assert any(k.startswith(f"checkin:{story.round_id}:") for k in keys_before)
    for row in closed["outbox"]:
        assert not row["idem_key"].startswith(
            (f"checkin:{story.round_id}:", f"remind:{story.round_id}:")
        )


async def test_ledger_order_survives_any_query_plan(engine, database):
    """Whatever plan the database picks for the ledger's UPDATE (here: forced sequential scans,
    what PostgreSQL uses once the table is analysed and small), the rows' physical order never
    moves the latest writer behind the others."""
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    ids = {
        r["user_ref"]: r["id"] for r in await fetch(database, "SELECT id, user_ref FROM members")
    }
    plans = ["SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off"]

    async def physical(table: str) -> list[int]:
        order = " ORDER BY ctid" if is_pg(database) else ""
        return [
            r["member_id"] for r in await fetch(database, f"SELECT member_id FROM {table}{order}")
        ]

    start = await physical("participation")
    assert start == sorted(start)
    for who in ("luc", "camille", "aisha", "jonathan", "nadia"):
        async with database.session() as session, session.begin():
            if is_pg(database):
                for statement in plans:
                    await session.execute(text(statement))
            round_ = await rounds.open_round_of(session, 1)
            assert round_ is not None
            if who == "jonathan":
                assert await rounds.skip(session, round_.id, ids[who])
            else:
                values = [rounds.ItemValue(i, "vision", 3) for i in round_.items]
                assert await ballots.record_ballot(
                    session,
                    engine.sealer,
                    round_=round_,
                    member_id=ids[who],
                    values=values,
                    sector=None,
                    position=None,
                    open_text=None,
                )
        assert await physical("participation") == start, who


# ---------------------------------------------------------------------------------- joins


def _matches(mine: Any, theirs: Any, same_name: bool) -> bool:
    """Could a join equate these two stored values?"""
    if mine is None or theirs is None or isinstance(mine, bool) or isinstance(theirs, bool):
        return False
    if isinstance(theirs, dict | list):
        theirs = json.dumps(theirs, ensure_ascii=False)
    if isinstance(mine, int):
        return same_name and isinstance(theirs, int) and mine == theirs
    if isinstance(mine, dt.datetime):
        mine = mine.date()
    if isinstance(mine, dt.date):
        if isinstance(theirs, dt.datetime):
            moment = _as_datetime(theirs)
            return mine in (moment.date(), moment.astimezone(TORONTO).date())
        if isinstance(theirs, dt.date):
            return mine == theirs
        if isinstance(theirs, str):
            return mine.isoformat() in theirs
        return False
    if isinstance(mine, str) and isinstance(theirs, str):
        return mine == theirs or (len(mine) >= 8 and mine in theirs)
    return False


def unique_matches(
    entities: dict[str, list[dict[str, Any]]],
    people: list[tuple[int, str, dict[str, Any]]],
) -> list[tuple[str, int, frozenset[tuple[str, str]]]]:
    """Every (entity, member) that some column join pins to each other one-to-one.

    A join predicate is a set of (entity column, person-table column) equalities. For each
    entity and each row of a table that names a member, collect the equalities that hold for
    all of the entity's rows; every such set, and every single equality, is a predicate. A
    predicate singles an entity out when exactly one member satisfies it for that entity and
    that member satisfies it for no other entity.
    """
    signatures: dict[tuple[str, int], set[frozenset[tuple[str, str]]]] = {}
    for key, rows in entities.items():
        for member_id, table, row in people:
            holds = frozenset(
                (column, f"{table}.{theirs}")
                for column in rows[0]
                for theirs in row
                if all(_matches(r[column], row[theirs], column == theirs) for r in rows)
            )
            if holds:
                signatures.setdefault((key, member_id), set()).add(holds)
    predicates = {frozenset([pair]) for sets in signatures.values() for s in sets for pair in s}
    predicates |= {s for sets in signatures.values() for s in sets}
    found = []
    for predicate in predicates:
        candidates: dict[str, set[int]] = {}
        for (key, member_id), sets in signatures.items():
            if any(predicate <= s for s in sets):
                candidates.setdefault(key, set()).add(member_id)
        for key, members in candidates.items():
            if len(members) == 1:
                [member_id] = members
                if all(member_id not in others for k, others in candidates.items() if k != key):
                    found.append((key, member_id, predicate))
    return found


def people_rows(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[int, str, dict[str, Any]]]:
    rows = [(r["id"], "members", r) for r in tables["members"]]
    for name in ("participation", "outbox"):
        rows += [(r["member_id"], name, r) for r in tables[name] if r["member_id"] is not None]
    return rows


async def test_no_join_pins_a_ballot_or_a_text_on_a_member(engine, worker, clock, database):
    story = await live_story(engine, worker, clock, database)
    tables = story.closed
    people = people_rows(tables)
    # No ballot survives the close: what is left of them is the unit's cells.
    cells = tables["unit_cells"]
    assert cells and not [r for r in tables["sealed"] if r["kind"] == "ballot"]
    # A cell's own row number and its unit's are the aggregate's, set at the close for every
    # cell at once: what a cell says is its segment, dimension and counts.
    entities: dict[str, list[dict[str, Any]]] = {
        f"cell:{r['id']}": [{k: v for k, v in r.items() if k not in ("id", "unit_id")}]
        for r in cells
    }
    for name in ("open_answers", "tensions", "successes"):
        entities |= {f"{name}:{r['id']}": [r] for r in tables[name]}
    found = unique_matches(entities, people)
    assert not found, found[:5]
    # The join is able to find a link where one exists: a cell stamped with a member's id.
    planted = {"cell:planted": [{**cells[0], "dimension": PEOPLE["luc"].user_ref, "id": None}]}
    assert {(k, m) for k, m, _ in unique_matches(planted, people)} >= {
        ("cell:planted", story.member_ids["luc"])
    }
    # The adversary also knows the code: every cell covers 0 or at least k respondents, and
    # the members who could fall in its segment are at least k too.
    members = tables["members"]
    sizes = Counter((m["sector"] or "", m["position"] or "") for m in members if m["active"])
    scheme = recording_scheme(dict(sizes), DEMO_K)
    crowd = Counter(scheme.apply(m["sector"], m["position"]) for m in members if m["active"])
    for cell in cells:
        assert cell["respondents"] == 0 or cell["respondents"] >= DEMO_K, cell
        covered = sum(
            n
            for (sec, pos), n in crowd.items()
            if cell["sector"] in (None, sec) and cell["position"] in (None, pos)
        )
        assert covered >= DEMO_K, cell


async def test_recorded_segments_do_not_single_out_anyone(engine, worker, clock, database):
    """The demo team as shipped: k = 3, Luc the only community member who is not front line.

    Positions alone would keep only `front_line` (6 members; manager 2 + coordinator 1 = 3
    hidden), and Luc's ballot would be stored as (community, None): a combination only he
    has, found by anyone reading the ballots and `members`. `recording_scheme` now checks every
    combination a ballot could carry, blank parts included, and drops positions instead.
    """
    await seeded(engine)
    await worker.drain()
    await engine.jobs.run("checkin", "demo")
    [round_row] = await fetch(database, "SELECT id, items FROM rounds")
    items = round_row["items"]
    items = json.loads(items) if isinstance(items, str) else list(items)
    for who in ("luc", "sophie", "camille", "nadia", "aisha", "daniel"):
        clock.advance(hours=1)
        values = {f"item:{i}": "3" for i in items}
        await tell(
            engine, who, "checkin.submit", {"team": "demo", "round": str(round_row["id"])}, values
        )
    # The ballots as sealed (opened here with the server's key: nobody else can).
    async with database.session() as session:
        opened, _ = await ballots.open_ballots(session, engine.sealer, 1, [round_row["id"]])
    clock.advance(hours=72)
    await engine.jobs.run("close", "demo", forced=False)
    members = await fetch(
        database, "SELECT sector, position FROM members WHERE active = :y", y=True
    )
    sizes = Counter((m["sector"] or "", m["position"] or "") for m in members)
    scheme = recording_scheme(dict(sizes), DEMO_K)
    crowd = Counter(scheme.apply(m["sector"], m["position"]) for m in members)
    stored = {(b.sector, b.position) for b in opened}
    lonely = {segment: crowd[segment] for segment in stored if crowd[segment] < DEMO_K}
    assert not lonely, f"ballots stored under segments fewer than k members share: {lonely}"
    # Here by dropping positions for the whole team, sectors kept.
    assert {position for _, position in stored} == {None}
    assert {sector for sector, _ in stored} == {"public", "community"}
    # At rest after the close: cells of three respondents each side, nothing smaller.
    cells = await fetch(database, "SELECT sector, position, respondents FROM unit_cells")
    assert {c["sector"] for c in cells} == {"public", "community"}
    assert all(c["respondents"] in (0, 3) for c in cells), cells


# ---------------------------------------------------------------------------------- tensions

# The words a per-member tally of tensions would need in a column or table name.
TALLY_WORDS = ("tension", "week", "count", "quota", "limit", "tally")
# The tables that may name a member, each reviewed: the roster itself, the round's ledger
# (erased at close) and the messages to send. A new one must be reviewed and added here.
PER_MEMBER = ("members", "participation", "outbox")


async def inspect_schema(database: Database) -> dict[str, tuple[list[Any], list[Any]]]:
    """Every table's columns and foreign keys, as the database reports them."""

    def read(sync) -> dict[str, tuple[list[Any], list[Any]]]:
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


async def test_no_table_keeps_a_tension_tally_per_member(database):
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
    engine, worker, clock, database
):
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


async def test_the_weekly_limit_holds_and_its_slots_name_no_one(engine, clock, database):
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
            return await engine.tension_limiter.used(
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
    engine, worker, clock, database
):
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
        assert _as_datetime(row["not_before"]) == clock() != written_at  # the job's time
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


# ---------------------------------------------------------------------------------- leftovers


RAW_RELATIONS = ("sealed", "sealed_pkey", "open_answers", "open_answers_pkey")


async def _what_lies_below(database: Database) -> dict[str, Any]:
    """What reading below SQL finds: dead row versions and raw pages (PostgreSQL), or the
    bytes of the database files, WAL included (SQLite)."""
    if is_pg(database):
        return {
            "dead": await _dead_versions(database),
            "pages": {r: b"".join(await _pages(database, r)) for r in RAW_RELATIONS},
        }
    path = Path(database.url.split("///", 1)[1])
    return {
        "files": {
            p.name: p.read_bytes()
            for p in path.parent.iterdir()
            if p.name.startswith(path.name) and not p.name.endswith("-shm")
        }
    }


async def _enable_pageinspect(database: Database) -> None:
    if is_pg(database):
        async with database.engine.connect() as connection:
            await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            await connection.commit()


def _wal_size(files: dict[str, bytes]) -> int:
    return sum(len(data) for name, data in files.items() if name.endswith("-wal"))


def _spy_on_maintenance(monkeypatch, database: Database) -> list[dict[str, Any]]:
    """Record what lies below SQL each time a job calls the maintenance, just before it runs."""
    calls: list[dict[str, Any]] = []
    real = maintenance.vacuum_private_tables

    async def observed(db: Database, fresh: bool = True) -> None:
        assert db is database
        calls.append(await _what_lies_below(db))
        await real(db, fresh)

    monkeypatch.setattr("dialogs.jobs.vacuum_private_tables", observed)
    return calls


async def test_the_close_leaves_no_old_row_version_or_wal_page(
    engine, worker, clock, database, monkeypatch
):
    """The close job runs the maintenance itself, after its commit: by the time it returns,
    what the close erased or rewrote is gone from below SQL too."""
    await _enable_pageinspect(database)
    calls = _spy_on_maintenance(monkeypatch, database)
    story = await live_story(engine, worker, clock, database)
    assert len(calls) == 1  # the close, and no other job of the story
    [before] = calls
    now = await _what_lies_below(database)
    # The close opened the sealed ballots and deleted them (with the key, an old version of
    # one would still open); its open answers and cells are new rows.
    old_ids = {r["id"] for r in story.before_close["sealed"] if r["kind"] == "ballot"}
    assert len(old_ids) == len(BALLOT_ORDER)
    texts = len(await fetch(database, "SELECT id FROM open_answers"))
    assert texts == len(BALLOT_ORDER)
    if is_pg(database):
        # Before VACUUM the heap still held what the close erased: per-member statuses with
        # the transaction that wrote each, and the sealed ballots, readable below SQL.
        assert any("answered" in row for row in before["dead"]["participation"]), before["dead"]
        assert any(i.encode() in before["pages"]["sealed"] for i in old_ids)
        assert not any(now["dead"].values()), now["dead"]
        # Not even in free space: a plain VACUUM would leave the bytes of the versions it
        # unhooks in the page (headers and all), where get_raw_page still finds them.
        for relation in ("sealed", "sealed_pkey"):
            assert not any(i.encode() in now["pages"][relation] for i in old_ids), relation
    else:
        assert (await fetch(database, "PRAGMA secure_delete"))[0]["secure_delete"] == 1

        def leftovers(files: dict[str, bytes]) -> int:
            return sum(i.encode() in data for data in files.values() for i in old_ids)

        # Before the checkpoint the WAL still held the pages as they were before the close.
        assert leftovers(before["files"]) > 0
        assert leftovers(now["files"]) == 0
        assert _wal_size(now["files"]) == 0
    # What remains is all there, and still readable.
    assert len(await fetch(database, "SELECT id FROM open_answers")) == texts
    # Called directly (on a timer, by the CLI), it has nothing left to do and breaks nothing.
    await maintenance.vacuum_private_tables(database)
    assert len(await fetch(database, "SELECT id FROM open_answers")) == texts


async def three_answer_a_round(engine, clock, database: Database) -> None:
    """The demo team's round opened by its calendar, answered by three members an hour apart."""
    await seeded(engine)
    await engine.jobs.run("checkin", "demo", forced=False)
    [round_row] = await fetch(database, "SELECT id, items FROM rounds")
    items = round_row["items"]
    items = json.loads(items) if isinstance(items, str) else list(items)
    values = {f"item:{i}": "4" for i in items}
    for who in ("sophie", "camille", "luc"):
        clock.advance(hours=1)
        context = {"team": "demo", "round": str(round_row["id"])}
        await tell(engine, who, "checkin.submit", context, values)


async def test_a_close_by_the_minute_tick_runs_the_maintenance_too(
    engine, clock, database, monkeypatch
):
    await _enable_pageinspect(database)
    calls = _spy_on_maintenance(monkeypatch, database)
    await three_answer_a_round(engine, clock, database)
    clock.advance(hours=20)
    assert not await engine.jobs.tick() and not calls  # nothing due, nothing to clean
    clock.advance(hours=60)
    results = await engine.jobs.tick()
    assert "jobs.closed" in {r.message for r in results}
    [before] = calls
    now = await _what_lies_below(database)
    if is_pg(database):
        assert before["dead"]["participation"] and not any(now["dead"].values()), now["dead"]
    else:
        assert _wal_size(before["files"]) > 0 and _wal_size(now["files"]) == 0
    assert not await engine.jobs.tick() and len(calls) == 1


async def _blocks(database: Database, relation: str) -> int:
    [row] = await fetch(
        database,
        "SELECT pg_relation_size(CAST(:t AS text)::regclass) "
        "/ current_setting('block_size')::int AS n",
        t=relation,
    )
    return int(row["n"])


async def _dead_versions(database: Database) -> dict[str, list[str]]:
    """Per private table, the row versions no query sees but pageinspect still reads."""
    found: dict[str, list[str]] = {}
    for name in ("sealed", "open_answers", "participation"):
        live = {r["ctid"] for r in await fetch(database, f"SELECT ctid::text AS ctid FROM {name}")}
        found[name] = []
        for block in range(await _blocks(database, name)):
            rows = await fetch(
                database,
                "SELECT lp, t_data FROM heap_page_items(get_raw_page(:t, :b)) "
                "WHERE lp_flags = 1 AND t_data IS NOT NULL",
                t=name,
                b=block,
            )
            found[name] += [
                bytes(r["t_data"]).decode("latin-1")
                for r in rows
                if f"({block},{r['lp']})" not in live
            ]
    return found


async def _pages(database: Database, relation: str) -> list[bytes]:
    """Every page of the relation as stored, free space included."""
    pages = []
    for block in range(await _blocks(database, relation)):
        [row] = await fetch(database, "SELECT get_raw_page(:t, :b) AS page", t=relation, b=block)
        pages.append(bytes(row["page"]))
    return pages


async def test_a_transaction_older_than_the_close_postpones_the_maintenance(
    engine, clock, database, monkeypatch
):
    """The adversary reads the ledger's pages after a close while another database of the
    cluster (another application) holds a write transaction begun before it: VACUUM FULL
    cannot drop the old versions then. The maintenance waits for it, a bounded time, then
    owes the run instead of calling it done; the next tick, once that transaction has ended,
    leaves no old version. (SQLite: nothing else shares its file; the run is not owed.)"""
    await _enable_pageinspect(database)
    monkeypatch.setattr(maintenance, "OLDER_TRANSACTIONS_WAIT", 0.3)
    await three_answer_a_round(engine, clock, database)
    other = await asyncpg.connect(_plain(POSTGRES_ADMIN_URL)) if is_pg(database) else None
    try:
        if other is not None:
            elsewhere = other.transaction()
            await elsewhere.start()
            await other.fetchval("SELECT pg_current_xact_id()")  # it writes: it has an id
        clock.advance(hours=80)
        assert "jobs.closed" in {r.message for r in await engine.jobs.tick()}
        assert engine.jobs.vacuum_owed is (other is not None)
        if other is not None:
            kept = await _what_lies_below(database)
            assert kept["dead"]["participation"], kept["dead"]  # what the close erased
            await elsewhere.commit()
    finally:
        if other is not None:
            await other.close()
    clock.advance(minutes=1)
    await engine.jobs.tick()
    assert not engine.jobs.vacuum_owed
    if is_pg(database):
        now = await _what_lies_below(database)
        assert not any(now["dead"].values()), now["dead"]
