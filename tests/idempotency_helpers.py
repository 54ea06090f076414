"""What the idempotency tests (tests/test_idempotency_*.py) read and repeat: rows, counts, a round
opened on the demo team, ballots and
submissions sealed, ballots opened."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage import teams
from storage.database import Database
from tests.helpers import PEOPLE, seeded, submit, text_of
from tests.sql_reads import fetch


async def count(database: Database, table: str, where: str = "1 = 1", **params: Any) -> int:
    [row] = await fetch(database, f"SELECT count(*) AS n FROM {table} WHERE {where}", **params)
    return int(row["n"])


async def state(database: Database) -> dict[str, list[Any]]:
    """What a repeated write could have changed."""
    tables = {
        "outbox": "idem_key, member_id, status, not_before",
        "rounds": "id, seq, occurrence, reminded, closed, asked_count, answered_count",
        "participation": "round_id, member_id, status, sealed_with",
        "unit_cells": "*",
        "open_answers": "round_id, text, status",
        "tensions": "text, status, published_on",
        "tension_replies": "tension_id, text",
        "successes": "text, consent, status",
        "reflexive_schedules": "id, first_local, recurrence",
        "reflexive_occurrences": "schedule_id, occurs_at, invited, posted",
        "summary_units": "*",
        "sealed": "id, team_id, kind, batch",
        "tension_tokens": "*",
        "success_tallies": "*",
    }
    snapshot = {}
    for table, columns in tables.items():
        rows = await fetch(database, f"SELECT {columns} FROM {table}")
        snapshot[table] = sorted(
            (tuple(str(v) for v in row.values()) for row in rows), key=lambda r: r
        )
    return snapshot


def title(who: str, key: str) -> str:
    return Tr(PEOPLE[who].language)(key)


async def open_round(engine: Engine, database: Database) -> tuple[dict[str, str], list[str]]:
    await seeded(engine)
    result = await engine.jobs.run("checkin", "demo")
    assert result.count == 9
    [row] = await fetch(database, "SELECT id, items FROM rounds")
    items = json.loads(row["items"]) if isinstance(row["items"], str) else list(row["items"])
    return {"team": "demo", "round": str(row["id"])}, items


OPEN_TEXT = "Plus de temps ensemble"


def ballot(items: list[str], value: str) -> dict[str, str]:
    return {**{f"item:{i}": value for i in items}, "open": OPEN_TEXT}


async def sealed_ballots(database: Database) -> int:
    """Check-in ballots waiting sealed: one row per ballot, never one per item."""
    return await count(database, "sealed", "kind = 'ballot'")


async def opened_ballots(engine: Engine, database: Database) -> list[ballots.OpenedBallot]:
    """The sealed ballots of the demo team's rounds, opened with the engine's key (read-only:
    nothing is deleted); every one of them must open."""
    async with database.session() as session:
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        round_ids = [r.id for r in await rounds.rounds_of(session, team.id)]
        opened, unopenable = await ballots.open_ballots(session, engine.sealer, team.id, round_ids)
    assert unopenable == 0
    return opened


def values_of(opened: ballots.OpenedBallot) -> dict[str, int | None]:
    return {v.item_id: v.value for v in opened.values}


def tension(words: str = "Les décisions arrivent sans nous.") -> dict[str, str]:
    return {"team": "demo", "text": words, "theme": "decisions", "prompt": ""}


async def sealed(database: Database, kind: str) -> int:
    """Submissions of `kind` waiting sealed for their batch."""
    return await count(database, "sealed", "kind = :k", k=kind)


async def twice_then_at_once(
    engine: Engine, who: str, action: str, context: dict[str, str], values: dict[str, str]
) -> tuple[str, str]:
    """The same submission twice in a row (a retry), then twice at once (a double click on two
    processes): the texts of the first answer and of the repeat."""
    first = text_of(await submit(engine, who, action, context, values))
    again = text_of(await submit(engine, who, action, context, values))
    await asyncio.gather(*(submit(engine, who, action, context, values) for _ in "ab"))
    return first, again
