"""The adversary joins every column of every table against the members' rows: no ballot, text or
recorded segment pins a member (the story: tests/unlinkability_story.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from bot.outbox_worker import OutboxWorker
from dialogs.anonymity import recording_scheme
from dialogs.checkins import ballot_store as ballots
from dialogs.engine import Engine
from storage.database import Database
from tests.conftest import Clock
from tests.helpers import PEOPLE, seeded
from tests.sql_reads import fetch
from tests.unlinkability_story import DEMO_K, TORONTO, as_datetime, live_story, tell


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
            moment = as_datetime(theirs)
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


async def test_no_join_pins_a_ballot_or_a_text_on_a_member(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
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


async def test_recorded_segments_do_not_single_out_anyone(
    engine: Engine, worker: OutboxWorker, clock: Clock, database: Database
) -> None:
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
