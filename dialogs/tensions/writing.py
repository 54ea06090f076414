"""Anonymous tensions: write, preview who sees it and when, confirm, review, batch, follow up.

A confirmed tension is sealed (`storage.sealed_batches`) until its content must first be read:
the coordinators' daily review when the team reviews tensions, else the weekly batch (see
`dialogs.tensions.batches`). Only then is it written to `tensions`, shuffled with its batch.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, times
from dialogs.calendar import next_batch, week_key, zone
from dialogs.cards import Button, Card, Form, Paragraph, TextInput, notice
from dialogs.content import ContentBank
from dialogs.forms import choice, one_of, own_words
from dialogs.i18n import Tr
from dialogs.tensions import store
from dialogs.tensions.models import Tension
from dialogs.tensions.rate_limit import WeeklyLimiter
from dialogs.texts import clean
from dialogs.turn import Turn
from storage import teams
from storage.dedupe import digest
from storage.models import Team
from storage.sealed_batches import once_id, seal_once, sealed_exists

TEXT_LIMIT = 1000
REPLY_LIMIT = 1000
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def normalise_code(code: str) -> str:
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def form_card(
    tr: Tr,
    bank: ContentBank,
    team: Team,
    *,
    prompt_id: str | None = None,
    text: str = "",
    theme: str = "other",
) -> Card:
    blocks = own_words(
        tr,
        prompt=bank.tension_prompt(prompt_id).text.get(tr.language) if prompt_id else "",
        intro=tr("tension.intro"),
        label=tr("tension.text_label"),
        max_length=TEXT_LIMIT,
        text=text,
    )
    themes = [(th.id, th.label.get(tr.language)) for th in bank.tension_themes]
    context = {"team": team.slug, "prompt": prompt_id or ""}
    return Card(
        title=tr("tension.title"),
        blocks=[*blocks, choice("theme", tr("tension.theme_label"), themes, theme)],
        form=Form(
            action="tension.preview", submit_label=tr("tension.preview_button"), context=context
        ),
    )


async def audience(session: AsyncSession, team: Team, tr: Tr) -> str:
    channels = await teams.channels_of(session, team.id)
    members = await teams.active_members(session, team.id)
    places = ", ".join(
        # Never a raw channel id where the platform gave no name.
        tr(
            "tension.channel_on" if c.name else "tension.channel_unnamed_on",
            name=c.name,
            platform=tr(f"platform.{c.platform}"),
        )
        for c in channels
    ) or tr("tension.no_channel")
    return tr("tension.audience", count=len(members), places=places)


async def preview_card(turn: Turn, text: str, theme: str, prompt_id: str) -> Card:
    session, bank, tr, now = turn.session, turn.bank, turn.tr, turn.now
    team, member = turn.team, turn.member
    assert team is not None and member is not None
    when = next_batch(team, now)
    coordinators = [
        m.display_name
        for m in await teams.active_members(session, team.id)
        if m.is_coordinator and m.display_name
    ]
    blocks = [
        Paragraph(text=tr("tension.preview_intro")),
        Paragraph(text=text, from_user=True),
        Paragraph(text=tr("tension.preview_theme", theme=bank.theme(theme).label.get(tr.language))),
        Paragraph(text=await audience(session, team, tr)),
        Paragraph(text=tr("tension.preview_when", when=times.shown(tr, when, team, member))),
    ]
    if team.review_tensions:
        blocks.append(
            Paragraph(text=tr("tension.preview_review", names=", ".join(coordinators) or "—"))
        )
    blocks.append(Paragraph(text=tr("tension.preview_summary")))
    blocks.append(Paragraph(text=tr("tension.preview_never")))
    context = {"team": team.slug, "text": text, "theme": theme, "prompt": prompt_id}
    return Card(
        title=tr("tension.preview_title"),
        blocks=blocks,
        buttons=[
            Button(
                label=tr("tension.confirm"),
                action="tension.confirm",
                context=context,
                style="primary",
            ),
            Button(label=tr("tension.edit"), action="tension.edit", context=context),
            Button(
                label=tr("tension.cancel"), action="tension.cancel", context=context, style="danger"
            ),
        ],
    )


def read_draft(bank: ContentBank, values: dict[str, str], tr: Tr) -> tuple[str, str]:
    text = clean(values.get("text"), max_length=TEXT_LIMIT)
    theme = one_of(
        values.get("theme"), tuple(th.id for th in bank.tension_themes), tr("tension.theme_label")
    )
    return text, theme


async def confirm(
    turn: Turn, text: str, theme: str, prompt_id: str | None, limiter: WeeklyLimiter
) -> Card:
    """Seal the tension until its batch (the review, or the weekly batch), in the transaction
    that takes one of the author's weekly slots. Nothing in the clear says what, or whose."""
    session, bank, tr, now, sealer = turn.session, turn.bank, turn.tr, turn.now, turn.sealer
    team, member = turn.team, turn.member
    assert team is not None and member is not None
    duplicate = notice(tr("tension.duplicate_title"), tr("tension.duplicate"))
    # Same team, theme, words and (UTC) day: the same tension (a double click, a retry). The
    # same words another day, or from someone else later, are a new tension.
    row_id = once_id(sealer, store.KIND, team.id, theme, text.strip(), now.date().isoformat())
    # A repeat is recognised before the limit, so a double click never reads as a refusal.
    if await sealed_exists(session, row_id):
        return duplicate
    week = week_key(now, zone(team.timezone))
    slot = await limiter.take(
        session,
        sealer,
        team_id=team.id,
        member_id=member.id,
        week=week,
        limit=team.tension_weekly_limit,
    )
    if slot is None:
        kept = form_card(tr, bank, team, prompt_id=prompt_id, text=text, theme=theme)
        warning = Paragraph(text=tr("tension.limit", limit=team.tension_weekly_limit))
        return kept.model_copy(
            update={"title": tr("tension.limit_title"), "blocks": [warning, *kept.blocks]}
        )
    code = new_code()
    sealed = await seal_once(
        session,
        sealer,
        row_id=row_id,
        team_id=team.id,
        kind=store.KIND,
        batch=store.REVIEW_BATCH if team.review_tensions else store.WEEK_BATCH,
        payload={
            "text": text,
            "theme": theme,
            "prompt": prompt_id or "",
            "followup": store.followup_hash(normalise_code(code)),
        },
    )
    if not sealed:  # a simultaneous repeat got there first
        await limiter.give_back(session, slot)
        return duplicate
    when = next_batch(team, now)
    return Card(
        title=tr("tension.sent_title"),
        blocks=[
            Paragraph(text=tr("tension.sent", when=times.shown(tr, when, team, member))),
            Paragraph(text=tr("tension.code", code=code)),
            Paragraph(text=tr("tension.code_once")),
        ],
    )


