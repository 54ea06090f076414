"""Sealed submissions this server can no longer open (a lost or retired key).

Their authors are unknown by design, so nobody can be asked in person: the team's channels
are told how many could not be opened and that whoever wrote one before now may write it
again. The rows are deleted by the batch that found them; the log gets a count, never content.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, times
from dialogs.cards import Card, Paragraph
from dialogs.i18n import Tr
from storage.models import Team

log = logging.getLogger(__name__)
KINDS = ("ballot", "tension", "success", "pre_reflection")


async def tell_team(
    session: AsyncSession,
    team: Team,
    kind: str,
    count: int,
    now: dt.datetime,
    *,
    channel_id: int | None = None,
) -> int:
    """Post the notice for `count` unopenable submissions of `kind`; how many posts queued."""
    if count <= 0:
        return 0
    assert kind in KINDS, kind
    log.warning(
        "team %s: %d sealed %s(s) could not be opened and were deleted", team.id, count, kind
    )
    tr = Tr(team.language)
    card = Card(
        title=tr("lost_key.title"),
        blocks=[
            Paragraph(text=tr(f"lost_key.{kind}", count=count)),
            Paragraph(text=tr(f"lost_key.again_{kind}", when=times.shown(tr, now, team))),
        ],
    )
    return await outbound.to_channels(
        session,
        team,
        card,
        key=f"lost-key:{kind}:{team.id}:{now:%Y%m%dT%H%M%S}",
        now=now,
        channel_id=channel_id,
    )
