"""The Slack app: a slack_bolt `AsyncApp` whose listeners only translate.

One workspace (signing secret + bot token) or many through OAuth (installations in our
database). Every listener acks first and works after, except a modal submission, whose answer
(`response_action`) needs the engine's reply: the engine answers well within Slack's 3 seconds.

- `/passerelle <text>`: a `CommandReceived` in the channel; a reply with a form opens as a modal
  (views.open with the command's trigger id), others are shown to the person only.
- buttons: ours (`passerelle:<action>:<i>`) are `FormSubmitted`; "open the form" opens the
  form's modal; a reply to a button in a modal replaces the modal (views.update).
- modal submissions: `FormSubmitted` with the modal's values; a reply with a form or buttons
  (the same form with a warning, a tension preview) replaces the modal, anything else closes it
  and goes by DM. After `setup.save` the channel's members are onboarded.
- events: members joining or leaving a team's channel, the App Home tab, and `tokens_revoked` /
  `app_uninstalled` (sends to the workspace are suspended, nothing is lost).
- Slack's retries and double deliveries are dropped on their identity (`events.event_identity`);
  the engine's writes are idempotent besides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import events
from adapters.slack.blocks import (
    OPEN_FORM_ACTION,
    decode_form_reference,
    form_metadata,
    home_view,
    messages_for,
    modal_view,
)
from adapters.slack.forms import FormCards
from adapters.slack.sender import SlackSender, web_client
from dialogs.cards import Card, notice
from dialogs.engine import Engine, form_card, home
from dialogs.events import Actor, MemberJoined, MemberLeft, Place, TeamInstalled
from dialogs.i18n import Tr, language_of
from storage import slack_installations, teams
from storage.slack_installations import InstallationStore

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://slack.com/api/"
CALLBACK_ID = "passerelle_form"
SCOPES = [
    "commands",
    "chat:write",
    "im:write",
    "channels:read",
    "groups:read",
    "users:read",
    "files:write",
]
Json = dict[str, Any]


class TtlCache:
    """A bounded map whose entries expire: processed deliveries, people's profiles."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        found = self._items.get(key)
        if found is None or found[0] < self.clock():
            self._items.pop(key, None)
            return None
        return found[1]

    def put(self, key: str, value: Any) -> None:
        self._items[key] = (self.clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen within the ttl (and remember it)."""
        if self.get(key) is not None:
            return False
        self.put(key, True)
        return True


def authorize_url(api_url: str) -> str:
    """Slack's consent page next to its Web API (the fake's too)."""
    base = api_url.rstrip("/")
    base = base.removesuffix("/api")
    return f"{base}/oauth/v2/authorize"


class SlackBridge:
    def __init__(
        self,
        engine: Engine,
        *,
        signing_secret: str,
        api_url: str = DEFAULT_API_URL,
        bot_token: str = "",
        client_id: str = "",
        client_secret: str = "",
        forms: FormCards | None = None,
    ) -> None:
        self.engine = engine
        self.database = engine.database
        self.signing_secret = signing_secret
        self.api_url = api_url
        self.bot_token = bot_token
        self.forms = forms or FormCards()
        self.seen = TtlCache(ttl=900, size=50_000)
        self.people = TtlCache(ttl=3600, size=20_000)
        self._busy = 0
        self._idle_event: asyncio.Event | None = None
        self.installations: InstallationStore | None = None
        oauth_settings = None
        if client_id:
            self.installations = InstallationStore(self.database, client_id)
            oauth_settings = AsyncOAuthSettings(
                client_id=client_id,
                client_secret=client_secret,
                scopes=SCOPES,
                installation_store=self.installations,
                state_store=slack_installations.state_store(self.database),
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
                authorization_url=authorize_url(api_url),
                install_page_rendering_enabled=False,
            )
            client = web_client(api_url, retries=2)
            self.app = AsyncApp(
                signing_secret=signing_secret,
                client=client,
                oauth_settings=oauth_settings,
                process_before_response=False,
            )
        else:
            client = web_client(api_url, bot_token, retries=2)
            self.app = AsyncApp(
                signing_secret=signing_secret,
                client=client,  # its token is the app's (Bolt then authorizes one workspace)
                process_before_response=False,
            )
        self.sender = SlackSender(api_url, self.token_for, self.suspend, self.forms)
        self._register()

    # ----------------------------------------------------------------- wiring
    def _register(self) -> None:
        app = self.app
        app.use(self._once)
        app.command("/passerelle")(self.on_command)
        app.action(OPEN_FORM_ACTION)(self.on_open_form)
        app.action(re.compile(r"^passerelle:"))(self.on_button)
        app.view(CALLBACK_ID)(self.on_submission)
        app.event("member_joined_channel")(self.on_member_joined)
        app.event("member_left_channel")(self.on_member_left)
        app.event("app_home_opened")(self.on_home)
        app.event("tokens_revoked")(self.on_revoked)
        app.event("app_uninstalled")(self.on_revoked)

    async def token_for(self, workspace: str) -> str | None:
        if self.installations is None:
            return self.bot_token or None
        return await self.installations.bot_token(workspace)

    async def suspend(self, workspace: str) -> None:
        await slack_installations.suspend_workspace(self.database, workspace, self.engine.clock())

    async def resume_if_authorized(self) -> None:
        """One workspace: a bot token that works (a new SLACK_BOT_TOKEN after a revocation)
        resumes the sends to its workspace. OAuth installs resume when they are saved."""
        if self.installations is not None or not self.bot_token:
            return
        try:
            answer = await self.app.client.auth_test()
        except Exception as error:  # no network at start-up must not stop the server
            log.warning("slack auth.test failed at start-up: %r", error)
            return
        if answer.get("team_id"):
            await slack_installations.resume_workspace(self.database, str(answer["team_id"]))

    def _idle(self) -> asyncio.Event:
        if self._idle_event is None:
            self._idle_event = asyncio.Event()
            self._idle_event.set()
        return self._idle_event

    async def settle(self) -> None:
        """Wait until the work begun after acks is done (tests, shutdown)."""
        await asyncio.sleep(0)
        await self._idle().wait()

    @contextlib.asynccontextmanager
    async def _working(self) -> AsyncIterator[None]:
        self._busy += 1
        self._idle().clear()
        try:
            yield
        except Exception:
            log.exception("slack listener failed")
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle().set()

    async def _once(self, body: Json, next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Drop a delivery already processed (Slack's retries, a double-clicked submit)."""
        identity = events.event_identity(body)
        if identity is not None and not self.seen.first_time(identity):
            log.debug("slack: a duplicate delivery was ignored")  # no id: it could date a person
            return BoltResponse(status=200, body="")
        await next()
        return None

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
            log.warning("users.info %s: %s", user_id, error.response.get("error"))
            return None
        user = dict(answer.get("user") or {})
        self.people.put(key, user)
        return user

    # ----------------------------------------------------------------- showing cards
    def modal(self, card: Card, channel_id: str = "", channel_name: str = "") -> Json:
        self.forms.remember(card)
        reference = form_metadata(card.form) if card.form is not None else ""
        metadata = events.ModalMetadata(reference, channel_id, channel_name)
        return modal_view(card, private_metadata=metadata.encode(), callback_id=CALLBACK_ID)

    async def post(self, client: AsyncWebClient, actor: Actor, card: Card, channel: str) -> None:
        """A card for one person: ephemeral in a channel, else in their DM with the bot."""
        self.forms.remember(card)
        if channel and not channel.startswith("D"):
            try:
                for text, blocks in messages_for(card):
                    await client.chat_postEphemeral(
                        channel=channel, user=actor.user_ref, text=text, blocks=blocks
                    )
                return
            except SlackApiError as error:
                log.info("ephemeral refused (%s): by DM", error.response.get("error"))
        opened = await client.conversations_open(users=actor.user_ref)
        dm = opened["channel"]["id"]
        for text, blocks in messages_for(card):
            await client.chat_postMessage(channel=dm, text=text, blocks=blocks, unfurl_links=False)

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
                view = self.modal(card, channel_id, channel_name)
                await client.views_open(trigger_id=trigger_id, view=view)
                trigger_id = None
                continue
            await self.post(client, actor, card, channel_id)

    # ----------------------------------------------------------------- listeners
    async def on_command(self, ack: Any, body: Json, client: AsyncWebClient) -> None:
        async with self._working():
            await ack()
            actor = await self.actor(client, events.team_of(body), events.user_of(body))
            cards = await self.engine.handle(events.command(body, actor))
            await self.show(
                client,
                actor,
                cards,
                trigger_id=body.get("trigger_id"),
                channel_id=str(body.get("channel_id", "")),
                channel_name=str(body.get("channel_name", "")),
            )

    def _where(self, body: Json) -> tuple[str, str, Json | None]:
        """(channel id, channel name, the modal) an action came from."""
        view = body.get("view")
        if isinstance(view, dict) and view.get("type") == "modal":
            try:
                metadata = events.ModalMetadata.decode(view.get("private_metadata") or "")
                return metadata.channel_id, metadata.channel_name, view
            except ValueError:
                return "", "", view
        channel = body.get("channel") or {}
        return str(channel.get("id", "")), str(channel.get("name", "")), None

    async def on_open_form(
        self, ack: Any, body: Json, action: Json, client: AsyncWebClient
    ) -> None:
        async with self._working():
            await ack()
            workspace = events.team_of(body)
            actor = await self.actor(client, workspace, events.user_of(body))
            channel_id, channel_name, _ = self._where(body)
            reference = str(action.get("value") or "")
            card = self.forms.card(reference) or await self._form_again(
                actor, reference, events.place(workspace, channel_id, channel_name)
            )
            await client.views_open(
                trigger_id=body["trigger_id"], view=self.modal(card, channel_id, channel_name)
            )

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
        async with self._working():
            await ack()
            workspace = events.team_of(body)
            actor = await self.actor(client, workspace, events.user_of(body))
            channel_id, channel_name, view = self._where(body)
            where = events.place(workspace, channel_id, channel_name)
            event = events.button(action, actor, where)
            if event is None:
                return
            cards = await self.engine.handle(event)
            if view is not None and cards:
                first, *cards = cards
                await client.views_update(
                    view_id=view["id"], view=self.modal(first, channel_id, channel_name)
                )
                channel_id = ""  # the rest by DM
            await self.show(
                client,
                actor,
                cards,
                trigger_id=None if view is not None else body.get("trigger_id"),
                channel_id=channel_id,
                channel_name=channel_name,
            )

    async def on_submission(self, ack: Any, body: Json, client: AsyncWebClient) -> None:
        acked = False

        async def answer(**response: Any) -> None:
            nonlocal acked
            if not acked:
                acked = True
                await ack(**response)

        async with self._working():
            try:
                await self._submitted(answer, body, client)
            finally:
                await answer()  # whatever happened, Slack gets its answer

    async def _submitted(
        self, answer: Callable[..., Awaitable[None]], body: Json, client: AsyncWebClient
    ) -> None:
        workspace = events.team_of(body)
        actor = await self.actor(client, workspace, events.user_of(body))
        try:
            event, metadata = events.submission(body, actor)
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        cards = await self.engine.handle(event)
        first = cards[0] if cards else None
        if first is not None and (first.form is not None or first.buttons):
            view = self.modal(first, metadata.channel_id, metadata.channel_name)
            await answer(response_action="update", view=view)
            cards = cards[1:]
        else:
            await answer()
        for card in cards:
            await self.post(client, actor, card, "")
        if event.action == "setup.save" and event.place is not None:
            try:
                await self.onboard(client, event.place)
            except (
                SlackApiError
            ) as error:  # the bot is not in the channel (private, or not invited)
                log.warning("onboarding %s failed: %s", event.place.channel_ref, error)
                tr = Tr(language_of(actor.locale, "fr"))
                await self.post(
                    client, actor, notice(tr("setup.invite_title"), tr("setup.invite_bot")), ""
                )

    async def onboard(self, client: AsyncWebClient, place: Place) -> None:
        """The channel was just linked to a team: its members join it (bots aside)."""
        async with self.database.session() as session:
            linked = await teams.channel_at(
                session, place.platform, place.workspace, place.channel_ref
            )
        if linked is None:
            return
        cursor = None
        while True:
            page = await client.conversations_members(channel=place.channel_ref, cursor=cursor)
            for user_id in page.get("members") or []:
                user = await self.user(client, place.workspace, user_id)
                if user is None or events.is_bot_user(user):
                    continue
                actor = events.actor_from_user(place.workspace, user_id, user)
                await self.engine.handle(MemberJoined(actor, place))
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
        async with self._working():
            await ack()
            await self._membership(body, event, client, context.get("bot_user_id"))

    async def on_member_left(
        self, ack: Any, body: Json, event: Json, client: AsyncWebClient, context: Any
    ) -> None:
        async with self._working():
            await ack()
            await self._membership(body, event, client, context.get("bot_user_id"))

    async def on_home(self, ack: Any, body: Json, event: Json, client: AsyncWebClient) -> None:
        async with self._working():
            await ack()
            if event.get("tab", "home") != "home":
                return
            actor = await self.actor(client, events.team_of(body), str(event.get("user", "")))
            card = await home(self.engine, actor)
            self.forms.remember(card)
            await client.views_publish(user_id=actor.user_ref, view=home_view(card))

    async def on_revoked(self, ack: Any, body: Json) -> None:
        async with self._working():
            await ack()
            workspace = events.team_of(body)
            log.warning("slack workspace %s: %s", workspace, body.get("event", {}).get("type"))
            await self.suspend(workspace)
