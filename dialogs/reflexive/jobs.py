"""The reflexive spaces' calendar: inviting pre-reflections, then posting the question."""

from __future__ import annotations

import datetime as dt

from dialogs.reflexive import spaces, store
from dialogs.registry import Occasion


async def invites(occasion: Occasion) -> tuple[str, int]:
    """Invite pre-reflections for occurrences whose lead time has begun (or the next one)."""
    session, team, now = occasion.session, occasion.team, occasion.now
    sent = 0
    found = False
    for schedule in await store.schedules_of(session, team.id):
        upcoming = spaces.next_occurrence(schedule, team, now)
        if upcoming is None:
            continue
        if occasion.forced or upcoming - dt.timedelta(hours=schedule.lead_hours) <= now:
            found = True
            sent += await spaces.invite(session, occasion.bank, team, schedule, upcoming, now)
    return ("jobs.sent" if found else "jobs.no_reflexive"), sent


async def posts(occasion: Occasion) -> tuple[str, int]:
    """Post the prompts whose time has come (forced: each schedule's next one, now)."""
    session, team, now = occasion.session, occasion.team, occasion.now
    posted = 0
    for schedule in await store.schedules_of(session, team.id):
        if occasion.forced:
            due = spaces.next_occurrence(schedule, team, now)
        else:
            # The latest occurrence in the last hour, if any: a late tick still posts.
            due = spaces.next_occurrence(schedule, team, now - dt.timedelta(hours=1))
            due = due if due is not None and due <= now else None
        if due is not None:
            posted += await spaces.post(occasion, schedule, due)
    return ("jobs.reflexive_posted" if posted else "jobs.no_reflexive"), posted
