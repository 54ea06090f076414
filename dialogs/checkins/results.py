"""Freezing results: sealed ballots become aggregates, and the ballots are gone.

When a unit (one round, or consecutive small rounds pooled) reaches k, its sealed ballots are
opened, counted per (dimension, sector, position), generalised with the summary's own rules
(`disclosure.generalise`) so that no stored cell holds a group a summary would withhold, and
stored as the unit's cells; its open answers are written in a random order under fresh ids;
then its sealed ballots are deleted, all in one transaction. A round that will never be
published (under k, no pooling) has its ballots and open answers deleted unread.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import unopenable as unopenable_notice
from dialogs.anonymity import effective_k
from dialogs.checkins import ballot_store, round_store
from dialogs.checkins.models import Round
from dialogs.disclosure import Cell, generalise
from storage import summary_units, teams
from storage.database import Database
from storage.models import Team
from storage.sealing import Sealer

log = logging.getLogger(__name__)
KINDS = ("checkin", "diagnostic")


def aggregate(ballots: Sequence[ballot_store.OpenedBallot], unit: int = 0) -> list[Cell]:
    """Cells per (dimension, sector, position): respondents are the ballots with at least one
    value in the dimension; a ballot that skipped every item of a dimension still makes its
    cell exist (with 0 respondents), as an SQL GROUP BY over the answers would."""
    sums: dict[tuple[str, str | None, str | None], list[int]] = {}
    for ballot in ballots:
        answered: set[str] = set()
        for item in ballot.values:
            cell = sums.setdefault((item.dimension, ballot.sector, ballot.position), [0] * 8)
            if item.value is None:
                continue
            cell[1] += 1
            cell[2] += item.value
            cell[2 + item.value] += 1
            if item.dimension not in answered:
                answered.add(item.dimension)
                cell[0] += 1
    return [
        Cell(unit, d, s, p, n, v, t, (c1, c2, c3, c4, c5))
        for (d, s, p), (n, v, t, c1, c2, c3, c4, c5) in sorted(sums.items(), key=str)
    ]


def _stored(cell: Cell) -> summary_units.CellRow:
    """A cell as `storage.summary_units` stores it (the unit is the row's own)."""
    return summary_units.CellRow(
        cell.dimension,
        cell.sector,
        cell.position,
        cell.respondents,
        cell.values,
        cell.total,
        cell.counts,
    )


async def freeze_unit(
    session: AsyncSession,
    sealer: Sealer,
    team: Team,
    kind: str,
    unit_rounds: Sequence[Round],
    now: dt.datetime | None = None,
) -> int | None:
    """Take (open and delete), aggregate, generalise, store: one unit, in the caller's
    transaction. None when another process froze it first (it had the ballots)."""
    opened, unopenable = await ballot_store.take_ballots(
        session, sealer, team.id, [r.id for r in unit_rounds]
    )
    cells = [_stored(c) for c in generalise(aggregate(opened), team.k)]
    unit_id = await summary_units.freeze(session, team.id, kind, unit_rounds, cells)
    if unit_id is None:
        return None
    # Ballots sealed under a key this server no longer holds: their authors cannot be asked
    # (the ledger is gone); the team is told the result counts only what could be read.
    await unopenable_notice.tell_team(
        session, team, "ballot", unopenable, now or dt.datetime.now(dt.UTC)
    )
    # Open answers only when the ballots actually read reach k, all under the unit's last
    # round and day: in a pooled unit, a small round's texts must not stand apart.
    last = unit_rounds[-1]
    if len(opened) >= effective_k(team.k):
        texts = [(last.id, *b.open_answer) for b in opened if b.open_answer is not None]
        await ballot_store.write_open_answers(
            session,
            texts,
            status="pending_review" if team.review_open_answers else "visible",
            day_of={last.id: last.opened_on},
        )
    return unit_id


async def freeze_new_units(
    session: AsyncSession, sealer: Sealer, team: Team, now: dt.datetime | None = None
) -> int:
    """After a close: freeze the closed rounds not yet in a unit, once they reach k.

    A round under k waits (sealed) to be pooled with the next ones when the team chose
    pooling; otherwise it is never published and its ballots are deleted unread. Frozen units
    never change, whatever k or pooling become later.
    """
    k = effective_k(team.k)
    frozen = 0
    for kind in KINDS:
        done = await summary_units.last_frozen_seq(session, team.id, kind)
        closed = await round_store.closed_after(
            session, team.id, kind, done, min_answered=0 if team.pool_small_rounds else k
        )
        waiting: list[Round] = []
        for round_ in closed:
            waiting = [*waiting, round_] if team.pool_small_rounds else [round_]
            if sum(r.answered_count or 0 for r in waiting) >= k:
                frozen += await freeze_unit(session, sealer, team, kind, waiting, now) is not None
                waiting = []
    await _drop_unpublishable(session, team)
    return frozen


async def _drop_unpublishable(session: AsyncSession, team: Team) -> None:
    """Closed rounds whose ballots can never be published: under k without pooling, or
    already inside a frozen unit (a unit frozen by another process first)."""
    pending = await ballot_store.rounds_with_sealed_ballots(session, team.id)
    if not pending:
        return
    k = effective_k(team.k)
    drop: list[int] = []
    for round_id in pending:
        round_ = await round_store.round_by_id(session, round_id)
        if round_ is None or not round_.closed:
            continue
        frozen = round_.seq <= await summary_units.last_frozen_seq(session, team.id, round_.kind)
        small = (round_.answered_count or 0) < k and not team.pool_small_rounds
        if frozen or small:
            drop.append(round_id)
    await ballot_store.drop_ballots(session, team.id, drop)


async def generalise_stored(session: AsyncSession, team: Team) -> int:
    """Bring units frozen before cells were generalised at rest (migration 0005) to the same
    rule; a unit already generalised is left as it is. Returns the units rewritten."""
    by_unit: dict[int, list[Cell]] = {}
    for unit_id, c in await summary_units.stored_cells(session, team.id):
        by_unit.setdefault(unit_id, []).append(
            Cell(
                unit_id,
                c.dimension,
                c.sector,
                c.position,
                c.respondents,
                c.answers,
                c.total,
                c.counts,
            )
        )
    rewritten = 0
    for unit_id, cells in by_unit.items():
        kept = generalise(cells, team.k)
        if set(kept) == set(cells):
            continue
        await summary_units.replace_cells(
            session,
            unit_id,
            [_stored(c) for c in kept],
        )
        rewritten += 1
    return rewritten


async def generalise_all_teams(database: Database) -> int:
    """`generalise_stored` for every team, each in its own transaction (after an upgrade)."""
    rewritten = 0
    async with database.session() as session:
        team_ids = [team.id for team in await teams.all_teams(session)]
    for team_id in team_ids:
        async with database.session() as session, session.begin():
            team = await session.get(Team, team_id)
            if team is not None:
                rewritten += await generalise_stored(session, team)
    return rewritten
