"""The Slack app: `SlackBridge` composes the parts below around a slack_bolt `AsyncApp` whose
listeners only translate.

- authorization.py: the Bolt app, for one workspace (a bot token) or many (OAuth,
  installations in our database), and each workspace's bot token; sends suspended after a
  revocation.
- listeners.py: what each request does (commands, buttons, events), acked at once, the rest
  after the ack; replies.py: who a person is (users.info) and the cards shown to them (modal,
  ephemeral, DM).
- lifecycle.py: the HTTP session (one pool of kept-alive connections for every Web API call)
  and the work after acks, on a bounded lane.
- acks.py, recording.py: what submits something (a modal submission, a button in
  `DURABLE_BUTTONS`) is checked at once without the database (`events.input_errors`, shown
  under the inputs), then sealed into the intake (adapters/intake.py) and COMMITTED (one
  transaction for every submission waiting at that moment: group commit), and only then
  acknowledged with a neutral "thank you, recording" view; if the commit fails, the ack is an
  error under the first input instead, the modal keeping what was typed. The intake worker
  (any process, after a crash too) records it: users.info, the engine (which deletes the
  intake row in the same transaction), and the engine's first reply replaces the "recording"
  view (views.update); the rest goes by DM, everything by DM when the person closed the modal
  (`view_closed`) or Slack refused the update. After `setup.save` the channel's members are
  onboarded.
- dedup.py: Slack's retries and double deliveries are dropped on their identity
  (`events.event_identity`), marked in the database (`marks`, a keyed hash) by the first
  process that gets one, before anything is done or shown. A submission's mark is committed
  with its intake row; other deliveries are acked at once and marked before their work. The
  engine's writes are idempotent besides.

Modals carry a signed `private_metadata` (`events.ModalMetadata.signed`, for the person the
modal is for): a submission or a button whose metadata we did not sign is refused. Nothing that
decides an answer lives in one process's memory: the views people closed are marks, forms that
came back with what someone typed are encrypted drafts whose key rides in the person's own
message (`FormCards`), and an ack's language rides in the modal's signed metadata
(`events.ModalMetadata.language`; the database only for a modal signed without it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Coroutine
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.intake import GroupCommit, IntakeWorker
from adapters.slack.acks import Acknowledging
from adapters.slack.authorization import Authorization
from adapters.slack.dedup import SharedMemory
from adapters.slack.forms import FormCards
from adapters.slack.lifecycle import Lifecycle
from adapters.slack.listeners import Listeners
from adapters.slack.progress import Ledger
from adapters.slack.recording import PLATFORM, Recording
from adapters.slack.replies import Replies
from adapters.slack.sender import SlackSender
from adapters.ttl_cache import SharedMarks, TtlCache
from dialogs.engine import Engine

DEFAULT_API_URL = "https://slack.com/api/"
# How long a delivery's identity and a closed view are remembered (Slack retries within
# minutes; a recording is answered within seconds).
MARK_TTL = dt.timedelta(minutes=15)
Json = dict[str, Any]


class SlackBridge(Listeners, Replies, Recording, Acknowledging, SharedMemory):
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
        self.authorization = Authorization(
            self.database,
            engine.clock,
            signing_secret=signing_secret,
            api_url=api_url,
            bot_token=bot_token,
            client_id=client_id,
            client_secret=client_secret,
        )
        self.app = self.authorization.app
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
        # The intake: committed before the ack, recorded by the worker (started by the server).
        self.intake = GroupCommit(
            self.database, engine.sealer, mark_ttl=MARK_TTL, clock=engine.clock
        )
        self.worker = IntakeWorker(
            self.database, engine.sealer, {PLATFORM: self.process}, yield_to=self._acks_first
        )
        self.intake.on_commit = self.worker.wake
        self._clients: dict[str, AsyncWebClient] = {}  # the worker's, per bot token
        # How far each outbox delivery got, so a retry posts only its missing parts.
        ledger = Ledger(self.database, engine.sealer, engine.clock)
        self.sender = SlackSender(api_url, self.token_for, self.suspend, self.forms, ledger=ledger)
        self.lifecycle = Lifecycle(
            self.app, self.sender, self.worker, self._clients, self._first_delivery
        )
        self.register_listeners(self.app)

    # ----------------------------------------------------------------- workspaces
    async def token_for(self, workspace: str) -> str | None:
        return await self.authorization.token_for(workspace)

    async def suspend(self, workspace: str) -> None:
        await self.authorization.suspend(workspace)

    async def resume_if_authorized(self) -> None:
        await self.authorization.resume_if_authorized()

    # ----------------------------------------------------------------- start, stop, settle
    async def open_http(self) -> None:
        await self.lifecycle.open_http()

    async def close_http(self) -> None:
        await self.lifecycle.close_http()

    async def settle(self) -> None:
        """Wait until the work after acks and this process's intake rows are done."""
        await self.lifecycle.settle()

    def _after_ack(self, work: Coroutine[Any, Any, None], body: Json | None = None) -> None:
        self.lifecycle.after_ack(work, body)
