"""Per-person weekly limit on tensions, held in the database so that every process, and a
restart, agree.

A slot is a row of `tension_tokens` whose key is `sealer.tag("tension-slot", team, member,
week, n)` for n in 1..limit: a keyed hash, so without the server's secret no row names anyone
and a person's rows cannot be grouped (each slot's tag is unrelated to the others). Taking a
slot inserts the first free n (insert-ignore on the primary key: two simultaneous submissions
cannot both take the last slot), in the same transaction as the sealed tension. Slots of past
weeks are deleted by the weekly batch.

The residual: someone holding both the database and the secret can recompute each member's
tags and so count each person's tensions of the current week (never which ones they are).
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.calendar import week_key
from dialogs.tensions import store
from storage.sealing import Sealer

# The zone furthest behind UTC: its week starts last, so a week older than its current one
# is over for every team, wherever it is.
LAST_ZONE = ZoneInfo("Etc/GMT+12")


class Slots(TypedDict):
    """Whose slots, which week, and how many the week has."""

    team_id: int
    member_id: int
    week: str
    limit: int


class WeeklyLimiter:
    """Stateless: the slots are in the database. Any number of instances agree."""

    @staticmethod
    def tokens(sealer: Sealer, team_id: int, member_id: int, week: str, limit: int) -> list[str]:
        return [
            sealer.tag("tension-slot", team_id, member_id, week, n) for n in range(1, limit + 1)
        ]

    async def _taken(
        self, session: AsyncSession, sealer: Sealer, slots: Slots
    ) -> tuple[list[str], set[str]]:
        """The week's tokens, and those of them already taken."""
        tokens = self.tokens(sealer, **slots)
        return tokens, await store.taken_tokens(session, tokens)

    async def used(self, session: AsyncSession, sealer: Sealer, **slots: Unpack[Slots]) -> int:
        _, taken = await self._taken(session, sealer, slots)
        return len(taken)

    async def take(
        self, session: AsyncSession, sealer: Sealer, **slots: Unpack[Slots]
    ) -> str | None:
        """Take one of the week's `limit` slots: its token, or None when none is left."""
        tokens, taken = await self._taken(session, sealer, slots)
        for token in tokens:
            # A slot seen free may be taken meanwhile by another process: then try the next.
            if token not in taken and await store.take_token(session, token, slots["week"]):
                return token
        return None

    async def give_back(self, session: AsyncSession, token: str) -> None:
        """Return a slot taken for a submission that turned out to be a repeat."""
        await store.drop_token(session, token)


async def forget_past_weeks(session: AsyncSession, now: dt.datetime) -> int:
    """Delete the slots of weeks that are over in every time zone."""
    return await store.forget_weeks_before(session, week_key(now, LAST_ZONE))
