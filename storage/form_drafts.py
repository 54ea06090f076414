"""Forms that came back to one person with what they typed (`form_drafts`), sealed, so that a
click on "open the form" reaching any process opens them again with the same values.

The caller gives the key (a keyed hash of the owner and the form's reference: a copy of the
table names nobody) and the sealed blob (sealed under the server's key, its purpose naming
the key, so a blob moved to another row does not open). A draft expires (`keep`'s ttl) and is
then absent; `purge_expired` deletes what expired.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.coordination import FormDraft


async def keep(session: AsyncSession, key: str, blob: bytes, expires_at: dt.datetime) -> None:
    """Store (or replace) the draft under `key`."""
    builder = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    insert = builder(FormDraft).values(key=key, blob=blob, expires_at=expires_at)
    statement = insert.on_conflict_do_update(
        index_elements=["key"],
        set_={"blob": insert.excluded.blob, "expires_at": insert.excluded.expires_at},
    )
    await session.execute(statement)


async def find(session: AsyncSession, key: str, now: dt.datetime) -> bytes | None:
    """The sealed draft under `key`, unless it expired."""
    blob = await session.scalar(
        select(FormDraft.blob).where(FormDraft.key == key, FormDraft.expires_at > now)
    )
    return bytes(blob) if blob is not None else None


async def forget(session: AsyncSession, key: str) -> None:
    await session.execute(delete(FormDraft).where(FormDraft.key == key))


async def purge_expired(session: AsyncSession, now: dt.datetime) -> int:
    """Delete the drafts that expired; how many."""
    result = await session.execute(delete(FormDraft).where(FormDraft.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
