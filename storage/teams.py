"""Teams, their channels and their members."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Team, TeamChannel
from storage.upsert import insert_ignore


async def team_by_slug(session: AsyncSession, slug: str) -> Team | None:
    return await session.scalar(select(Team).where(Team.slug == slug))


async def team_by_id(session: AsyncSession, team_id: int) -> Team | None:
    return await session.get(Team, team_id)


async def all_teams(session: AsyncSession) -> Sequence[Team]:
    return (await session.scalars(select(Team).order_by(Team.id))).all()


async def create_team(
    session: AsyncSession, *, slug: str, name: str, now: dt.datetime, **settings: object
) -> Team:
    team = Team(slug=slug, name=name, created_at=now, anchor_on=now.date(), **settings)
    session.add(team)
    await session.flush()
    return team


async def unique_slug(session: AsyncSession, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`... whichever is free."""
    taken = set(
        (await session.scalars(select(Team.slug).where(Team.slug.like(f"{wanted}%")))).all()
    )
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


async def channel_at(
    session: AsyncSession, platform: str, workspace: str, channel_ref: str
) -> TeamChannel | None:
    return await session.scalar(
        select(TeamChannel).where(
            TeamChannel.platform == platform,
            TeamChannel.workspace == workspace,
            TeamChannel.channel_ref == channel_ref,
        )
    )


async def channels_of(session: AsyncSession, team_id: int) -> Sequence[TeamChannel]:
    return (
        await session.scalars(
            select(TeamChannel).where(TeamChannel.team_id == team_id).order_by(TeamChannel.id)
        )
    ).all()


async def link_channel(
    session: AsyncSession, team: Team, platform: str, workspace: str, channel_ref: str, name: str
) -> TeamChannel:
    channel = TeamChannel(
        team_id=team.id, platform=platform, workspace=workspace, channel_ref=channel_ref, name=name
    )
    session.add(channel)
    await session.flush()
    return channel


async def memberships(
    session: AsyncSession, platform: str, workspace: str, user_ref: str, *, active_only: bool = True
) -> Sequence[Member]:
    query = select(Member).where(
        Member.platform == platform, Member.workspace == workspace, Member.user_ref == user_ref
    )
    if active_only:
        query = query.where(Member.active.is_(True))
    return (await session.scalars(query.order_by(Member.id))).all()


async def member_in(
    session: AsyncSession, team_id: int, platform: str, workspace: str, user_ref: str
) -> Member | None:
    return await session.scalar(
        select(Member).where(
            Member.team_id == team_id,
            Member.platform == platform,
            Member.workspace == workspace,
            Member.user_ref == user_ref,
        )
    )


MEMBER_KEY = ["team_id", "platform", "workspace", "user_ref"]


async def add_member(session: AsyncSession, **values: object) -> Member:
    """The member row for `values`, inserted unless it exists (INSERT ... ON CONFLICT DO
    NOTHING on the members' unique key), then read: when two processes onboard the same person
    at once, the second waits for the first's row on PostgreSQL and returns it, instead of
    failing on the unique constraint."""
    await insert_ignore(session, Member.__table__, dict(values), MEMBER_KEY)  # type: ignore[arg-type]
    member = await session.scalar(
        select(Member)
        .where(*(getattr(Member, name) == values[name] for name in MEMBER_KEY))
        .execution_options(populate_existing=True)
    )
    assert member is not None  # inserted here or committed by whoever won
    return member


async def active_members(session: AsyncSession, team_id: int) -> Sequence[Member]:
    return (
        await session.scalars(
            select(Member)
            .where(Member.team_id == team_id, Member.active.is_(True))
            .order_by(Member.id)
        )
    ).all()


async def group_sizes(session: AsyncSession, team_id: int) -> dict[tuple[str, str], int]:
    """Active members per (sector, position); '' stands for not set."""
    rows = await session.execute(
        select(func.coalesce(Member.sector, ""), func.coalesce(Member.position, ""), func.count())
        .where(Member.team_id == team_id, Member.active.is_(True))
        .group_by(Member.sector, Member.position)
    )
    return {(sector, position): count for sector, position, count in rows.all()}