def reply_form(tr: Tr, team: Team, tension: Tension) -> Card:
    return Card(
        title=tr("reply.title"),
        blocks=[
            Paragraph(text=tension.text, from_user=True),
            TextInput(
                name="text", label=tr("reply.text_label"), max_length=REPLY_LIMIT, required=True
            ),
            choice(
                "post",
                tr("reply.post_label"),
                [("yes", tr("common.yes")), ("no", tr("common.no"))],
                "yes",
            ),
        ],
        form=Form(
            action="tension.reply",
            submit_label=tr("reply.submit"),
            context={"team": team.slug, "tension": tension.id},
        ),
    )


async def save_reply(
    session: AsyncSession,
    team: Team,
    tension: Tension,
    values: dict[str, str],
    tr: Tr,
    now: dt.datetime,
) -> Card:
    text = clean(values.get("text"), max_length=REPLY_LIMIT)
    post = one_of(values.get("post"), ("yes", "no"), tr("reply.post_label"))
    if not await store.add_reply(session, tension.id, text, now.date()):
        return notice(tr("reply.duplicate_title"), tr("reply.duplicate"))
    if post == "yes":
        channel_tr = Tr(team.language)
        card = Card(
            title=channel_tr("reply.posted_title"),
            blocks=[
                Paragraph(text=channel_tr("reply.posted_intro")),
                Paragraph(text=tension.text, from_user=True),
                Paragraph(text=channel_tr("reply.posted_answer")),
                Paragraph(text=text, from_user=True),
            ],
        )
        key = digest("reply", tension.id, text)
        await outbound.to_channels(session, team, card, key=f"reply:{key}", now=now)
    return notice(tr("reply.saved_title"), tr("reply.saved"))


async def followup_card(session: AsyncSession, bank: ContentBank, code: str, tr: Tr) -> Card:
    tension = await store.tension_by_code(session, normalise_code(code))
    if tension is None:
        return notice(tr("followup.unknown_title"), tr("followup.unknown"))
    replies = await store.replies_to(session, tension.id)
    blocks = [
        Paragraph(text=tension.text, from_user=True),
        Paragraph(
            text=tr(
                "followup.status",
                status=tr(f"tension_status.{tension.status}"),
                theme=bank.theme(tension.theme).label.get(tr.language),
            )
        ),
    ]
    # A rejected tension's only answer is the reason it was not published.
    head = "followup.reason_head" if tension.status == store.REJECTED else "followup.reply_head"
    if replies:
        for reply in replies:
            blocks.append(Paragraph(text=tr(head, day=reply.created_on.isoformat())))
            blocks.append(Paragraph(text=reply.text, from_user=True))
    else:
        blocks.append(Paragraph(text=tr("followup.no_reply")))
    return Card(title=tr("followup.title"), blocks=blocks)


def prompt_card(tr: Tr, bank: ContentBank, team: Team, prompt_id: str, success_id: str) -> Card:
    """The periodic anonymous prompt, always paired with a success prompt."""
    card = form_card(tr, bank, team, prompt_id=prompt_id)
    pairing = Paragraph(
        text=tr(
            "tension.paired_success", prompt=bank.success_prompt(success_id).text.get(tr.language)
        )
    )
    return card.model_copy(
        update={
            "blocks": [*card.blocks, pairing],
            "buttons": [
                Button(
                    label=tr("success.share_button"),
                    action="command",
                    context={"team": team.slug, "text": "success", "prompt": success_id},
                )
            ],
        }
    )
