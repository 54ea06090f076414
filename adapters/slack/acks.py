"""What a Slack submission is acknowledged with, the same whichever process answers.

- The language of an ack (the "recording" view, the errors shown under the inputs, "not
  saved") is the one the modal was rendered in, which its signed `private_metadata` carries
  (`events.ModalMetadata.language`): no I/O before the ack, the same on every process.
  `ack_language`, for a modal without it (signed before it rode along) or one we did not
  sign: chosen as the engine chooses a reply's (dialogs/turn.py `Turn.tr`), the member's
  stored language, else their Slack locale, else their team's language, else French. The
  database first, so that every process says it in the same language; Slack's locale
  (users.info, cached or asked with a short deadline) only for someone the database does not
  know the language of yet.
- `recording_view`: the neutral "thank you, recording" modal (built once per language).
- `refused_view`: the modal that replaces a form whose `private_metadata` we did not sign.
- `repeated_answer`: the ack of a submission that is already in the intake (a duplicate).
- `Acknowledging` (a mixin of `SlackBridge`): a modal submission checked without writing
  (errors under the inputs, a forged modal refused), committed to the intake with its
  de-duplication mark (adapters/slack/dedup.py), then acked.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.intake import GroupCommit, IntakeUnavailable
from adapters.slack import events
from adapters.slack.block_values import decode_form_reference
from adapters.slack.blocks import modal_view, view_errors
from dialogs.cards import notice
from dialogs.engine import Engine
from dialogs.events import FormSubmitted
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


def repeated_answer(body: Json, language: str) -> Json:
    """The ack of a submission already in the intake (a retry, the same request on two
    processes): a note under the modal's first input. An error never replaces the modal, so
    whatever the first submission's answer put there (its "recording" view, or already its
    result: a tension's one-time code) stays, and the first's `views.update` still replaces
    the form with that result. Without an input, the "recording" view (Slack applies it only
    to the view as submitted: an answer shown since has another hash)."""
    view = body.get("view") or {}
    for block in view.get("blocks") or []:
        name = str(block.get("block_id") or "") if isinstance(block, dict) else ""
        if name and block.get("type") == "input":
            return view_errors({name: Tr(language)("slack.repeated")})
    return {"response_action": "update", "view": recording_view(language)}


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


class Acknowledging:
    # Provided by SlackBridge (and its Recording and SharedMemory mixins).
    engine: Engine
    database: Database
    intake: GroupCommit

    if TYPE_CHECKING:

        async def user(
            self, client: AsyncWebClient, workspace: str, user_id: str
        ) -> Json | None: ...
        def _delivery_key(self, body: Json) -> str | None: ...
        def _not_recorded_answer(self, body: Json, language: str = "fr") -> Json: ...

    async def on_submission(self, ack: Any, body: Json, client: AsyncWebClient) -> None:
        """Checked without writing, committed to the intake with its de-duplication mark
        (one transaction), then acked; recorded after."""
        language = "fr"
        try:
            language = await self._ack_language(body, client)
            response, submitted = self._acknowledgement(body, language)
        except Exception:  # whatever happened, Slack gets its answer (an empty one closes)
            log.exception("slack submission could not be checked")
            response, submitted = {}, None
        if submitted is not None:
            event, metadata = submitted
            view_id = str((body.get("view") or {}).get("id") or "")
            delivery = events.Delivery(event, metadata, view_id)
            try:
                put = await self.intake.put(
                    PLATFORM, delivery.to_json(), once=self._delivery_key(body)
                )
            except IntakeUnavailable:
                # Never "received" for what is not committed (its mark was not either: the
                # resend is taken): the modal stays, with its values.
                response = self._not_recorded_answer(body, language)
            else:
                if put is None:  # the same submission again: the first one answers
                    log.debug("slack: a duplicate submission was not recorded again")
                    response = repeated_answer(body, language)
        await ack(**response)

    async def _ack_language(self, body: Json, client: AsyncWebClient) -> str:
        """The language of this submission's ack, the same on every process (acks.py): the
        one the modal was rendered in when its signed metadata says it (no I/O), else as
        the engine would choose it (`ack_language`: a modal signed before the language rode
        along, or one we did not sign, which is refused in the person's language)."""
        workspace, user_id = events.team_of(body), events.user_of(body)
        raw = str((body.get("view") or {}).get("private_metadata") or "")
        try:
            signed = events.ModalMetadata.verified(raw, self.engine.sealer.tag, workspace, user_id)
        except events.ForgedMetadata:
            signed = None
        if signed is not None and signed.language:
            return signed.language
        slug = ""
        try:
            reference = events.ModalMetadata.decode(raw).reference
            slug = str(decode_form_reference(reference)[1].get("team") or "")
        except (ValueError, TypeError, AttributeError):
            pass  # no team to prefer: the person's first
        return await ack_language(
            self.database, workspace, user_id, slug, lambda: self.user(client, workspace, user_id)
        )

    def _acknowledgement(
        self, body: Json, language: str
    ) -> tuple[Json, tuple[FormSubmitted, events.ModalMetadata] | None]:
        """(what the ack says, the submission to record, if any): the errors Slack shows
        under the inputs, the neutral "recording" view (no input, no submit, built once per
        language and never changed: sent as it is), a refusal for a modal whose metadata we
        did not sign for this person, or nothing for a modal that is not ours (it closes)."""
        workspace, user_id = events.team_of(body), events.user_of(body)
        tr = Tr(language)
        view = body.get("view") or {}
        actor = events.actor_from_user(workspace, user_id, None)  # the worker asks users.info
        try:
            event, metadata = events.submission(body, actor, self.engine.sealer.tag)
        except events.ForgedMetadata:
            log.warning("slack: a submission with forged modal metadata was refused")
            return {"response_action": "update", "view": refused_view(tr.language)}, None
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}, None
        errors = events.input_errors(view, tr, event.values)
        if errors:
            return view_errors(errors), None
        return {"response_action": "update", "view": recording_view(tr.language)}, (
            event,
            metadata,
        )
