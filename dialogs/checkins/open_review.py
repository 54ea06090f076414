"""A coordinator's review of open answers before they show in summaries (when the team asks)."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.cards import Button, Card, Paragraph
from dialogs.checkins import ballot_store
from dialogs.checkins.models import OpenAnswer, Round
from dialogs.i18n import Tr
from storage.models import Team


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


async def decide(session: AsyncSession, team: Team, answer_id: str, status: str) -> bool:
    answer = await session.get(OpenAnswer, answer_id)
    if answer is None:
        return False
    round_ = await session.get(Round, answer.round_id)
    if round_ is None or round_.team_id != team.id:
        return False
    return await ballot_store.set_text_status(session, answer_id, status)
