"""One partnership on several platforms: a one-time code links one more channel to a team.

A coordinator asks for a code in the team's settings; in the other channel (a Teams channel
for a team created in Slack, or the reverse) someone runs `setup <code>`. That channel is then
linked to the same team: its members join the same anonymity pool, published posts reach both
channels, and whoever linked it becomes a coordinator there too. Only the code's hash is kept;
it works once and for 24 hours.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from dialogs.cards import Card, Paragraph, notice
from dialogs.forms import refused
from dialogs.people import new_member, welcome
from dialogs.turn import Turn
from storage import teams
from storage.models import Team

VALID_FOR = dt.timedelta(hours=24)
# No 0/O or 1/I/L: the code is read aloud or copied between two applications.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch in ALPHABET)


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def issue(turn: Turn) -> Card:
    """A fresh code for the coordinator's team (any earlier code stops working)."""
    team, tr = turn.team, turn.tr
    assert team is not None
    code = new_code()
    team.link_code_hash = code_hash(code)
    team.link_code_expires = turn.now + VALID_FOR
    return Card(
        title=tr("link.code_title"),
        blocks=[
            Paragraph(text=tr("link.code_intro", team=team.name)),
            Paragraph(text=code),
            Paragraph(text=tr("link.code_howto", code=code)),
        ],
    )


async def team_for_code(turn: Turn, code: str) -> Team | None:
    if len(normalise(code)) != LENGTH:
        return None
    team = await turn.session.scalar(select(Team).where(Team.link_code_hash == code_hash(code)))
    expires = team.link_code_expires if team is not None else None
    return team if expires is not None and expires > turn.now else None


async def link(turn: Turn, code: str) -> list[Card]:
    """`setup <code>` in a channel not linked yet."""
    tr, place, actor, session = turn.tr, turn.place, turn.actor, turn.session
    if place is None:
        return [refused(tr, "setup.in_channel")]
    if await teams.channel_at(session, place.platform, place.workspace, place.channel_ref):
        return [refused(tr, "errors.already_linked")]
    team = await team_for_code(turn, code)
    if team is None:
        return [refused(tr, "link.bad_code")]
    team.link_code_hash = team.link_code_expires = None  # once only
    await teams.link_channel(
        session, team, place.platform, place.workspace, place.channel_ref, place.name
    )
    member = await teams.member_in(
        session, team.id, actor.platform, actor.workspace, actor.user_ref
    )
    if member is None:
        member = new_member(team, actor, position="coordinator")
        session.add(member)
    member.is_coordinator = True
    member.active = True
    await session.flush()
    turn.team, turn.member = team, member
    await welcome(turn, team, member)
    return [notice(turn.tr("link.done_title"), turn.tr("link.done", team=team.name, k=team.k))]
