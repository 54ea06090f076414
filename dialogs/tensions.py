"""Anonymous tensions: write, preview who sees it and when, confirm, review, batch, follow up."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.calendar import next_weekly, week_key, zone
from dialogs.cards import Button, Card, Form, Paragraph, TextInput, notice
from dialogs.content import ContentBank
from dialogs.forms import choice, one_of
from dialogs.i18n import Tr
from dialogs.rate_limit import WeeklyLimiter
from dialogs.texts import clean
from storage import teams
from storage import tensions as store
from storage.models import Member, Team, Tension

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
    blocks: list[Paragraph | TextInput] = []
    if prompt_id:
        blocks.append(Paragraph(text=bank.tension_prompt(prompt_id).text.get(tr.language)))
    blocks += [
        Paragraph(text=tr("tension.intro")),
        Paragraph(text=tr("common.no_client_details")),
        TextInput(
            name="text",
            label=tr("tension.text_label"),
            max_length=TEXT_LIMIT,
            required=True,
            default=text,
        ),
    ]
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
        tr(
            "tension.channel_on",
            name=c.name or c.channel_ref,
            platform=tr(f"platform.{c.platform}"),
        )
        for c in channels
    ) or tr("tension.no_channel")
    return tr("tension.audience", count=len(members), places=places)


def next_batch(team: Team, now: dt.datetime) -> dt.datetime:
    return next_weekly(team.batch_weekday, team.batch_hour, zone(team.timezone), now)


async def preview_card(
    session: AsyncSession,
    tr: Tr,
    bank: ContentBank,
    team: Team,
    member: Member,
    text: str,
    theme: str,
    prompt_id: str,
    now: dt.datetime,
) -> Card:
    when = next_batch(team, now)
    own = when.astimezone(zone(member.timezone, team.timezone))
    coordinators = [
        m.display_name for m in await teams.active_members(session, team.id) if m.is_coordinator
    ]
    blocks = [
        Paragraph(text=tr("tension.preview_intro")),
        Paragraph(text=text, from_user=True),
        Paragraph(text=tr("tension.preview_theme", theme=bank.theme(theme).label.get(tr.language))),
        Paragraph(text=await audience(session, team, tr)),
        Paragraph(
            text=tr(
                "tension.preview_when",
                when=tr("common.datetime", when=own),
                zone=own.tzname() or "",
            )
        ),
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
    session: AsyncSession,
    bank: ContentBank,
    team: Team,
    member: Member,
    text: str,
    theme: str,
    prompt_id: str | None,
    tr: Tr,
    now: dt.datetime,
    limiter: WeeklyLimiter,
) -> Card:
    duplicate = notice(tr("tension.duplicate_title"), tr("tension.duplicate"))
    # A repeat is recognised before the limit, so a double click never reads as a refusal.
    if await store.tension_exists(session, team.id, text, theme, now.date()):
        return duplicate
    week = week_key(now, zone(team.timezone))
    if not limiter.take(member.id, week, team.tension_weekly_limit):
        kept = form_card(tr, bank, team, prompt_id=prompt_id, text=text, theme=theme)
        warning = Paragraph(text=tr("tension.limit", limit=team.tension_weekly_limit))
        return kept.model_copy(
            update={"title": tr("tension.limit_title"), "blocks": [warning, *kept.blocks]}
        )
    code = new_code()
    tension_id = await store.add_tension(
        session,
        team_id=team.id,
        text=text,
        theme=theme,
        prompt_id=prompt_id,
        followup_code=normalise_code(code),
        needs_review=team.review_tensions,
        today=now.date(),
    )
    if tension_id is None:  # a simultaneous repeat got there first
        limiter.give_back(member.id, week)
        return duplicate
    when = next_batch(team, now).astimezone(zone(member.timezone, team.timezone))
    return Card(
        title=tr("tension.sent_title"),
        blocks=[
            Paragraph(text=tr("tension.sent", when=tr("common.datetime", when=when))),
            Paragraph(text=tr("tension.code", code=code)),
            Paragraph(text=tr("tension.code_once")),
        ],
    )


async def ask_reviews(
    session: AsyncSession, bank: ContentBank, team: Team, now: dt.datetime
) -> int:
    """Queue the tensions waiting for review to each coordinator, as a daily batch.

    Never at the moment a tension is written: a review request dated then would date it.
    """
    pending = list(await store.tensions_with_status(session, team.id, store.PENDING_REVIEW))
    coordinators = [m for m in await teams.active_members(session, team.id) if m.is_coordinator]
    queued = 0
    for tension in pending:
        for coordinator in coordinators:
            tr = Tr(coordinator.language or team.language)
            queued += await outbound.to_member(
                session,
                team,
                coordinator,
                review_card(tr, bank, team, tension),
                key=f"review:{tension.id}:{coordinator.id}",
                now=now,
                respect_quiet_hours=False,
            )
    return queued


def review_card(tr: Tr, bank: ContentBank, team: Team, tension: Tension) -> Card:
    context = {"team": team.slug, "tension": tension.id}
    theme = bank.theme(tension.theme).label.get(tr.language)
    return Card(
        title=tr("review.title"),
        blocks=[
            Paragraph(text=tr("review.intro")),
            Paragraph(text=tension.text, from_user=True),
            Paragraph(text=tr("tension.preview_theme", theme=theme)),
        ],
        buttons=[
            Button(
                label=tr("review.approve"),
                action="tension.approve",
                style="primary",
                context=context,
            ),
            Button(
                label=tr("review.reject"), action="tension.reject", style="danger", context=context
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
    session: AsyncSession, bank: ContentBank, team: Team, now: dt.datetime
) -> int:
    """Post approved tensions to the team's channels, in random order."""
    ready = list(await store.tensions_with_status(session, team.id, store.APPROVED))
    if not ready:
        return 0
    random.SystemRandom().shuffle(ready)
    card = published_card(Tr(team.language), bank, team, ready)
    key = store.digest("batch-tensions", team.id, *sorted(t.id for t in ready))
    await outbound.to_channels(session, team, card, key=f"tensions:{key}", now=now)
    await store.publish(session, ready, now.date())
    return len(ready)


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
        key = store.digest("reply", tension.id, text)
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
    if replies:
        for reply in replies:
            blocks.append(
                Paragraph(text=tr("followup.reply_head", day=reply.created_on.isoformat()))
            )
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
