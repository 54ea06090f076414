"""A thank-you note: whom it may go to, the form that writes it, the card that carries it.

A thank-you is named by design (the form says so): it goes privately to one teammate through
the outbox, in their language, and nothing else of it is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.cards import Button, Card, ChoiceInput, Form, Paragraph, TextInput
from dialogs.commands import fold
from dialogs.forms import choice, parse_id
from dialogs.i18n import Tr
from storage import teams
from storage.models import Member, Team

MESSAGE_LIMIT = 500


def name_of(member: Member) -> str:
    return member.display_name or member.user_ref


async def teammates(session: AsyncSession, team: Team, author: Member) -> list[Member]:
    """Whom `author` may thank: the team's other active members, by name (Émilie among the e)."""
    members = await teams.active_members(session, team.id)
    others = (m for m in members if m.id != author.id)
    return sorted(others, key=lambda m: fold(name_of(m)))


async def teammate(
    session: AsyncSession, team: Team, author: Member, raw: str | None
) -> Member | None:
    """The member a submitted form names, if `author` may thank them: the id is client data,
    so another team's member, an inactive one or the author themself is refused."""
    member = await session.get(Member, parse_id(raw))
    if member is None or member.team_id != team.id or not member.active:
        return None
    return None if member.id == author.id else member


def _label(tr: Tr, member: Member) -> str:
    return (
        f"{name_of(member)} — {tr(f'sector.{member.sector}')}" if member.sector else name_of(member)
    )


def form_card(tr: Tr, team: Team, candidates: Sequence[Member]) -> Card:
    if not candidates:
        return Card(title=tr("thanks.title"), blocks=[Paragraph(text=tr("thanks.nobody"))])
    blocks: list[Paragraph | ChoiceInput | TextInput] = [
        Paragraph(text=tr("thanks.intro")),
        Paragraph(text=tr("common.no_client_details")),
        choice(
            "member",
            tr("thanks.member_label"),
            [(str(m.id), _label(tr, m)) for m in candidates],
            None,
        ),
        TextInput(
            name="message",
            label=tr("thanks.message_label"),
            max_length=MESSAGE_LIMIT,
            required=True,
        ),
    ]
    return Card(
        title=tr("thanks.title"),
        blocks=blocks,
        form=Form(
            action="thanks.send", submit_label=tr("thanks.submit"), context={"team": team.slug}
        ),
    )


def received_card(tr: Tr, team: Team, author: Member, message: str) -> Card:
    """What the teammate gets, in their own language; a button to thank someone in turn."""
    return Card(
        title=tr("thanks.received_title", name=name_of(author)),
        blocks=[
            Paragraph(text=tr("thanks.received_intro", team=team.name)),
            Paragraph(text=message, from_user=True),
        ],
        buttons=[
            Button(
                label=tr("thanks.reply_button"),
                action="command",
                context={"team": team.slug, "text": "thanks"},
            )
        ],
    )


async def deliver(
    session: AsyncSession,
    team: Team,
    author: Member,
    recipient: Member,
    message: str,
    now: dt.datetime,
) -> bool:
    """Queue the note for `recipient`; False when they cannot be reached, or when the same
    note went from the same author the same day (a double submit sends it once)."""
    tr = Tr(recipient.language or team.language)
    card = received_card(tr, team, author, message)
    said = hashlib.sha256(message.encode()).hexdigest()[:16]
    key = f"thanks:{author.id}:{recipient.id}:{now.date().isoformat()}:{said}"
    return await outbound.to_member(session, team, recipient, card, key=key, now=now)
