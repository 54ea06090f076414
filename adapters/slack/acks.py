"""What a Slack submission is acknowledged with, the same whichever process answers.

- `ack_language`: the language of an ack (the "recording" view, the errors shown under the
  inputs, "not saved"), chosen as the engine chooses a reply's (dialogs/turn.py `Turn.tr`):
  the member's stored language, else their Slack locale, else their team's language, else
  French. The database first, so that every process says it in the same language; Slack's
  locale (users.info, cached or asked with a short deadline) only for someone the database
  does not know the language of yet.
- `recording_view`: the neutral "thank you, recording" modal (built once per language).
- `refused_view`: the modal that replaces a form whose `private_metadata` we did not sign.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from adapters.slack.blocks import modal_view
from dialogs.cards import notice
from dialogs.i18n import Tr, language_of
from storage.database import Database
from storage.models import Member, Team

log = logging.getLogger(__name__)
Json = dict[str, Any]
PLATFORM = "slack"
RECORDING_CALLBACK_ID = "passerelle_recording"  # the view a submission is acked with
REFUSED_CALLBACK_ID = "passerelle_refused"
# users.info before an ack, for someone whose language the database does not know yet: the
# ack must reach Slack within 3 s.
PROFILE_SECONDS = 1.0


@functools.cache
def recording_view(language: str) -> Json:
    """The neutral "thank you, recording" modal a submission is acked with, per language
    (built once: the ack must not wait; never changed after)."""
    tr = Tr(language)
    view = modal_view(
        notice(tr("slack.recording_title"), tr("slack.recording")),
        private_metadata="",
        callback_id=RECORDING_CALLBACK_ID,
        close_label=tr("slack.close"),
    )
    view["notify_on_close"] = True
    return view


@functools.cache
def refused_view(language: str) -> Json:
    """In place of a modal whose metadata is not ours: nothing was recorded, open it again."""
    tr = Tr(language)
    return modal_view(
        notice(tr("slack.forged_title"), tr("slack.forged")),
        private_metadata="",
        callback_id=REFUSED_CALLBACK_ID,
        close_label=tr("slack.close"),
    )


async def stored_language(
    database: Database, workspace: str, user_id: str, team_slug: str = ""
) -> tuple[str | None, str | None]:
    """(the member's language, their team's language) as stored: the team the form is about
    when they belong to it, else their earliest membership; (None, None) for a stranger."""
    query = (
        select(Member.language, Team.language, Team.slug)
        .join(Team, Team.id == Member.team_id)
        .where(
            Member.platform == PLATFORM,
            Member.workspace == workspace,
            Member.user_ref == user_id,
        )
        .order_by(Member.id)
    )
    async with database.session() as session:
        rows = (await session.execute(query)).all()
    if not rows:
        return None, None
    row = next((r for r in rows if team_slug and r[2] == team_slug), rows[0])
    return row[0], row[1]


async def ack_language(
    database: Database,
    workspace: str,
    user_id: str,
    team_slug: str,
    profile: Callable[[], Awaitable[Json | None]],
) -> str:
    """'fr' or 'en' for an ack to this person (see the module's docstring)."""
    member_language, team_language = None, None
    try:
        member_language, team_language = await stored_language(
            database, workspace, user_id, team_slug
        )
    except Exception as error:  # the database is down: Slack's locale still answers
        log.warning("slack: a member's language could not be read: %r", error)
    if member_language:
        return language_of(member_language)
    fallback = language_of(team_language, "fr")
    try:
        async with asyncio.timeout(PROFILE_SECONDS):
            user = await profile()
    except Exception:  # too slow or refused: the team's language
        return fallback
    return language_of((user or {}).get("locale"), fallback)
