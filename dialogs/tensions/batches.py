"""Tensions in batches: opened from the sealed inbox for the coordinators' daily review or
for the weekly batch, written shuffled under fresh ids, and posted together.

A tension is opened only when its content must first be read: at the review when the team
reviews tensions (then a coordinator approves it for the next weekly batch), else at the
weekly batch. Either way the opening, the writing and the deletion of the sealed rows are one
transaction, and the rows are written in one shuffled statement.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, unopenable
from dialogs.cards import Button, Card, Form, Paragraph, TextInput
from dialogs.content import ContentBank
from dialogs.i18n import Tr
from dialogs.tensions import store
from dialogs.tensions.models import Tension
from dialogs.tensions.rate_limit import forget_past_weeks
from storage.dedupe import digest
from storage.models import Team
from storage.sealed_batches import take
from storage.sealing import Sealer


async def open_sealed(
    session: AsyncSession,
    sealer: Sealer,
    team: Team,
    batches: Sequence[str],
    status: str,
    now: dt.datetime,
) -> list[Tension]:
    """Open the sealed tensions of `batches` and write them, shuffled, under fresh ids, in the
    transaction that deletes the sealed rows. Those the key no longer opens are announced."""
    opened = await take(session, sealer, team_id=team.id, kind=store.KIND, batches=batches)
    await unopenable.tell_team(session, team, "tension", opened.unopenable, now)
    return await store.write_opened(
        session, team.id, opened.payloads, status=status, today=now.date()
    )


async def ask_reviews(
    session: AsyncSession, bank: ContentBank, team: Team, now: dt.datetime, sealer: Sealer
) -> int:
    """Queue the tensions waiting for review to each coordinator, as a daily batch.

    Never at the moment a tension is written: a review request dated then would date it. The
    tensions sealed for review are opened here, when their content must first be read.
    """
    await open_sealed(session, sealer, team, [store.REVIEW_BATCH], store.PENDING_REVIEW, now)
    pending = await store.tensions_with_status(session, team.id, store.PENDING_REVIEW)
    requests = [
        (
            f"review:{tension.id}",
            functools.partial(review_card, bank=bank, team=team, tension=tension),
        )
        for tension in pending
    ]
    return await outbound.to_coordinators(session, team, requests, now=now)


# A rejection's reason, shown to the tension's author with their follow-up code.
REASON_LIMIT = 500


def review_card(tr: Tr, bank: ContentBank, team: Team, tension: Tension) -> Card:
    """The tension to approve (a button) or not to publish (the form, with an optional reason
    its author reads with their follow-up code, the only way they are ever reached)."""
    context = {"team": team.slug, "tension": tension.id}
    theme = bank.theme(tension.theme).label.get(tr.language)
    return Card(
        title=tr("review.title"),
        blocks=[
            Paragraph(text=tr("review.intro")),
            Paragraph(text=tension.text, from_user=True),
            Paragraph(text=tr("tension.preview_theme", theme=theme)),
            TextInput(
                name="reason",
                label=tr("review.reason_label"),
                max_length=REASON_LIMIT,
                placeholder=tr("review.reason_placeholder"),
            ),
        ],
        form=Form(
            action="tension.reject",
            submit_label=tr("review.reject"),
            context=context,
        ),
        buttons=[
            Button(
                label=tr("review.approve"),
                action="tension.approve",
                style="primary",
                context=context,
            ),
        ],
    )


def published_card(tr: Tr, bank: ContentBank, team: Team, tensions: Sequence[Tension]) -> Card:
    blocks: list[Paragraph] = [Paragraph(text=tr("batch.tensions_intro", count=len(tensions)))]
    buttons = []
    for number, tension in enumerate(tensions, start=1):
        theme = bank.theme(tension.theme).label.get(tr.language)
        blocks.append(Paragraph(text=tr("batch.tension_head", number=number, theme=theme)))
        blocks.append(Paragraph(text=tension.text, from_user=True))
        buttons.append(
            Button(
                label=tr("batch.reply_button", number=number),
                action="tension.reply_form",
                context={"team": team.slug, "tension": tension.id},
            )
        )
    blocks.append(Paragraph(text=tr("batch.tensions_outro")))
    return Card(title=tr("batch.tensions_title", team=team.name), blocks=blocks, buttons=buttons)


async def publish_batch(
    session: AsyncSession, bank: ContentBank, team: Team, now: dt.datetime, sealer: Sealer
) -> int:
    """Post the week's tensions to the team's channels, in random order: those sealed for this
    batch (and those sealed for a review the team has since switched off), opened now, and
    those a coordinator approved. Last week's rate-limit slots are forgotten."""
    batches = [store.WEEK_BATCH] if team.review_tensions else [store.WEEK_BATCH, store.REVIEW_BATCH]
    fresh = await open_sealed(session, sealer, team, batches, store.PUBLISHED, now)
    approved = list(await store.tensions_with_status(session, team.id, store.APPROVED))
    await store.publish(session, approved, now.date())
    await forget_past_weeks(session, now)
    ready = [*fresh, *approved]
    if not ready:
        return 0
    random.SystemRandom().shuffle(ready)
    card = published_card(Tr(team.language), bank, team, ready)
    key = digest("batch-tensions", team.id, *sorted(t.id for t in ready))
    await outbound.to_channels(session, team, card, key=f"tensions:{key}", now=now)
    return len(ready)
