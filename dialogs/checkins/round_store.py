"""Check-in rounds, the participation ledger and the ballot box.

Unlinkability, concretely:
- a ballot is sealed (storage.sealing) with no member, and stays sealed until its result is
  frozen (`dialogs.checkins.results`), which aggregates it and deletes it: no raw ballot is
  ever kept in the clear;
- every ledger write rewrites all of the round's rows in the same statement, so the row
  versions carry no per-member time or order;
- at close the ledger's per-member statuses are replaced by counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dialogs.checkins.models import Participation, Round
from storage.upsert import insert_ignore

ASKED, ANSWERED, SKIPPED = "asked", "answered", "skipped"


@dataclass(frozen=True)
class ItemValue:
    item_id: str
    dimension: str
    value: int | None  # None: "prefer not to answer"


async def open_round(
    session: AsyncSession,
    *,
    team_id: int,
    occurrence: str,
    kind: str,
    items: list[str],
    open_question_id: str | None,
    opened_at: dt.datetime,
    opened_on: dt.date,
    remind_at: dt.datetime,
    closes_at: dt.datetime,
    member_ids: Iterable[int],
) -> Round | None:
    """Open a round and ask `member_ids`; None when this occurrence already has its round."""
    existing = await session.scalar(
        select(Round).where(Round.team_id == team_id, Round.occurrence == occurrence)
    )
    if existing is not None:
        return None
    seq = await last_seq(session, team_id)
    inserted = await insert_ignore(
        session,
        Round.__table__,  # type: ignore[arg-type]
        {
            "team_id": team_id,
            "seq": seq + 1,
            "kind": kind,
            "occurrence": occurrence,
            "opened_on": opened_on,
            "opened_at": opened_at,
            "remind_at": remind_at,
            "closes_at": closes_at,
            "reminded": False,
            "closed": False,
            "items": items,
            "open_question_id": open_question_id,
        },
        ["team_id", "occurrence"],
    )
    if not inserted:
        return None
    round_ = await session.scalar(
        select(Round).where(Round.team_id == team_id, Round.occurrence == occurrence)
    )
    assert round_ is not None
    session.add_all(
        Participation(round_id=round_.id, member_id=m, status=ASKED) for m in member_ids
    )
    await session.flush()
    return round_


async def last_seq(session: AsyncSession, team_id: int) -> int:
    """The number of the team's latest round (0 before the first)."""
    return (await session.scalar(select(func.max(Round.seq)).where(Round.team_id == team_id))) or 0


async def open_round_of(session: AsyncSession, team_id: int) -> Round | None:
    return await session.scalar(
        select(Round)
        .where(Round.team_id == team_id, Round.closed.is_(False))
        .order_by(Round.seq.desc())
    )


async def round_by_id(session: AsyncSession, round_id: int) -> Round | None:
    return await session.get(Round, round_id)


async def rounds_of(session: AsyncSession, team_id: int) -> Sequence[Round]:
    return (
        await session.scalars(select(Round).where(Round.team_id == team_id).order_by(Round.seq))
    ).all()


async def status_of(session: AsyncSession, round_id: int, member_id: int) -> str | None:
    return await session.scalar(
        select(Participation.status).where(
            Participation.round_id == round_id, Participation.member_id == member_id
        )
    )


async def members_with_status(session: AsyncSession, round_id: int, status: str) -> list[int]:
    rows = await session.scalars(
        select(Participation.member_id).where(
            Participation.round_id == round_id, Participation.status == status
        )
    )
    return list(rows.all())


async def ask_late_joiner(session: AsyncSession, round_id: int, member_id: int) -> bool:
    return await insert_ignore(
        session,
        Participation.__table__,  # type: ignore[arg-type]
        {"round_id": round_id, "member_id": member_id, "status": ASKED},
        ["round_id", "member_id"],
    )


