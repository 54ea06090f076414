"""Successes: invited on a schedule, published only as the author chose.

Named: stored and posted at once. Anonymous: sealed until the weekly batch, then posted and
written shuffled under fresh ids. Summary only: sealed until the batch, then only counted
(`success_tallies`); no text is kept.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, times, unopenable
from dialogs.calendar import next_batch
from dialogs.cards import Card, Form, Paragraph, notice
from dialogs.content import ContentBank
from dialogs.forms import choice, one_of, own_words
from dialogs.i18n import Tr
from dialogs.successes import store
from dialogs.successes.models import Success
from dialogs.texts import clean
from dialogs.turn import Turn
from storage.dedupe import digest
from storage.models import Team
from storage.sealed_batches import once_id, seal_once, take
from storage.sealing import Sealer

TEXT_LIMIT = 800


def form_card(
    tr: Tr,
    bank: ContentBank,
    team: Team,
    *,
    prompt_id: str | None = None,
    text: str = "",
    consent: str = store.ANONYMOUS,
) -> Card:
    blocks = own_words(
        tr,
        prompt=bank.success_prompt(prompt_id).text.get(tr.language) if prompt_id else "",
        intro=tr("success.intro"),
        label=tr("success.text_label"),
        max_length=TEXT_LIMIT,
        text=text,
    )
    consents = [(c, tr(f"success.consent_{c}")) for c in store.CONSENTS]
    return Card(
        title=tr("success.title"),
        blocks=[*blocks, choice("consent", tr("success.consent_label"), consents, consent)],
        form=Form(
            action="success.submit",
            submit_label=tr("success.submit"),
            context={"team": team.slug, "prompt": prompt_id or ""},
        ),
    )


def channel_card(tr: Tr, team: Team, successes: list[Success]) -> Card:
    blocks = [Paragraph(text=tr("batch.successes_intro", count=len(successes)))]
    for success in successes:
        # A platform that could not learn someone's name never leaves "From:" empty.
        named = success.consent == store.NAMED and success.author_name
        who = success.author_name if named else tr("success.anonymous")
        blocks.append(Paragraph(text=tr("batch.success_head", who=who)))
        blocks.append(Paragraph(text=success.text, from_user=True))
    return Card(title=tr("batch.successes_title", team=team.name), blocks=blocks)


async def submit(turn: Turn, values: dict[str, str], prompt_id: str | None) -> Card:
    session, tr, now, sealer = turn.session, turn.tr, turn.now, turn.sealer
    team, member = turn.team, turn.member
    assert team is not None and member is not None
    text = clean(values.get("text"), max_length=TEXT_LIMIT)
    consent = one_of(values.get("consent"), store.CONSENTS, tr("success.consent_label"))
    duplicate = notice(tr("success.duplicate_title"), tr("success.duplicate"))
    if consent == store.NAMED:
        # Named by choice: nothing to hide, so it is stored and shared at once.
        success = await store.add_named(
            session,
            team_id=team.id,
            text=text,
            author_name=member.display_name,
            prompt_id=prompt_id or None,
            today=now.date(),
        )
        if success is None:
            return duplicate
        card = channel_card(Tr(team.language), team, [success])
        await outbound.to_channels(session, team, card, key=f"success:{success.id}", now=now)
        return notice(tr("success.thanks_title"), tr("success.thanks_named"))
    # Anonymous or summary-only: sealed until the weekly batch, the same kind and batch for
    # both, so the clear columns do not even say which. A summary-only success keeps no text,
    # not even sealed: the batch only counts it.
    payload = {"consent": consent, "prompt": prompt_id or ""}
    if consent == store.ANONYMOUS:
        payload["text"] = text
    sealed = await seal_once(
        session,
        sealer,
        row_id=once_id(sealer, store.KIND, team.id, consent, text.strip(), now.date().isoformat()),
        team_id=team.id,
        kind=store.KIND,
        batch=store.WEEK_BATCH,
        payload=payload,
    )
    if not sealed:
        return duplicate
    if consent == store.ANONYMOUS:
        when = times.shown(tr, next_batch(team, now), team, member)
        return Card(
            title=tr("success.thanks_title"),
            blocks=[Paragraph(text=tr("success.thanks_anonymous", when=when))],
        )
    return notice(tr("success.thanks_title"), tr("success.thanks_summary"))


async def publish_batch(session: AsyncSession, team: Team, now: dt.datetime, sealer: Sealer) -> int:
    """Open the week's sealed successes: anonymous ones are written (shuffled, fresh ids) and
    posted, like tensions, so their time says nothing; summary-only ones are only counted."""
    opened = await take(
        session, sealer, team_id=team.id, kind=store.KIND, batches=[store.WEEK_BATCH]
    )
    await unopenable.tell_team(session, team, "success", opened.unopenable, now)
    shown = [p for p in opened.payloads if p.get("consent") == store.ANONYMOUS]
    await store.count_in_tally(session, team.id, now.date(), len(opened.payloads) - len(shown))
    ready = [*await store.write_opened(session, team.id, shown, now.date())]
    for legacy in await store.pending_successes(session, team.id):
        legacy.status = store.PUBLISHED
        ready.append(legacy)
    if not ready:
        return 0
    random.SystemRandom().shuffle(ready)
    card = channel_card(Tr(team.language), team, ready)
    key = digest("batch-successes", team.id, *sorted(s.id for s in ready))
    await outbound.to_channels(session, team, card, key=f"successes:{key}", now=now)
    return len(ready)
