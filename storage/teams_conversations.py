"""Microsoft Teams conversation references: where the bot may write later (proactively).

One row per person's 1:1 chat, per channel and per team (a team's row keeps the service URL
and tenant needed to open a new 1:1 chat with someone from its roster).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TeamsConversation
from storage.upsert import insert_ignore

PERSONAL, CHANNEL, TEAM = "personal", "channel", "team"


async def remember(
    session: AsyncSession,
    *,
    tenant: str,
    kind: str,
    key: str,
    service_url: str,
    reference: dict[str, Any],
    team_key: str | None = None,
) -> None:
    """Insert or refresh a reference (a service URL can change between activities)."""
    values = {
        "tenant": tenant,
        "kind": kind,
        "key": key,
        "team_key": team_key,
        "service_url": service_url,
        "reference": reference,
    }
    table = TeamsConversation.__table__
    if await insert_ignore(session, table, values, ["tenant", "kind", "key"]):  # type: ignore[arg-type]
        return
    row = await find(session, tenant, kind, key)
    if row is not None and (row.service_url != service_url or row.reference != reference):
        row.service_url, row.reference = service_url, reference
    if row is not None and team_key and row.team_key != team_key:
        row.team_key = team_key


async def find(session: AsyncSession, tenant: str, kind: str, key: str) -> TeamsConversation | None:
    return await session.scalar(
        select(TeamsConversation).where(
            TeamsConversation.tenant == tenant,
            TeamsConversation.kind == kind,
            TeamsConversation.key == key,
        )
    )


async def any_in_tenant(session: AsyncSession, tenant: str) -> TeamsConversation | None:
    """A team or channel reference of the tenant: its service URL reaches anyone there."""
    return await session.scalar(
        select(TeamsConversation)
        .where(TeamsConversation.tenant == tenant, TeamsConversation.kind != PERSONAL)
        .order_by(TeamsConversation.id.desc())
        .limit(1)
    )


async def channels_of_team(session: AsyncSession, tenant: str, team_key: str) -> list[str]:
    """The channel ids Passerelle knows in a Teams team."""
    rows = await session.scalars(
        select(TeamsConversation.key).where(
            TeamsConversation.tenant == tenant,
            TeamsConversation.kind == CHANNEL,
            TeamsConversation.team_key == team_key,
        )
    )
    return list(rows)


async def forget(session: AsyncSession, tenant: str, kind: str, key: str) -> None:
    row = await find(session, tenant, kind, key)
    if row is not None:
        await session.delete(row)
