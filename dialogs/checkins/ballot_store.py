"""The ballot box: check-in ballots sealed until their result is frozen, and the open answers.

A ballot is sealed (`storage.sealing`) with no member, in the transaction that marks its
author 'answered' in the ledger; it stays sealed through the close, and
`dialogs.checkins.results` opens, aggregates and deletes it when its unit is frozen. No raw
ballot is ever stored in the clear. Open answers of frozen units are written in a random order
under fresh ids; those held for review wait for a coordinator (`dialogs.checkins.open_review`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.checkins.models import OpenAnswer, Participation, Round
from dialogs.checkins.round_store import ANSWERED, ASKED, ItemValue, lock_ledger, mark
from storage import sealed
from storage.models import Sealed, new_uuid
from storage.sealed_batches import take
from storage.sealing import Sealer

BALLOT = "ballot"


def ballot_batch(round_id: int) -> str:
    return f"round:{round_id}"


async def record_ballot(
    session: AsyncSession,
    sealer: Sealer,
    *,
    round_: Round,
    member_id: int,
    values: Sequence[ItemValue],
    sector: str | None,
    position: str | None,
    open_text: str | None,
) -> bool:
    """Record one member's answers once, sealed until the round's result is frozen. False when
    they had already answered or skipped.

    The ledger change and the sealed ballot share a transaction (so its write-ahead record):
    without the secret the blob is unreadable; with it, this is the one window where a ballot
    and its author meet, until the close (docs/privacy.md).
    """
    if not await mark(session, round_.id, member_id, ANSWERED, sealer.key_id[:8]):
        return False
    payload: dict[str, object] = {
        "values": [[v.item_id, v.dimension, v.value] for v in values],
        "sector": sector,
        "position": position,
    }
    if open_text and round_.open_question_id:
        payload["open"] = [round_.open_question_id, open_text]
    await sealed.seal(
        session,
        sealer,
        team_id=round_.team_id,
        kind=BALLOT,
        batch=ballot_batch(round_.id),
        payload=payload,
    )
    return True


@dataclass(frozen=True)
class OpenedBallot:
    round_id: int
    values: list[ItemValue]
    sector: str | None
    position: str | None
    open_answer: tuple[str, str] | None  # (question id, text)


def _ballot(round_id: int, payload: dict[str, Any]) -> OpenedBallot:
    open_answer = payload.get("open")
    return OpenedBallot(
        round_id=round_id,
        values=[ItemValue(i, d, v) for i, d, v in payload["values"]],
        sector=payload.get("sector"),
        position=payload.get("position"),
        open_answer=(open_answer[0], open_answer[1]) if open_answer else None,
    )


async def open_ballots(
    session: AsyncSession, sealer: Sealer, team_id: int, round_ids: Sequence[int]
) -> tuple[list[OpenedBallot], int]:
    """The sealed ballots of these rounds, opened and left in place (to inspect them: tests,
    `passerelle` tools); and how many could not be opened."""
    ballots: list[OpenedBallot] = []
    unopenable = 0
    for round_id in round_ids:
        opened = await sealed.open_batch(
            session, sealer, team_id=team_id, kind=BALLOT, batches=[ballot_batch(round_id)]
        )
        unopenable += opened.unopenable
        ballots += [_ballot(round_id, payload) for payload in opened.payloads]
    random.SystemRandom().shuffle(ballots)
    return ballots, unopenable


async def take_ballots(
    session: AsyncSession, sealer: Sealer, team_id: int, round_ids: Sequence[int]
) -> tuple[list[OpenedBallot], int]:
    """Delete the sealed ballots of these rounds and return them opened, shuffled, with how
    many could not be opened: one `DELETE ... RETURNING` per round, so no ballot can be
    deleted unread, and two processes freezing the same unit cannot both get them."""
    ballots: list[OpenedBallot] = []
    unopenable = 0
    for round_id in round_ids:
        taken = await take(
            session, sealer, team_id=team_id, kind=BALLOT, batches=[ballot_batch(round_id)]
        )
        unopenable += taken.unopenable
        ballots += [_ballot(round_id, payload) for payload in taken.payloads]
    random.SystemRandom().shuffle(ballots)
    return ballots, unopenable


async def drop_ballots(session: AsyncSession, team_id: int, round_ids: Sequence[int]) -> int:
    """Delete the sealed ballots of these rounds (frozen, or never to be published)."""
    return await sealed.delete_batch(
        session, team_id=team_id, kind=BALLOT, batches=[ballot_batch(r) for r in round_ids]
    )


async def rounds_with_sealed_ballots(session: AsyncSession, team_id: int) -> list[int]:
    """Rounds of the team that still have sealed ballots (open, or closed and waiting)."""
    batches = await session.scalars(
        select(Sealed.batch).where(Sealed.team_id == team_id, Sealed.kind == BALLOT).distinct()
    )
    return sorted(int(b.removeprefix("round:")) for b in batches.all())


async def write_open_answers(
    session: AsyncSession,
    answers: Sequence[tuple[int, str, str]],
    *,
    status: str,
    day_of: dict[int, dt.date],
) -> None:
    """Write published open answers (round id, question id, text) in a random order under
    fresh ids, in one statement: their physical order is the batch's, not the writing's."""
    if not answers:
        return
    shuffled = list(answers)
    random.SystemRandom().shuffle(shuffled)
    await session.execute(
        insert(OpenAnswer),
        [
            {
                "id": new_uuid(),
                "round_id": round_id,
                "question_id": question_id,
                "text": text,
                "status": status,
                "day": day_of[round_id],
            }
            for round_id, question_id, text in shuffled
        ],
    )


async def unreadable_ballots(session: AsyncSession, sealer: Sealer, round_: Round) -> list[int]:
    """Members of an open round whose sealed ballot no key of this server opens (a lost
    secret): their ballots are deleted and they are 'asked' again, in one rewrite of the
    round's ledger. Returns those members."""
    held = {key_id[:8] for key_id in sealer.held_key_ids}
    lost = [
        member_id
        for member_id, key_id in (
            await session.execute(
                select(Participation.member_id, Participation.sealed_with).where(
                    Participation.round_id == round_.id, Participation.status == ANSWERED
                )
            )
        ).tuples()
        if key_id is not None and key_id not in held
    ]
    if not lost:
        return []
    await lock_ledger(session, round_.id)
    await session.execute(
        update(Participation)
        .where(Participation.round_id == round_.id)
        .values(
            status=case((Participation.member_id.in_(lost), ASKED), else_=Participation.status),
            sealed_with=case(
                (Participation.member_id.in_(lost), None), else_=Participation.sealed_with
            ),
        )
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(Sealed.id, Sealed.blob).where(
            Sealed.team_id == round_.team_id,
            Sealed.kind == BALLOT,
            Sealed.batch == ballot_batch(round_.id),
        )
    )
    gone = [row_id for row_id, blob in rows.tuples() if not sealer.opens(bytes(blob))]
    if gone:
        await session.execute(
            delete(Sealed).where(Sealed.id.in_(gone)).execution_options(synchronize_session=False)
        )
    return lost


# ------------------------------------------------------------------ open answers' review
async def pending_texts(session: AsyncSession, round_ids: Sequence[int]) -> Sequence[OpenAnswer]:
    if not round_ids:
        return []
    return (
        await session.scalars(
            select(OpenAnswer).where(
                OpenAnswer.round_id.in_(round_ids), OpenAnswer.status == "pending_review"
            )
        )
    ).all()


async def set_text_status(session: AsyncSession, answer_id: str, status: str) -> bool:
    answer = await session.get(OpenAnswer, answer_id)
    if answer is None or answer.status != "pending_review":
        return False
    answer.status = status
    return True
