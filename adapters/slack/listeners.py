"""The Bolt listeners of the Slack bridge (a mixin of `SlackBridge`, adapters/slack/app.py):
each request Slack sends, translated into an engine event, acked, and answered.

A listener acks at once and hands the rest to a task (`_after_ack`, adapters/slack/lifecycle.py),
marked first so that a delivery reaching two processes is handled once (dedup.py). What submits
something is committed to the intake before its ack instead: modal submissions
(`on_submission`, acks.py) and the buttons that submit (`DURABLE_BUTTONS`, recording.py).

- `/passerelle <text>`: a `CommandReceived` in the channel; a reply with a form opens as a modal
  (views.open with the command's trigger id), others are shown to the person only.
- buttons: ours (`passerelle:<action>:<i>`) are `FormSubmitted`; "open the form" opens the
  form's modal (the form kept for the person, else rebuilt by the engine from its reference);
  a reply to a button in a modal replaces the modal (views.update). A modal whose signed
  `private_metadata` is not for this person is refused (`_where`, `_refuse`).
- events: members joining or leaving a team's channel (the bot joining one onboards its
  members), the App Home tab, and `tokens_revoked` / `app_uninstalled` (sends to the workspace
  are suspended, nothing is lost).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters import onboarding
from adapters.slack import events
from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.block_values import button_action, decode_form_reference
from adapters.slack.blocks import OPEN_FORM_ACTION, home_view
from adapters.slack.forms import FormCards
from adapters.slack.recording import DURABLE_BUTTONS
from adapters.slack.replies import CALLBACK_ID, Replies
from dialogs.cards import Card, notice
from dialogs.engine import Engine, form_card, home
from dialogs.events import Actor, MemberJoined, MemberLeft, Place, TeamInstalled
from dialogs.i18n import Tr, language_of

log = logging.getLogger(__name__)
Json = dict[str, Any]


class Pressed(NamedTuple):
    """Who pressed a button, and where: the channel (a modal's, from its signed metadata; else
    the message's), the modal when it was pressed in one, the channel as a team's place."""

    actor: Actor
    channel_id: str
    channel_name: str
    view: Json | None
    place: Place | None


class Listeners(Replies):
    """Answers through `Replies` (who a user is, modals, posts); the rest is provided by
    SlackBridge's other mixins."""

    engine: Engine
    forms: FormCards

    if TYPE_CHECKING:

        async def suspend(self, workspace: str) -> None: ...
        def _after_ack(self, work: Coroutine[Any, Any, None], body: Json | None = None) -> None: ...
        async def on_submission(self, ack: Any, body: Json, client: AsyncWebClient) -> None: ...
        async def on_recording_closed(self, ack: Any, body: Json) -> None: ...
        async def _durable_button(
            self, ack: Any, body: Json, action: Json, client: AsyncWebClient
        ) -> None: ...
        async def _onboard_after_setup(
            self, client: AsyncWebClient, actor: Actor, place: Place
        ) -> None: ...

    def register_listeners(self, app: AsyncApp) -> None:
        # Bolt tries listeners in this order: submissions first, the busiest in a burst.
        app.view(CALLBACK_ID)(self.on_submission)
        app.action(OPEN_FORM_ACTION)(self.on_open_form)
        app.command("/passerelle")(self.on_command)
        app.action(re.compile(r"^passerelle:"))(self.on_button)
        app.view_closed(RECORDING_CALLBACK_ID)(self.on_recording_closed)
        app.event("member_joined_channel")(self.on_member_joined)
        app.event("member_left_channel")(self.on_member_left)
        app.event("app_home_opened")(self.on_home)
        app.event("tokens_revoked")(self.on_revoked)
        app.event("app_uninstalled")(self.on_revoked)

    # ----------------------------------------------------------------- commands
    async def on_command(self, ack: Any, body: Json, client: AsyncWebClient) -> None:
        await ack()
        self._after_ack(self._command(body, client), body)

    async def _command(self, body: Json, client: AsyncWebClient) -> None:
        actor = await self.actor(client, events.team_of(body), events.user_of(body))
        event = events.command(body, actor)
        cards = await self.engine.handle(event)
        await self.show(
            client,
            actor,
            cards,
            trigger_id=body.get("trigger_id"),
            channel_id=str(body.get("channel_id", "")),
            channel_name=str(body.get("channel_name", "")),
        )
        if onboarding.links_a_channel(event) and event.place is not None:
            # `setup <code>` linked this channel to a team: its members join, as after a setup.
            await self._onboard_after_setup(client, actor, event.place)

    # ----------------------------------------------------------------- buttons
    def _where(self, body: Json) -> tuple[str, str, Json | None]:
        """(channel id, channel name, the modal) an action came from. ForgedMetadata when the
        modal's metadata was not signed for this person (Slack sends back what it was given:
        anything else was crafted)."""
        view = body.get("view")
        if isinstance(view, dict) and view.get("type") == "modal":
            raw = view.get("private_metadata") or ""
            if not raw:  # our "recording" view, which carries nothing
                return "", "", view
            metadata = events.ModalMetadata.verified(
                str(raw), self.engine.sealer.tag, events.team_of(body), events.user_of(body)
            )
            return metadata.channel_id, metadata.channel_name, view
        channel = body.get("channel") or {}
        return str(channel.get("id", "")), str(channel.get("name", "")), None

    async def on_open_form(
        self, ack: Any, body: Json, action: Json, client: AsyncWebClient
    ) -> None:
        await ack()
        self._after_ack(self._open_form(body, action, client), body)

    async def _pressed(self, body: Json, client: AsyncWebClient) -> Pressed | None:
        """Who pressed a button, and where (`_where`); None when the modal's metadata is
        forged, the person told (`_refuse`)."""
        actor = await self.actor(client, events.team_of(body), events.user_of(body))
        try:
            channel_id, channel_name, view = self._where(body)
        except events.ForgedMetadata:
            await self._refuse(client, actor)
            return None
        where = events.place(events.team_of(body), channel_id, channel_name)
        return Pressed(actor, channel_id, channel_name, view, where)

    async def _open_form(self, body: Json, action: Json, client: AsyncWebClient) -> None:
        pressed = await self._pressed(body, client)
        if pressed is None:
            return
        actor, reference = pressed.actor, str(action.get("value") or "")
        card = await self.forms.card(reference) or await self._form_again(
            actor, reference, pressed.place
        )
        modal = self.modal(card, actor, pressed.channel_id, pressed.channel_name)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def _refuse(self, client: AsyncWebClient, actor: Actor) -> None:
        """A button in a modal whose metadata is not ours: said to the person, nothing done."""
        tr = Tr(language_of(actor.locale, "fr"))
        await self.post(client, actor, notice(tr("slack.forged_title"), tr("slack.forged")), "")

    async def _form_again(self, actor: Actor, reference: str, where: Place | None) -> Card:
        """A form this process did not post (a restart, another process): the engine rebuilds
        it from its reference."""
        tr = Tr(language_of(actor.locale, "fr"))
        try:
            name, context = decode_form_reference(reference)
        except ValueError:
            name, context = "", {}
        card = await form_card(self.engine, actor, where, name, context)
        return card or notice(tr("errors.refused_title"), tr("errors.stale_button"))

    async def on_button(self, ack: Any, body: Json, action: Json, client: AsyncWebClient) -> None:
        name = button_action(str(action.get("action_id", "")))
        if name in DURABLE_BUTTONS:
            await self._durable_button(ack, body, action, client)
            return
        await ack()
        self._after_ack(self._button(body, action, client), body)

    async def _button(self, body: Json, action: Json, client: AsyncWebClient) -> None:
        pressed = await self._pressed(body, client)
        if pressed is None:
            return
        actor, channel_id, channel_name, view, where = pressed
        event = events.button(action, actor, where)
        if event is None:
            return
        cards = await self.engine.handle(event)
        if view is not None and cards:
            first, *cards = cards
            await client.views_update(
                view_id=view["id"], view=self.modal(first, actor, channel_id, channel_name)
            )
            await self.send_files(client, actor, first)  # a modal holds no file
            channel_id = ""  # the rest by DM
        await self.show(
            client,
            actor,
            cards,
            trigger_id=None if view is not None else body.get("trigger_id"),
            channel_id=channel_id,
            channel_name=channel_name,
        )

    # ----------------------------------------------------------------- members
    async def onboard(self, client: AsyncWebClient, place: Place) -> None:
        """The channel was just linked to a team: its members join it (adapters/onboarding.py)."""
        await onboarding.onboard(self.engine, place, lambda: self._roster(client, place))

    async def _roster(self, client: AsyncWebClient, place: Place) -> AsyncIterator[Actor]:
        """The channel's members (conversations.members, page by page), bots left out."""
        cursor = None
        while True:
            page = await client.conversations_members(channel=place.channel_ref, cursor=cursor)
            for user_id in page.get("members") or []:
                user = await self.user(client, place.workspace, user_id)
                if user is None or events.is_bot_user(user):
                    continue
                yield events.actor_from_user(place.workspace, user_id, user)
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break

    async def _membership(
        self, body: Json, event: Json, client: AsyncWebClient, bot_user_id: str | None
    ) -> None:
        workspace = events.team_of(body)
        user_id = str(event.get("user", ""))
        where = events.place(workspace, str(event.get("channel", "")))
        if where is None:
            return
        if user_id and user_id == bot_user_id:  # the bot was added to a channel
            if event.get("type") != "member_joined_channel":
                return
            # A channel set up before the bot was in it: its members join the team now.
            await self.onboard(client, where)
            inviter = str(event.get("inviter") or "")
            if inviter:
                actor = await self.actor(client, workspace, inviter)
                cards = await self.engine.handle(TeamInstalled(actor, where))
                for card in cards:
                    await self.post(client, actor, card, where.channel_ref)
            return
        user = await self.user(client, workspace, user_id)
        if events.is_bot_user(user):
            return
        actor = events.actor_from_user(workspace, user_id, user)
        if event.get("type") == "member_joined_channel":
            await self.engine.handle(MemberJoined(actor, where))
        else:
            await self.engine.handle(MemberLeft(actor, where))

    async def on_member_joined(
        self, ack: Any, body: Json, event: Json, client: AsyncWebClient, context: Any
    ) -> None:
        await ack()
        self._after_ack(self._membership(body, event, client, context.get("bot_user_id")), body)

    async def on_member_left(
        self, ack: Any, body: Json, event: Json, client: AsyncWebClient, context: Any
    ) -> None:
        await ack()
        self._after_ack(self._membership(body, event, client, context.get("bot_user_id")), body)

    # ----------------------------------------------------------------- home, uninstall
    async def on_home(self, ack: Any, body: Json, event: Json, client: AsyncWebClient) -> None:
        await ack()
        if event.get("tab", "home") == "home":
            home = self._home(events.team_of(body), str(event.get("user", "")), client)
            self._after_ack(home, body)

    async def _home(self, workspace: str, user_id: str, client: AsyncWebClient) -> None:
        actor = await self.actor(client, workspace, user_id)
        card = await home(self.engine, actor)
        card = await self.forms.keep(card)
        await client.views_publish(user_id=actor.user_ref, view=home_view(card))

    async def on_revoked(self, ack: Any, body: Json) -> None:
        await ack()
        workspace = events.team_of(body)
        log.warning("slack workspace %s: %s", workspace, body.get("event", {}).get("type"))
        self._after_ack(self.suspend(workspace), body)
