"""The Slack bridge's side of the intake (adapters/intake.py): what submits something is
committed before its ack and recorded after it, by the intake worker, from the database.

- `_durable_button`: a button that submits (`DURABLE_BUTTONS`) goes into the intake before its
  ack, with its de-duplication mark, as a modal submission does (`on_submission`).
- `_not_recorded_answer`: the ack of a submission whose commit failed: an error under the
  modal's first input (Slack keeps the modal and its values), never "received".
- `process`: the worker's handler. users.info, then the engine, which deletes the intake row
  in the transaction that records the submission; then the first reply replaces the modal's
  view (`_reply`), the rest by DM, and after `setup.save` the channel's members are onboarded.
  A failure up to the engine raises (the row is kept and tried again); after it, the answer
  is best effort: the submission stays recorded whatever Slack says.
- `_acks_first`: the worker waits, before each row, until no submission is waiting for its
  commit (YIELD_SECONDS at most): SQLite's write lock waits are sleeps, and acks come first
  (docs/performance.md, Slack).

A mixin of `SlackBridge` (adapters/slack/app.py), which provides what is declared below.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.intake import GroupCommit, IntakeUnavailable
from adapters.onboarding import links_a_channel
from adapters.slack import events
from adapters.slack.blocks import view_errors
from adapters.slack.sender import web_client
from adapters.ttl_cache import TtlCache
from dialogs.cards import Card, notice
from dialogs.engine import AlreadyHandled, Engine
from dialogs.events import Actor, Place
from dialogs.i18n import Tr, language_of
from storage.intake import AlreadyConsumed

if TYPE_CHECKING:
    from slack_bolt.app.async_app import AsyncApp

log = logging.getLogger(__name__)
Json = dict[str, Any]
PLATFORM = events.PLATFORM
# Buttons that submit something the person will take as done: committed before their ack.
# The others (open a form, edit, run a command) change nothing and stay after-ack tasks.
DURABLE_BUTTONS = frozenset(
    {
        "checkin.skip",
        "tension.confirm",
        "tension.cancel",
        "tension.approve",
        "tension.reject",
        "open.approve",
        "open.hide",
    }
)
# Measured (docs/performance.md): 0.05 s left SQLite's acks at p99 80-101 ms at c = 50 under
# load, 0.2 s 67 ms, the thanks of a burst of 50 unchanged (0.4-0.5 s).
YIELD_SECONDS = 0.2
# What a modal's `response_action: update` may carry over from the submitted view.
_VIEW_KEYS = ("type", "title", "submit", "close", "private_metadata", "callback_id")


class Recording:
    # Provided by SlackBridge.
    engine: Engine
    app: AsyncApp
    api_url: str
    intake: GroupCommit
    people: TtlCache
    _clients: dict[str, AsyncWebClient]

    if TYPE_CHECKING:

        async def token_for(self, workspace: str) -> str | None: ...
        async def actor(self, client: AsyncWebClient, workspace: str, user_id: str) -> Actor: ...
        async def post(
            self, client: AsyncWebClient, actor: Actor, card: Card, channel: str
        ) -> None: ...
        async def send_files(self, client: AsyncWebClient, actor: Actor, card: Card) -> None: ...
        def modal(
            self, card: Card, actor: Actor, channel_id: str = "", channel_name: str = ""
        ) -> Json: ...
        async def onboard(self, client: AsyncWebClient, place: Place) -> None: ...
        def _where(self, body: Json) -> tuple[str, str, Json | None]: ...
        def _after_ack(self, work: Coroutine[Any, Any, None], body: Json | None = None) -> None: ...
        def _delivery_key(self, body: Json) -> str | None: ...
        async def _view_closed(self, view_id: str) -> bool: ...
        async def _refuse(self, client: AsyncWebClient, actor: Actor) -> None: ...

    async def _durable_button(
        self, ack: Any, body: Json, action: Json, client: AsyncWebClient
    ) -> None:
        """A button that submits: into the intake before the ack, as a submission."""
        workspace = events.team_of(body)
        actor = events.actor_from_user(
            workspace, events.user_of(body), self.people.get(f"{workspace}:{events.user_of(body)}")
        )
        try:
            channel_id, channel_name, view = self._where(body)
        except events.ForgedMetadata:  # nothing recorded; said after the ack (once)
            await ack()
            self._after_ack(self._refuse(client, actor), body)
            return
        event = events.button(action, actor, events.place(workspace, channel_id, channel_name))
        if event is None:
            await ack()
            return
        delivery = events.Delivery(
            event,
            events.ModalMetadata("", channel_id, channel_name),
            str((view or {}).get("id") or ""),
            str((view or {}).get("hash") or ""),
        )
        try:
            # With its de-duplication mark, in one transaction: a repeat puts nothing (its
            # ack is as empty as the first's, and the first's answer is left alone).
            await self.intake.put(PLATFORM, delivery.to_json(), once=self._delivery_key(body))
        except IntakeUnavailable:
            # Slack shows nothing for a button's ack: say so, by the person's own means. No
            # mark was committed either: the person's next press is taken.
            await ack()
            self._after_ack(self._not_recorded(client, actor, channel_id))
            return
        await ack()

    async def _not_recorded(self, client: AsyncWebClient, actor: Actor, channel: str) -> None:
        known = await self.actor(client, actor.workspace, actor.user_ref)
        tr = Tr(language_of(known.locale, "fr"))
        card = notice(tr("slack.not_recorded_title"), tr("slack.not_recorded_button"))
        await self.post(client, known, card, channel)

    def _not_recorded_answer(self, body: Json, language: str = "fr") -> Json:
        """The ack of a submission that could not be committed: an error under the modal's
        first input (Slack keeps the modal and what was typed in it)."""
        tr = Tr(language)
        view = body.get("view") or {}
        for block in view.get("blocks") or []:
            name = str(block.get("block_id") or "") if isinstance(block, dict) else ""
            if block.get("type") == "input" and name:
                return view_errors({name: tr("slack.not_recorded")})
        # No input to hang the message on: the same form again, the message above it.
        again = {k: view[k] for k in _VIEW_KEYS if k in view}
        again["blocks"] = [
            {"type": "section", "text": {"type": "plain_text", "text": tr("slack.not_recorded")}},
            *(view.get("blocks") or []),
        ]
        return {"response_action": "update", "view": again}

    async def _acks_first(self) -> None:
        """Before the worker records a row: let the submissions waiting for their commit
        have it first (a bounded wait: YIELD_SECONDS)."""
        await self.intake.quiet(YIELD_SECONDS)

    async def _worker_client(self, workspace: str) -> AsyncWebClient:
        """A Web API client for the intake worker (no request, so no client from Bolt)."""
        token = await self.token_for(workspace)
        if not token:  # uninstalled: the row waits, backed off, for a re-install
            raise LookupError("no bot token for the workspace")
        client = self._clients.get(token)
        if client is None:
            client = web_client(self.api_url, token, retries=2, session=self.app.client.session)
            self._clients[token] = client
        return client

    async def process(self, intake_id: str, payload: Any) -> None:
        """The intake worker's handler: a submission (or a submitting button) recorded by the
        engine, which deletes its intake row in the same transaction; then its first reply
        replaces the modal's "recording" view (or the modal the button was in). A failure
        before or in the engine raises (the row is kept and tried again); after the engine,
        the answer is best effort: the submission is recorded whatever Slack says."""
        delivery = events.Delivery.from_json(payload)
        event, metadata = delivery.event, delivery.metadata
        client = await self._worker_client(event.actor.workspace)
        actor = await self.actor(client, event.actor.workspace, event.actor.user_ref)
        event = dataclasses.replace(event, actor=actor)  # with the person's profile
        try:
            cards = await self.engine.handle(event, intake_id=intake_id)
        except (AlreadyConsumed, AlreadyHandled):
            raise
        except Exception:
            # Kept and tried again (the row stays): say so in place of "recording", which a
            # failure that repeats would otherwise leave on screen for good.
            await self._say_delayed(client, actor, delivery.view_id)
            raise
        try:
            await self._reply(client, actor, delivery.view_id, cards, metadata, delivery.view_hash)
            if links_a_channel(event) and event.place is not None:
                await self._onboard_after_setup(client, actor, event.place)
        except SlackApiError as error:  # recorded; Slack refused the answer (a view gone)
            log.warning(
                "slack: a recorded submission could not be answered: %s",
                error.response.get("error"),
            )
        except Exception:  # recorded; only the answer is lost (no content in the log)
            log.warning("slack: a recorded submission could not be answered", exc_info=True)

    async def _say_delayed(self, client: AsyncWebClient, actor: Actor, view_id: str) -> None:
        if not view_id or await self._view_closed(view_id):
            return
        tr = Tr(language_of(actor.locale, "fr"))
        card = notice(tr("slack.delayed_title"), tr("slack.delayed"))
        view = self.modal(card, actor)
        view["close"] = {"type": "plain_text", "text": tr("slack.close")}
        # The modal may be gone or answered meanwhile: then there is nothing to correct.
        with contextlib.suppress(SlackApiError):
            await client.views_update(view_id=view_id, view=view)

    async def _onboard_after_setup(
        self, client: AsyncWebClient, actor: Actor, place: Place
    ) -> None:
        try:
            await self.onboard(client, place)
        except SlackApiError:  # the bot is not in the channel (private, or not invited)
            log.warning("onboarding failed: the bot cannot list the channel's members")
            tr = Tr(language_of(actor.locale, "fr"))
            await self.post(
                client, actor, notice(tr("setup.invite_title"), tr("setup.invite_bot")), ""
            )

    async def _reply(
        self,
        client: AsyncWebClient,
        actor: Actor,
        view_id: str,
        cards: list[Card],
        metadata: events.ModalMetadata,
        view_hash: str = "",
    ) -> None:
        """The engine's replies to a submission: the first in the modal (in place of the
        "recording" view, or of the modal a button was pressed in), the rest by DM; all by DM
        when the modal is gone. A submission's answer has no `hash` (the ack's
        `response_action: update` gave the modal one we never see; the only view it can
        overwrite is our own "recording" one); a button's answer replaces the modal only as it
        was when pressed (`view_hash`), so a double click's "already received" never
        replaces the first click's answer (a tension's one-time code): it goes by DM."""
        if cards and view_id and not await self._view_closed(view_id):
            first = cards[0]
            tr = Tr(language_of(actor.locale, "fr"))
            try:
                view = self.modal(first, actor, metadata.channel_id, metadata.channel_name)
                if first.form is None:  # a confirmation: "Close", not Slack's "Cancel"
                    view["close"] = {"type": "plain_text", "text": tr("slack.close")}
                await client.views_update(view_id=view_id, view=view, hash=view_hash or None)
                cards = cards[1:]
            except SlackApiError:  # the modal is gone: by DM (no log: it would date a ballot)
                pass
            else:
                await self.send_files(client, actor, first)  # a modal holds no file
        for card in cards:
            await self.post(client, actor, card, "")
