"""A coordinator's review of open answers before they show in summaries (when the team asks).

The decision on a round's last waiting answer releases the round's reviewed answers: then each
ritual's `on_answers_released` hook runs (the summaries send the released texts to their
readers), in the same transaction as that decision, as the close runs `on_round_closed`.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.cards import Button, Card, Paragraph
from dialogs.checkins import ballot_store
from dialogs.checkins.models import OpenAnswer, Round
from dialogs.i18n import Tr
from dialogs.registry import Occasion
from dialogs.rituals import registry
from dialogs.turn import Turn
from storage.models import Team

PENDING = "pending_review"


async def ask(session: AsyncSession, team: Team, round_: Round, now: dt.datetime) -> int:
    """After a round closes, each coordinator gets the texts waiting for review."""
    pending = await ballot_store.pending_texts(session, [round_.id])
    requests = [
        (
            f"open-review:{answer.id}",
            functools.partial(review_card, team=team, round_=round_, answer=answer),
        )
        for answer in pending
    ]
    return await outbound.to_coordinators(session, team, requests, now=now)


def review_card(tr: Tr, team: Team, round_: Round, answer: OpenAnswer) -> Card:
    context = {"team": team.slug, "answer": answer.id}
    return Card(
        title=tr("open_review.title"),
        blocks=[
            Paragraph(text=tr("open_review.intro", seq=round_.seq)),
            Paragraph(text=answer.text, from_user=True),
        ],
        buttons=[
            Button(
                label=tr("open_review.approve"),
                action="open.approve",
                context=context,
                style="primary",
            ),
            Button(
                label=tr("open_review.hide"), action="open.hide", context=context, style="danger"
            ),
        ],
    )


async def review(turn: Turn, answer_id: str, status: str) -> bool:
    """A coordinator's decision (`status`: visible or hidden) on one answer; False when the
    answer is unknown, another team's, or already decided. When it was the round's last one
    waiting and at least one answer shows, the round's answers are released: the
    `on_answers_released` hooks run now, in this transaction, so they commit with it or not
    at all."""
    team = turn.team
    assert team is not None
    round_ = await _decide(turn.session, team, answer_id, status)
    if round_ is None:
        return False
    counts = dict(
        (
            await turn.session.execute(
                select(OpenAnswer.status, func.count())
                .where(OpenAnswer.round_id == round_.id)
                .group_by(OpenAnswer.status)
            )
        )
        .tuples()
        .all()
    )
    if counts.get(PENDING, 0) == 0 and counts.get("visible", 0) > 0:
        occasion = Occasion(turn.session, team, turn.now, turn.bank, turn.sealer)
        for hook in registry().answers_released_hooks():
            await hook(occasion, round_)
    return True


async def _decide(session: AsyncSession, team: Team, answer_id: str, status: str) -> Round | None:
    """Record the decision; the answer's round when it was recorded, else None.

    Every decision first locks its round's row (PostgreSQL; SQLite writes one at a time
    anyway), so decisions on one round follow each other: of two coordinators deciding the
    round's last two answers at once, the second counts after the first committed and sees
    nothing left waiting, so exactly one of them releases. The update is conditional: of two
    deciding the same answer, one records it, the other is told it was already reviewed.
    """
    answer = await session.get(OpenAnswer, answer_id)
    if answer is None:
        return None
    round_ = (
        await session.scalars(
            select(Round)
            .where(Round.id == answer.round_id, Round.team_id == team.id)
            .with_for_update()
        )
    ).one_or_none()
    if round_ is None:
        return None
    result = await session.execute(
        update(OpenAnswer)
        .where(OpenAnswer.id == answer_id, OpenAnswer.status == PENDING)
        .values(status=status)
    )
    return round_ if getattr(result, "rowcount", 0) == 1 else None
