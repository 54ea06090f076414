"""People joining or leaving a team's channel."""

from __future__ import annotations

from dialogs import outbound
from dialogs.cards import Card
from dialogs.events import Actor, MemberJoined
from dialogs.i18n import language_of
from dialogs.people import profile
from dialogs.rituals import registry
from dialogs.turn import Turn, resolve
from storage import teams
from storage.models import Member, Team


async def joined(turn: Turn, event: MemberJoined) -> list[Card]:
    """Add (or bring back) the person, welcome them, then each ritual's `on_member_joined`
    (an open round asks them too)."""
    session, actor = turn.session, turn.actor
    place = event.place
    channel = await teams.channel_at(session, place.platform, place.workspace, place.channel_ref)
    if channel is None:
        return []
    team = await teams.team_by_id(session, channel.team_id)
    assert team is not None
    member = await teams.member_in(
        session, team.id, actor.platform, actor.workspace, actor.user_ref
    )
    if member is None:
        # Two processes may onboard the same person at once (a roster and a membersAdded, a
        # retry reaching another server): insert-or-keep, then read whichever row won.
        member = await teams.add_member(session, **member_fields(team, actor))
    member.active = True
    member.display_name = actor.display_name or member.display_name
    member.timezone = member.timezone or actor.timezone
    await welcome(turn, team, member)
    for hook in registry().member_joined_hooks():
        await hook(turn, team, member)
    return []


def member_fields(team: Team, actor: Actor, **fields: object) -> dict[str, object]:
    """A member row's values for someone arriving through their platform (language from its
    locale)."""
    defaults: dict[str, object] = {
        "team_id": team.id,
        "platform": actor.platform,
        "workspace": actor.workspace,
        "user_ref": actor.user_ref,
        "display_name": actor.display_name,
        "language": language_of(actor.locale, team.language) if actor.locale else None,
        "timezone": actor.timezone,
        "active": True,
        "onboarded": False,
    }
    return defaults | fields


def new_member(team: Team, actor: Actor, **fields: object) -> Member:
    """A member row (not yet added) for someone arriving through their platform."""
    return Member(**member_fields(team, actor, **fields))


async def welcome(turn: Turn, team: Team, member: Member) -> None:
    """The welcome (what is stored, who sees what, the team's k) with the profile form."""
    if member.onboarded:
        return
    tr = outbound.speaking(team, member)
    card = profile.profile_card(tr, team, member, welcome=True)
    await outbound.to_member(
        turn.session,
        team,
        member,
        card,
        key=f"welcome:{member.id}",
        now=turn.now,
        respect_quiet_hours=False,
    )


async def left(turn: Turn) -> list[Card]:
    await resolve(turn)
    if turn.member is not None:
        turn.member.active = False
    return []
