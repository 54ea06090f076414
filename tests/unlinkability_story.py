"""The story the unlinkability tests (tests/test_unlinkability_*.py) attack, and how they read
the database.

An adversary with the whole database tries to tell who said what, and fails.

One scripted story runs on each database: a check-in round answered by seven people over three
days in an order unrelated to their ids (one skips, one stays silent, a reminder goes out in the
middle), three tensions, an anonymous and a summary-only success, a reflexive space with two
pre-reflections. Each test then reads the database as an operator could (every table, every
column, PostgreSQL's system columns, the SQLite files) and tries to link a ballot, a tension,
a success or a pre-reflection to a member.

The demo team is used with one change: Luc moves to the public network, so that the team's
recording scheme keeps both sectors and positions (every combination then holds k members) and
the story exercises ballots that carry both. The demo team as shipped gets sectors only: see
`test_recorded_segments_do_not_single_out_anyone` in tests/test_unlinkability_joins.py.

Tensions, anonymous and summary-only successes and pre-reflections wait sealed until their
batch (tests/test_sealed_rituals.py attacks them at rest, in the WAL and after the batch). The
weekly tension limit is kept as keyed slots in `tension_tokens`, which name no one without the
server's secret: see tests/test_unlinkability_tensions.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.outbox_worker import OutboxWorker
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage.database import Database
from tests.conftest import START, Clock
from tests.helpers import PEOPLE, reflexive_schedule, seeded, submit, text_of
from tests.sql_reads import fetch, is_pg

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


async def tell(
    engine: Engine,
    who: str,
    action: str,
    context: dict[str, str],
    values: dict[str, str] | None = None,
) -> str:
    return text_of(await submit(engine, who, action, context, values))


async def live_story(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> Story:
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
    story.opened_on = as_date(round_row["opened_on"])
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


async def _act(engine: Engine, story: Story, database: Database, kind: str, who: str) -> str:
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
        values = reflexive_schedule("once")
        await tell(engine, who, "reflexive.save", context, values)
        result = await engine.jobs.run("reflexive-invite", "demo")
        assert result.count == 9
        [occurrence] = await fetch(database, "SELECT id, occurs_at FROM reflexive_occurrences")
        story.occurrence_id = occurrence["id"]
        story.occurs_on = as_datetime(occurrence["occurs_at"]).date()
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


def as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def as_datetime(value: Any) -> dt.datetime:
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
