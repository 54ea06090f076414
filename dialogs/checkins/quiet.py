"""A round and the people's quiet hours: who its ask can reach before it closes, and what the
coordinators are told about the others.

An ask held back by quiet hours is sent when they end, if the round is still open then (the
close forgets unsent asks, `rounds.close`). One whose quiet hours last past the close would
never be sent: it is not queued, and the coordinators are told how many people the round could
not reach in time, rather than the round quietly asking fewer people. Those people stay in the
ledger as asked, so they can still answer by typing `checkin` while it is open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, times
from dialogs.calendar import member_quiet_until
from dialogs.cards import Card, Paragraph
from dialogs.checkins.models import Round
from dialogs.i18n import Tr
from storage.models import Member, Team


def reachable_in_time(
    team: Team, members: Sequence[Member], now: dt.datetime, closes_at: dt.datetime
) -> tuple[list[Member], list[Member]]:
    """(those an ask sent now reaches before `closes_at`, those whose quiet hours last until
    the close or later)."""
    in_time: list[Member] = []
    too_late: list[Member] = []
    for member in members:
        wake = member_quiet_until(now, team, member)
        (in_time if wake < closes_at else too_late).append(member)
    return in_time, too_late


def unasked_card(tr: Tr, team: Team, round_: Round, count: int, reader: Member) -> Card:
    return Card(
        title=tr("checkin.unasked_title", seq=round_.seq),
        blocks=[
            Paragraph(
                text=tr(
                    "checkin.unasked",
                    seq=round_.seq,
                    count=count,
                    closes=times.shown(tr, round_.closes_at, team, reader),
                )
            ),
            Paragraph(text=tr("checkin.unasked_how")),
        ],
    )


async def tell_coordinators(
    session: AsyncSession,
    team: Team,
    round_: Round,
    count: int,
    coordinators: Sequence[Member],
    now: dt.datetime,
) -> int:
    """Tell each coordinator, once per round, how many people the round cannot reach before it
    closes (a count, never who). Their own quiet hours are respected: nothing here is urgent."""
    if count == 0:
        return 0
    return await outbound.to_each(
        session,
        team,
        coordinators,
        lambda tr, reader: unasked_card(tr, team, round_, count, reader),
        key=f"checkin-unasked:{round_.id}",
        now=now,
    )