async def lock_ledger(session: AsyncSession, round_id: int) -> None:
    """PostgreSQL: lock every ledger row of the round, always in member order.

    Every writer of a round's ledger (a submission, a skip, the close) takes the same locks in
    the same order, so concurrent writers queue instead of deadlocking. SQLite needs nothing:
    its single write lock serialises the statements that follow.
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(
            select(Participation.member_id)
            .where(Participation.round_id == round_id)
            .order_by(Participation.member_id)
            .with_for_update()
        )


async def mark(
    session: AsyncSession,
    round_id: int,
    member_id: int,
    status: str,
    sealed_with: str | None = None,
) -> bool:
    """Move one member from asked to `status` by rewriting every row of the round at once.

    One guarded UPDATE of the whole round, no separate per-member statement: a per-member
    UPDATE first would give that member's row an extra version and (PostgreSQL, sequential scan)
    move it behind everyone else's in the heap, so the ledger's physical order would replay who
    answered when. Here every row gets exactly one new version per write, in the order the rows
    already had. The guard (`EXISTS` the member still 'asked') runs under the write lock
    (SQLite) or after `_lock_ledger` (PostgreSQL), so a double submission finds the member no
    longer 'asked' and changes nothing.
    """
    await lock_ledger(session, round_id)
    mine = aliased(Participation)
    still_asked = (
        select(mine.member_id)
        .where(
            mine.round_id == round_id,
            mine.member_id == member_id,
            mine.status == ASKED,
        )
        .exists()
    )
    result = await session.execute(
        update(Participation)
        .where(Participation.round_id == round_id, still_asked)
        .values(
            status=case((Participation.member_id == member_id, status), else_=Participation.status),
            sealed_with=case(
                (Participation.member_id == member_id, sealed_with),
                else_=Participation.sealed_with,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def skip(session: AsyncSession, round_id: int, member_id: int) -> bool:
    return await mark(session, round_id, member_id, SKIPPED)


async def close_round(session: AsyncSession, round_: Round) -> bool:
    """Count the ledger and erase its per-member statuses; the ballots stay sealed until
    their result is frozen (`dialogs.checkins.results`). True for the one closer that closed it.

    Closing twice (two processes' ticks, a retry) closes once: the first statement claims the
    round (on PostgreSQL a second closer waits for the first's commit, then matches nothing),
    and a second closer finds it closed, leaves the counts alone and gets False.
    """
    claimed = await session.execute(
        update(Round)
        .where(Round.id == round_.id, Round.closed.is_(False))
        .values(closed=True)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        await session.refresh(round_)
        return False
    await lock_ledger(session, round_.id)
    result = await session.execute(
        select(Participation.status, func.count())
        .where(Participation.round_id == round_.id)
        .group_by(Participation.status)
    )
    counts = {status: int(n) for status, n in result.tuples()}
    round_.answered_count = counts.get(ANSWERED, 0)
    round_.skipped_count = counts.get(SKIPPED, 0)
    round_.asked_count = sum(counts.values())
    round_.closed = True
    await session.execute(
        delete(Participation)
        .where(Participation.round_id == round_.id)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return True


async def past_items(session: AsyncSession, team_id: int, limit: int = 12) -> list[list[str]]:
    """Items of the team's most recent rounds, newest first (for rotation)."""
    rows = await session.scalars(
        select(Round.items).where(Round.team_id == team_id).order_by(Round.seq.desc()).limit(limit)
    )
    return [list(items) for items in rows.all()]


async def closed_after(
    session: AsyncSession, team_id: int, kind: str, seq: int, *, min_answered: int = 0
) -> Sequence[Round]:
    """The team's closed rounds of one kind numbered after `seq`, in order; with
    `min_answered`, only those that many people answered."""
    return (
        await session.scalars(
            select(Round)
            .where(
                Round.team_id == team_id,
                Round.kind == kind,
                Round.closed.is_(True),
                Round.seq > seq,
                Round.answered_count >= min_answered,
            )
            .order_by(Round.seq)
        )
    ).all()
