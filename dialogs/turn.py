"""One turn of conversation: the session, the clock, the person and their team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.content import ContentBank
from dialogs.events import Actor, Place
from dialogs.i18n import Tr, language_of
from storage import teams as team_store
from storage.models import Member, Team
from storage.sealing import Sealer


@dataclass
class Turn:
    session: AsyncSession
    now: dt.datetime
    bank: ContentBank
    actor: Actor
    place: Place | None
    team: Team | None = None
    member: Member | None = None
    calendar_changed: set[int] = field(default_factory=set)  # teams to re-plan after commit
    # What submissions are sealed with until their batch (storage.sealing).
    sealer: Sealer = field(default_factory=Sealer.ephemeral)

    @property
    def tr(self) -> Tr:
        if self.member is not None and self.member.language:
            return Tr(self.member.language)
        fallback = self.team.language if self.team is not None else "fr"
        return Tr(language_of(self.actor.locale, fallback))

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def is_coordinator(self) -> bool:
        return self.member is not None and self.member.is_coordinator

    @property
    def is_reader(self) -> bool:
        return self.member is not None and is_reader(self.member)


def is_reader(member: Member) -> bool:
    """Managers and coordinators read summaries, whatever their sector."""
    return member.is_coordinator or member.position in ("manager", "coordinator")


async def resolve(turn: Turn, team_hint: str | None = None) -> list[Team]:
    """Fill `turn.team`/`turn.member`; returns the candidate teams when the choice is ambiguous."""
    session, actor = turn.session, turn.actor
    if turn.place is not None:
        channel = await team_store.channel_at(
            session, turn.place.platform, turn.place.workspace, turn.place.channel_ref
        )
        if channel is not None:
            turn.team = await team_store.team_by_id(session, channel.team_id)
    if turn.team is None:
        candidates = await team_store.memberships(
            session, actor.platform, actor.workspace, actor.user_ref
        )
        teams = [t for m in candidates if (t := await team_store.team_by_id(session, m.team_id))]
        if team_hint:
            teams = [t for t in teams if t.slug == team_hint] or teams
        if len(teams) > 1:
            return teams
        turn.team = teams[0] if teams else None
    if turn.team is not None:
        member = await team_store.member_in(
            session, turn.team.id, actor.platform, actor.workspace, actor.user_ref
        )
        turn.member = member if member is not None and member.active else None
        if turn.member is not None and turn.member.unreachable:
            turn.member.unreachable = False  # they are talking to us: reachable again
        if turn.member is not None and not turn.member.timezone and actor.timezone:
            # The platform knows it (Teams' local time zone) and the person never said.
            turn.member.timezone = actor.timezone
    return []
