"""Names of people, channels and teams as Teams shows them, learned and kept up to date.

Teams leaves names out of most activities: `membersAdded` carries only ids, and a message in a
channel names neither the channel nor the team. Without this module a person added to the
team later would be stored nameless (their named success posted as "From: "), and a channel
shown by its raw id (« 19:8f2c…@thread.tacv2 ») in the setup card and the tension preview.

- A person's name: from the activity, else the members API (`GET v3/conversations/{team}/
  members/{id}`); a name seen on any of their later activities replaces a missing or old one
  on their member rows.
- A channel's name: from the activity (Teams sends it with conversationUpdate events, among
  them channelCreated, channelRenamed and teamRenamed), else the one kept with the channel's
  reference (adapters/teams/conversations.py) or its link, else the team's channel list (`GET
  v3/teams/{id}/conversations`). The General channel has no name of its own in the API; Teams
  shows it under the team's name, and so does Passerelle (`GET v3/teams/{id}` when unknown).
- Every name learned is kept with the references and on the channel's link to a Passerelle
  team (`team_channels.name`), which the cards read, so a renamed channel shows its new name.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.teams import activities as act
from adapters.teams import conversations
from adapters.teams.botframework import ConnectorError, TurnHandle
from storage.database import Database
from storage.models import Member, TeamChannel

log = logging.getLogger(__name__)
Json = dict[str, Any]
NAME_LENGTH = 200  # members.display_name, team_channels.name


def _clip(name: object) -> str:
    return " ".join(str(name or "").split())[:NAME_LENGTH]


async def learn(session: AsyncSession, activity: Json) -> None:
    """Keep the names this activity carries (its channel's, its team's); its references are
    already remembered in `session`."""
    tenant, team = act.tenant_of(activity), act.team_id_of(activity)
    if not tenant or not team:
        return
    known: dict[str, str] = {}
    team_name = _clip(act.team_name_of(activity))
    if team_name:
        known[team] = team_name  # the General channel, shown by the team's name
    channel, channel_name = act.channel_id_of(activity), _clip(act.channel_name_of(activity))
    if channel and channel_name:
        known[channel] = channel_name
    await keep(session, tenant, team, team_name, known)


async def keep(
    session: AsyncSession, tenant: str, team: str, team_name: str, channels: dict[str, str]
) -> None:
    """Store names: the team's with its reference, each channel's with its reference and on
    its link to a Passerelle team."""
    if team_name:
        await conversations.rename(session, tenant, conversations.TEAM, team, team_name)
    for channel, name in channels.items():
        await conversations.rename(session, tenant, conversations.CHANNEL, channel, name)
        await session.execute(
            update(TeamChannel)
            .where(
                TeamChannel.platform == act.PLATFORM,
                TeamChannel.workspace == tenant,
                TeamChannel.channel_ref == channel,
                TeamChannel.name != name,
            )
            .values(name=name)
        )


async def refresh_member(session: AsyncSession, tenant: str, user_id: str, name: object) -> None:
    """The name a person's activity shows, on their member rows where it is missing or old."""
    name = _clip(name)
    if not tenant or not user_id or not name:
        return
    await session.execute(
        update(Member)
        .where(
            Member.platform == act.PLATFORM,
            Member.workspace == tenant,
            Member.user_ref == user_id,
            Member.display_name != name,
        )
        .values(display_name=name)
    )


async def named(turn: TurnHandle, account: Json) -> Json:
    """A `membersAdded` entry with the person's name, asked of the members API when Teams
    sent only the id; unchanged (nameless) when the API cannot say."""
    if _clip(account.get("name")) or not account.get("id"):
        return account
    try:
        found = await turn.member(str(account["id"]))
    except ConnectorError as error:
        log.info("teams member's name not readable (%s)", error.status)
        return account
    return {**account, "name": _clip(found.get("name"))}


async def channel_name(database: Database, turn: TurnHandle) -> str:
    """The name of the channel `turn` happened in: carried, kept, or asked of the API (then
    kept). '' when none can be had."""
    activity = turn.activity
    name = _clip(act.channel_name_of(activity))
    tenant, team, channel = (
        act.tenant_of(activity),
        act.team_id_of(activity),
        act.channel_id_of(activity),
    )
    if name or not tenant or not team:
        return name
    general = act.is_general(activity)
    async with database.session() as session:
        kind = conversations.TEAM if general else conversations.CHANNEL
        name = conversations.name_of(
            await conversations.find(session, tenant, kind, team if general else channel)
        )
    if name:
        return name
    try:
        if general:
            name = _clip(await turn.team_name(team))
            found = {team: name} if name else {}
        else:
            listed = await turn.team_channels(team)
            found = {
                str(c["id"]): _clip(c["name"]) for c in listed if c.get("id") and c.get("name")
            }
            name = found.get(channel, "")
    except ConnectorError as error:
        log.info("teams channel's name not readable (%s)", error.status)
        return ""
    async with database.session() as session, session.begin():
        await keep(session, tenant, team, name if general else "", found)
    return name
