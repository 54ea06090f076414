"""The Slack app: a slack_bolt `AsyncApp` whose listeners only translate.

One workspace (signing secret + bot token) or many through OAuth (installations in our
database). Bolt runs listeners inline (process_before_response), so an ack is sent as soon as
the listener returns; slow work goes after it: to a task (`_after_ack`) for commands and
buttons that only read, to the intake for whatever submits something (adapters/intake.py;
the Slack side in adapters/slack/recording.py).
Web API calls share one pool of kept-alive connections.

- `/passerelle <text>`: a `CommandReceived` in the channel; a reply with a form opens as a modal
  (views.open with the command's trigger id), others are shown to the person only.
- buttons: ours (`passerelle:<action>:<i>`) are `FormSubmitted`; "open the form" opens the
  form's modal; a reply to a button in a modal replaces the modal (views.update). A button
  that submits something (`DURABLE_BUTTONS`: skip a check-in, confirm a tension, a review
  decision) is committed to the intake before its ack, as a submission is.
- modal submissions: checked at once without the database (`events.input_errors`: a required
  input left empty, a text too long), which Slack shows under the inputs
  (`response_action: errors`). Otherwise the submission is sealed into the intake and
  COMMITTED (one transaction for every submission waiting at that moment: group commit), and
  only then acknowledged with a neutral "thank you, recording" view (`response_action:
  update`); if the commit fails, the ack is an error under the first input instead, the
  modal keeping what was typed, so the person can send again. Then the intake worker (any
  process, after a crash too) records it: users.info, the engine (which deletes the intake
  row in the same transaction), and the engine's first reply replaces the "recording" view
  (views.update): the same form with a warning and the values typed, a tension preview, or a
  confirmation; the rest goes by DM, and everything goes by DM when the person closed the
  modal in the meantime (`view_closed`) or Slack refused the update. After `setup.save` the
  channel's members are onboarded.
- events: members joining or leaving a team's channel, the App Home tab, and `tokens_revoked` /
  `app_uninstalled` (sends to the workspace are suspended, nothing is lost).
- Slack's retries and double deliveries are dropped on their identity (`events.event_identity`),
  marked in the database (`marks`, a keyed hash) by the first process that gets one, before
  anything is done or shown: the same delivery reaching two processes is handled once. A
  submission's mark is committed with its intake row (nothing before its ack but that one
  transaction); other deliveries are acked at once and marked before their work
  (adapters/slack/dedup.py). The engine's writes are idempotent besides.
- Modals carry a signed `private_metadata` (`events.ModalMetadata.signed`, for the person the
  modal is for): a submission or a button whose metadata we did not sign is refused.
- Nothing that decides an answer lives in one process's memory: the views people closed are
  marks, forms that came back with what someone typed are encrypted drafts whose key rides
  in the person's own message (`FormCards`), and
  an ack's language rides in the modal's signed metadata (`events.ModalMetadata.language`;
  the database only for a modal signed without it, `ack_language`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Coroutine
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.intake import GroupCommit, IntakeWorker
from adapters.slack import events
from adapters.slack import installations as slack_installations
from adapters.slack.acks import RECORDING_CALLBACK_ID, Acknowledging
from adapters.slack.blocks import (
    OPEN_FORM_ACTION,
    button_action,
    decode_form_reference,
    form_metadata,
    home_view,
    messages_for,
    modal_view,
)
from adapters.slack.dedup import SharedMemory
from adapters.slack.forms import FormCards
from adapters.slack.installations import InstallationStore
from adapters.slack.recording import DURABLE_BUTTONS, PLATFORM, Recording
from adapters.slack.sender import SlackSender, keep_alive_session, web_client
from adapters.ttl_cache import SharedMarks, TtlCache
from dialogs.cards import Card, notice
from dialogs.engine import Engine, form_card, home
from dialogs.events import Actor, MemberJoined, MemberLeft, Place, TeamInstalled
from dialogs.i18n import Tr, language_of
from storage import teams
from storage.database import unavailable

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://slack.com/api/"
CALLBACK_ID = "passerelle_form"
# The work after acks (Web API calls, the engine) runs a few listeners at a time, so that
# a burst's acknowledgements are not slowed by the work of the requests before them.
# Never longer than LANE_WAIT_SECONDS though: a trigger id (views.open) expires 3 s after the
# click, so work that waited that long goes ahead anyway.
AFTER_ACK_LANE = 8
LANE_WAIT_SECONDS = 1.5
# How long a delivery's identity and a closed view are remembered (Slack retries within
# minutes; a recording is answered within seconds).
MARK_TTL = dt.timedelta(minutes=15)
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


def authorize_url(api_url: str) -> str:
    """Slack's consent page next to its Web API (the fake's too)."""
    base = api_url.rstrip("/")
    base = base.removesuffix("/api")
    return f"{base}/oauth/v2/authorize"


class SlackBridge(Recording, Acknowledging, SharedMemory):
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
        self.forms = forms or FormCards(self.database, engine.clock)
        # Shared by every process (the database): deliveries handled, views people closed.
        self.seen = SharedMarks(
            self.database, engine.sealer, "slack delivery", MARK_TTL, engine.clock
        )
        self.closed = SharedMarks(
            self.database, engine.sealer, "slack closed", MARK_TTL, engine.clock
        )
        # Slack's own answers (users.info): any process would get the same.
        self.people = TtlCache(ttl=3600, size=20_000)
        self.after_ack = asyncio.Semaphore(AFTER_ACK_LANE)
        self._busy = 0
        self._idle_event: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # after-ack work, kept until done
        # The intake: committed before the ack, recorded by the worker (started by the server).
        self.intake = GroupCommit(
            self.database, engine.sealer, mark_ttl=MARK_TTL, clock=engine.clock
        )
        self.worker = IntakeWorker(
            self.database, engine.sealer, {PLATFORM: self.process}, yield_to=self._acks_first
        )
        self.intake.on_commit = self.worker.wake
        self._clients: dict[str, AsyncWebClient] = {}  # the worker's, per bot token
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
                process_before_response=True,  # see _after_ack
            )
        else:
            client = web_client(api_url, bot_token, retries=2)
            self.app = AsyncApp(
                signing_secret=signing_secret,
                client=client,  # its token is the app's (Bolt then authorizes one workspace)
                process_before_response=True,  # see _after_ack
            )
        self.sender = SlackSender(api_url, self.token_for, self.suspend, self.forms)
        self._register()

    # ----------------------------------------------------------------- wiring
    def _register(self) -> None:
        app = self.app
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

    async def token_for(self, workspace: str) -> str | None:
        if self.installations is None:
            return self.bot_token or None
        return await self.installations.bot_token(workspace)

    async def suspend(self, workspace: str) -> None:
        await slack_installations.suspend_workspace(self.database, workspace, self.engine.clock())

    async def open_http(self) -> None:
        """Kept-alive connections for every Web API call, once the loop runs (start-up)."""
        if self.app.client.session is None:
            session = keep_alive_session()
            self.app.client.session = session  # Bolt hands it to each request's client
            self.sender.use_session(session)

    async def close_http(self) -> None:
        session = self.app.client.session
        self._clients.clear()
        if session is not None:
            self.app.client.session = None
            self.sender.use_session(None)
            await session.close()

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
        """Wait until the work begun after acks is done and the intake worker has handled
        this process's rows (tests, benchmarks)."""
        while True:
            await asyncio.sleep(0)
            await self._idle().wait()
            await self.worker.settle()
            if self._idle().is_set():
                return

    def _after_ack(self, work: Coroutine[Any, Any, None], body: Json | None = None) -> None:
        """Run `work` once this listener has returned, so its ack is answered at once; with
        the request's `body`, only if this process is the first to take the delivery
        (adapters/slack/dedup.py: marked in the task, not before the ack).

        Bolt's own way (process_before_response=False) answers an ack by polling for it every
        10 ms, so every request waited 10 ms or more, and a burst of 50 kept 50 timers ticking
        on the loop; the app therefore runs its listeners inline and they hand the rest here.
        """
        identity = events.event_identity(body) if body is not None else None
        self._started()
        self._spawn(self._run_after_ack(work, identity))

    def _started(self) -> None:
        self._busy += 1
        self._idle().clear()

    def _finished(self) -> None:
        self._busy -= 1
        if not self._busy:
            self._idle().set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_after_ack(self, work: Coroutine[Any, Any, None], identity: str | None) -> None:
        """Marked first (the marks of a burst share a transaction), then on the after-ack
        lane (or after LANE_WAIT_SECONDS without a place)."""
        placed = False
        try:
            if identity is not None and not await self._first_delivery(identity):
                work.close()  # never started
                log.debug("slack: a duplicate delivery was ignored")  # no id: it could date one
                return
            try:
                async with asyncio.timeout(LANE_WAIT_SECONDS):  # no task per wait (wait_for)
                    await self.after_ack.acquire()
                placed = True
            except TimeoutError:
                pass
            await work
        except SlackApiError as error:  # Slack refused (an expired trigger, a user gone)
            method = str(getattr(error.response, "api_url", "")).rsplit("/", 1)[-1]
            log.warning("slack: %s refused after the ack: %s", method, error.response.get("error"))
        except Exception as error:
            if unavailable(error):  # said once, without a traceback: nothing to debug
                log.warning("slack: the database is unavailable (%s)", type(error).__name__)
            else:
                log.exception("slack listener failed")
        finally:
            work.close()  # a no-op once it ran; never awaited otherwise
            if placed:
                self.after_ack.release()
            self._finished()

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

    # ----------------------------------------------------------------- showing cards
    def modal(self, card: Card, actor: Actor, channel_id: str = "", channel_name: str = "") -> Json:
        """The modal for `actor`, its metadata signed for them. Not kept (FormCards): Slack
        keeps a modal's values itself."""
        reference = form_metadata(card.form) if card.form is not None else ""
        language = events.card_language(card)  # the ack speaks it without the database
        metadata = events.ModalMetadata(reference, channel_id, channel_name, language)
        signed = metadata.signed(self.engine.sealer.tag, actor.workspace, actor.user_ref)
        return modal_view(card, private_metadata=signed, callback_id=CALLBACK_ID)

    async def post(self, client: AsyncWebClient, actor: Actor, card: Card, channel: str) -> None:
        """A card for one person: ephemeral in a channel, else in their DM with the bot."""
        card = await self.forms.keep(card)  # what they typed: its key in their message only
        if channel and not channel.startswith("D"):
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
                trigger_id = None
                continue
            await self.post(client, actor, card, channel_id)

    # ----------------------------------------------------------------- listeners
    async def on_command(self, ack: Any, body: Json, client: AsyncWebClient) -> None:
        await ack()
        self._after_ack(self._command(body, client), body)

    async def _command(self, body: Json, client: AsyncWebClient) -> None:
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

    async def _open_form(self, body: Json, action: Json, client: AsyncWebClient) -> None:
        workspace = events.team_of(body)
        actor = await self.actor(client, workspace, events.user_of(body))
        try:
            channel_id, channel_name, _ = self._where(body)
        except events.ForgedMetadata:
            await self._refuse(client, actor)
            return
        reference = str(action.get("value") or "")
        card = await self.forms.card(reference) or await self._form_again(
            actor, reference, events.place(workspace, channel_id, channel_name)
        )
        await client.views_open(
            trigger_id=body["trigger_id"], view=self.modal(card, actor, channel_id, channel_name)
        )

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
        workspace = events.team_of(body)
        actor = await self.actor(client, workspace, events.user_of(body))
        try:
            channel_id, channel_name, view = self._where(body)
        except events.ForgedMetadata:
            await self._refuse(client, actor)
            return
        where = events.place(workspace, channel_id, channel_name)
        event = events.button(action, actor, where)
        if event is None:
            return
        cards = await self.engine.handle(event)
        if view is not None and cards:
            first, *cards = cards
            await client.views_update(
                view_id=view["id"], view=self.modal(first, actor, channel_id, channel_name)
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
        await ack()
        self._after_ack(self._membership(body, event, client, context.get("bot_user_id")), body)

    async def on_member_left(
        self, ack: Any, body: Json, event: Json, client: AsyncWebClient, context: Any
    ) -> None:
        await ack()
        self._after_ack(self._membership(body, event, client, context.get("bot_user_id")), body)

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
