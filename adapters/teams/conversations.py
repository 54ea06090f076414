"""Microsoft Teams conversation references: where the bot may write later (proactively).

One row per person's 1:1 chat, per channel and per team (a team's row keeps the service URL
and tenant needed to open a new 1:1 chat with someone from its roster). The reference also
keeps what later activities may leave out: a channel's or team's name (`conversation.name`,
sent by Teams only with some events) and a person's client locale (`locale`). The table is Teams'
own, on the shared `Base` (its schema came with migration 0003, which also added the
platform-neutral link codes and so stays in storage/migrations).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.upsert import insert_ignore

PERSONAL, CHANNEL, TEAM = "personal", "channel", "team"


class TeamsConversation(Base):
    """Where Passerelle can write in Microsoft Teams: a person's 1:1 chat or a channel.

    `reference` is the Bot Framework conversation reference (ids, service URL, tenant) the
    adapter needs to write there later; `key` is the person's or the channel's id.
    """

    __tablename__ = "teams_conversations"
    __table_args__ = (UniqueConstraint("tenant", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # "personal" | "channel" | "team"
    key: Mapped[str] = mapped_column(String(200))
    # The Teams team a channel belongs to: roster changes arrive per team, posts go per channel.
    team_key: Mapped[str | None] = mapped_column(String(200), index=True)
    service_url: Mapped[str] = mapped_column(String(500))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)


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
    if row is not None:
        reference = kept(row.reference, reference)
    if row is not None and (row.service_url != service_url or row.reference != reference):
        row.service_url, row.reference = service_url, reference
    if row is not None and team_key and row.team_key != team_key:
        row.team_key = team_key


def kept(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new`, with what most activities leave out taken from `old`: the conversation's name
    (a channel's or team's, which Teams sends only with some events) and the person's client
    locale (a conversationUpdate has none)."""
    merged = dict(new)
    name = (old.get("conversation") or {}).get("name")
    conversation = dict(merged.get("conversation") or {})
    if name and not conversation.get("name"):
        merged["conversation"] = {**conversation, "name": name}
    if old.get("locale") and not merged.get("locale"):
        merged["locale"] = old["locale"]
    return merged


def name_of(row: TeamsConversation | None) -> str:
    """The channel's or team's name kept with its reference ('' when none is known)."""
    if row is None:
        return ""
    return str((row.reference.get("conversation") or {}).get("name") or "")


def locale_of(row: TeamsConversation | None) -> str:
    """The client locale of a person's last activity in their 1:1 chat ('' when unknown)."""
    return str(row.reference.get("locale") or "") if row is not None else ""


async def rename(session: AsyncSession, tenant: str, kind: str, key: str, name: str) -> None:
    """Keep `name` with the reference (a channel or team renamed, or its name learned)."""
    row = await find(session, tenant, kind, key)
    if row is None or not name or name_of(row) == name:
        return
    conversation = dict(row.reference.get("conversation") or {})
    row.reference = {**row.reference, "conversation": {**conversation, "name": name}}


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
