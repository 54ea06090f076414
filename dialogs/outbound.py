"""Queueing cards for people and channels other than the one speaking now.

Replies to a person's own action are returned to the adapter at once and never queued: an
outbox row dated at someone's submission would be a clue to what they submitted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.calendar import member_quiet_until
from dialogs.cards import Card
from dialogs.i18n import Tr
from storage import outbox, teams
from storage.models import Member, Team


async def to_member(
    session: AsyncSession,
    team: Team,
    member: Member,
    card: Card,
    *,
    key: str,
    now: dt.datetime,
    respect_quiet_hours: bool = True,
) -> bool:
    if member.unreachable or not member.active:
        return False
    not_before = now
    if respect_quiet_hours:
        not_before = member_quiet_until(now, team, member)
    return await outbox.enqueue(
        session,
        idem_key=key,
        envelope=outbox.Envelope(member.platform, member.workspace, "direct", member.user_ref),
        payload=card.model_dump(mode="json"),
        not_before=not_before,
        team_id=team.id,
        member_id=member.id,
    )


def speaking(team: Team, member: Member) -> Tr:
    """The language a member reads: theirs, else their team's."""
    return Tr(member.language or team.language)


async def to_each(
    session: AsyncSession,
    team: Team,
    members: Iterable[Member],
    card: Callable[[Tr, Member], Card],
    *,
    key: str | Callable[[Member], str],
    now: dt.datetime,
    respect_quiet_hours: bool = True,
) -> int:
    """Queue `card(their language, them)` for each of `members` under `key(them)` (a string:
    the occasion's key, each member's id appended); returns how many were queued (a key
    already queued, or someone unreachable, counts nothing)."""
    queued = 0
    for member in members:
        queued += await to_member(
            session,
            team,
            member,
            card(speaking(team, member), member),
            key=f"{key}:{member.id}" if isinstance(key, str) else key(member),
            now=now,
            respect_quiet_hours=respect_quiet_hours,
        )
    return queued


def _same_for_all(card: Callable[[Tr], Card]) -> Callable[[Tr, Member], Card]:
    """A card that depends only on the reader's language, in `to_each`'s shape."""
    return lambda tr, _: card(tr)


async def to_coordinators(
    session: AsyncSession,
    team: Team,
    requests: Sequence[tuple[str, Callable[[Tr], Card]]],
    *,
    now: dt.datetime,
) -> int:
    """Requests for the team's coordinators (reviews), each `(key, card)`, at once: it is their
    work, and a request held for hours would hold back what waits on it. Returns how many
    were queued."""
    if not requests:
        return 0
    coordinators = [m for m in await teams.active_members(session, team.id) if m.is_coordinator]
    queued = 0
    for key, card in requests:
        queued += await to_each(
            session,
            team,
            coordinators,
            _same_for_all(card),
            key=key,
            now=now,
            respect_quiet_hours=False,
        )
    return queued


async def to_channels(
    session: AsyncSession,
    team: Team,
    card: Card,
    *,
    key: str,
    now: dt.datetime,
    channel_id: int | None = None,
) -> int:
    """Post to every channel linked to the team (or one of them); returns how many queued."""
    queued = 0
    for channel in await teams.channels_of(session, team.id):
        if channel_id is not None and channel.id != channel_id:
            continue
        queued += await outbox.enqueue(
            session,
            idem_key=f"{key}:ch{channel.id}",
            envelope=outbox.Envelope(
                channel.platform, channel.workspace, "channel", channel.channel_ref
            ),
            payload=card.model_dump(mode="json"),
            not_before=now,
            team_id=team.id,
        )
    return queued
