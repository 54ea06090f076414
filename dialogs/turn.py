"""One turn of conversation: the session, the clock, the person and their team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.content import ContentBank
from dialogs.events import Actor, Place
from dialogs.i18n import Tr, language_of
from dialogs.operator import Operator
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
    operator: Operator = field(default_factory=Operator)  # who runs this server
    # The language last spoken, kept as a plain string: after a rollback the member's row is
    # expired and reading it again would need the database (MissingGreenlet in an except).
    spoken: str = ""

    @property
    def tr(self) -> Tr:
        return Tr(self.note_language())

    def note_language(self) -> str:
        """The person's language (theirs, else their platform's, else their team's), or the
        team's where the whole channel reads the answer; kept in `spoken` so that the error
        card after a rollback speaks it too."""
        if self.place is not None and self.place.public:  # read by the whole channel
            fallback = language_of(self.actor.locale, "fr")
            self.spoken = self.team.language if self.team is not None else fallback
        elif self.member is not None and self.member.language:
            self.spoken = self.member.language
        else:
            fallback = self.team.language if self.team is not None else "fr"
            self.spoken = language_of(self.actor.locale, fallback)
        return self.spoken

    def last_tr(self) -> Tr:
        """The language of this turn without touching the database (safe after a rollback)."""
        return Tr(self.spoken or language_of(self.actor.locale, "fr"))

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def is_coordinator(self) -> bool:
        return self.member is not None and self.member.is_coordinator

    @property
    def is_reader(self) -> bool:
        team, member = self.team, self.member
        return team is not None and member is not None and is_reader(team, member)


READER_RULES = ("confirmed", "managers", "everyone")
MANAGEMENT_POSITIONS = ("manager", "coordinator")


def is_reader(team: Team, member: Member) -> bool:
    """Whether `member` reads `team`'s summaries: the one check for every way to one (the
    `summary` command, home, the summaries sent at a close, the CSV export).

    The team decides (`Team.summary_readers`), never the person: coordinators always read;
    "everyone" is every active member; "managers" trusts the declared position (the team's
    choice); "confirmed" (the default) only members a coordinator confirmed, so that nobody
    reads open answers by calling themself a manager in their profile.
    """
    if not member.active or member.team_id != team.id:
        return False
    if member.is_coordinator:
        return True
    rule = team.summary_readers
    if rule == "everyone":
        return True
    if rule == "managers":
        return member.position in MANAGEMENT_POSITIONS
    return bool(member.reads_summaries)


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
            # A card names its team: one the person is not in is not quietly read as another.
            teams = [t for t in teams if t.slug == team_hint]
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
    # Read now, while the rows are fresh: a handler may fail before it says anything, and
    # after the rollback the error card cannot read the member's language any more.
    turn.note_language()
    return []
