"""How the Slack bridge answers one person (a mixin of `SlackBridge`, adapters/slack/app.py):
who they are, and the engine's cards shown to them.

- `actor` / `user`: the person's Slack profile (users.info, with their locale), cached a while
  (`people`): any process would get the same answer.
- `modal`: a card's form as a modal, its `private_metadata` signed for that person
  (`events.ModalMetadata.signed`) and carrying the language it is rendered in, so that its
  submission is acked in that language without the database (adapters/slack/acks.py).
- `post`: a card as an ephemeral message in a channel, else in the person's DM with the app
  (one call: a user id as the channel; the DM's id is remembered by the sender). What someone
  typed in a form sent back to them is kept encrypted (`FormCards.keep`), its key in their
  message only. A card's files (a summary's chart, a CSV export) are uploaded to the DM as the
  outbox uploads them (`send_files`, adapters/slack/uploads.py); a card with files goes to the
  DM whole, even when asked for in a channel (which gets an ephemeral line saying so).
- `show`: the engine's replies: the first form opens as a modal when a trigger allows one, the
  rest are posted.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import events
from adapters.slack.blocks import files_to_upload, form_metadata, messages_for, modal_view
from adapters.slack.forms import FormCards
from adapters.slack.sender import SlackSender
from adapters.slack.uploads import open_dm, upload
from adapters.ttl_cache import TtlCache
from dialogs.cards import Card
from dialogs.engine import Engine
from dialogs.events import Actor
from dialogs.i18n import Tr, language_of

log = logging.getLogger(__name__)
Json = dict[str, Any]
CALLBACK_ID = "passerelle_form"  # the modals of our forms (their submissions: acks.py)


class Replies:
    # Provided by SlackBridge.
    engine: Engine
    forms: FormCards
    sender: SlackSender
    people: TtlCache  # users.info answers, per "workspace:user"

    # ----------------------------------------------------------------- people
    async def actor(self, client: AsyncWebClient, workspace: str, user_id: str) -> Actor:
        return events.actor_from_user(
            workspace, user_id, await self.user(client, workspace, user_id)
        )

    async def user(self, client: AsyncWebClient, workspace: str, user_id: str) -> Json | None:
        key = f"{workspace}:{user_id}"
        cached = self.people.get(key)
        if cached is not None:
            return dict(cached)
        try:
            answer = await client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            log.warning("users.info: %s", error.response.get("error"))  # no id in logs
            return None
        user = dict(answer.get("user") or {})
        self.people.put(key, user)
        return user

    # ----------------------------------------------------------------- cards
    def modal(self, card: Card, actor: Actor, channel_id: str = "", channel_name: str = "") -> Json:
        """The modal for `actor`, its metadata signed for them. Not kept (FormCards): Slack
        keeps a modal's values itself."""
        reference = form_metadata(card.form) if card.form is not None else ""
        language = events.card_language(card)  # the ack speaks it without the database
        metadata = events.ModalMetadata(reference, channel_id, channel_name, language)
        signed = metadata.signed(self.engine.sealer.tag, actor.workspace, actor.user_ref)
        return modal_view(card, private_metadata=signed, callback_id=CALLBACK_ID)

    async def post(self, client: AsyncWebClient, actor: Actor, card: Card, channel: str) -> None:
        """A card for one person: ephemeral in a channel, else in their DM with the bot. A card
        with files goes to their DM whole, its files under it (a file cannot be ephemeral, and
        one person's summary is not shared with a channel); the channel is told where."""
        card = await self.forms.keep(card)  # what they typed: its key in their message only
        in_channel = bool(channel) and not channel.startswith("D")
        has_files = bool(files_to_upload(card))
        if in_channel and not has_files:
            try:
                for text, blocks in messages_for(card):
                    await client.chat_postEphemeral(
                        channel=channel, user=actor.user_ref, text=text, blocks=blocks
                    )
                return
            except SlackApiError as error:
                log.info("ephemeral refused (%s): by DM", error.response.get("error"))
        # A user id as the channel posts into the person's DM with the app (one call, no
        # conversations.open); Slack's answer names the DM, which the sender remembers.
        dm = self.sender.dm_channel(actor.workspace, actor.user_ref) or actor.user_ref
        for text, blocks in messages_for(card):
            answer = await client.chat_postMessage(
                channel=dm, text=text, blocks=blocks, unfurl_links=False
            )
            dm = str(answer.get("channel") or dm)
            self.sender.remember_dm(actor.workspace, actor.user_ref, dm)
        await self.send_files(client, actor, card)
        if in_channel and has_files:
            tr = Tr(language_of(actor.locale, "fr"))
            try:
                await client.chat_postEphemeral(
                    channel=channel, user=actor.user_ref, text=tr("slack.files_in_dm")
                )
            except SlackApiError as error:  # the answer is in their DM all the same
                log.info("ephemeral refused (%s)", error.response.get("error"))

    async def send_files(self, client: AsyncWebClient, actor: Actor, card: Card) -> None:
        """The card's files (a chart, a CSV) in the person's DM, as the outbox sends them
        (adapters/slack/uploads.py). For a card shown in a modal too, which cannot hold one."""
        attachments = files_to_upload(card)
        if not attachments:
            return
        dm = self.sender.dm_channel(actor.workspace, actor.user_ref)
        if dm is None:
            dm = await open_dm(client, actor.user_ref)
            self.sender.remember_dm(actor.workspace, actor.user_ref, dm)
        for attachment in attachments:
            await upload(client, dm, attachment)

    async def show(
        self,
        client: AsyncWebClient,
        actor: Actor,
        cards: list[Card],
        *,
        trigger_id: str | None,
        channel_id: str = "",
        channel_name: str = "",
    ) -> None:
        """Replies: the first form opens as a modal (a trigger opens one); the rest as posts."""
        for card in cards:
            if card.form is not None and trigger_id:
                view = self.modal(card, actor, channel_id, channel_name)
                await client.views_open(trigger_id=trigger_id, view=view)
                await self.send_files(client, actor, card)
                trigger_id = None
                continue
            await self.post(client, actor, card, channel_id)
