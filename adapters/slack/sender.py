"""The outbox's Slack sender: a direct message or a channel post, files uploaded after.

Errors become `DeliveryFailed`: a rate limit asks for a retry after Slack's `Retry-After`; a
revoked token or an uninstalled app suspends the workspace and keeps the message pending (it
is sent after a re-install); an unreachable person or channel gives up on that message.

Pace. Slack limits each Web API method per app and workspace ("N per minute"; for
chat.postMessage an unpublished workspace ceiling) and `chat.postMessage` also to about one
message per second per conversation. Each call waits for a slot on its scopes (the
conversation, then the workspace and method), reserved through `adapters.pacing.Pacer`, which
the composition root shares through the database: N processes keep one pace. The pace is
learned: a 429 slows the scope it is blamed on (the conversation when posts to it were queued,
else the workspace's method) and holds it for Retry-After; a streak of answered calls probes a
little faster. A short Retry-After is waited here and the call made again; a longer one goes
back to the outbox (which holds the workspace, without counting an attempt).

One call per direct message: a post addressed to a user id lands in the person's DM with the
app, and Slack's answer names that DM (`D…`); the sender remembers it (in memory, bounded) for
file uploads, which need the conversation's id. `conversations.open` is called only for a
file sent before any message to that person. Files go as every path sends them
(adapters/slack/uploads.py).

A delivery's parts (its messages, then its files) are posted once: each part posted before the
last is recorded in the database (adapters/slack/progress.py), so a retry of the delivery (a
429 on the chart's files.completeUploadExternal after the summary was posted) posts only the
parts still missing, on whichever process claims the row.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.pacing import Pacer, Paused, Scope, blamed
from adapters.slack.blocks import files_to_upload, messages_for
from adapters.slack.forms import FormCards
from adapters.slack.progress import Ledger, Progress, Unrecorded
from adapters.slack.uploads import open_dm, upload
from dialogs.ports import Delivery, DeliveryFailed
from storage.send_paces import Rule

log = logging.getLogger(__name__)
PLATFORM = "slack"
REVOKED = {"token_revoked", "account_inactive", "invalid_auth", "not_authed", "token_expired"}
UNREACHABLE = {
    "not_in_channel",
    "channel_not_found",
    "user_not_found",
    "cannot_dm_bot",
    "is_archived",
    "user_disabled",
    "users_not_found",
}
# Claims skip a suspended workspace: its rows wait, pending, and go soon after a re-install.
SUSPENDED_RETRY_SECONDS = 1.0
WEB_API_TIMEOUT_SECONDS = 30  # slack_sdk's own default
TokenFor = Callable[[str], Awaitable[str | None]]
Suspend = Callable[[str], Awaitable[None]]
POST = "chat.postMessage"
OPEN = "conversations.open"
UPLOAD = "files.upload"  # files_upload_v2: getUploadURLExternal + completeUploadExternal


# Where to begin per workspace and method, and how far learning may go. Slack documents tiers
# (Tier 3: 50+ per minute, Tier 2: 20+) and, for chat.postMessage, a workspace-wide limit it
# does not publish: 10 a second to begin with, learned from there.
DEFAULT_RULES: dict[str, Rule] = {
    POST: Rule(interval=0.1, fastest=0.02, slowest=10.0),
    OPEN: Rule(interval=1.2, fastest=0.2, slowest=60.0),  # Tier 3
    UPLOAD: Rule(interval=3.0, fastest=0.5, slowest=120.0),  # Tier 2
}
# chat.postMessage per conversation: "1 per second, short bursts allowed"; never probed faster.
CONVERSATION_RULE = Rule(interval=1.0, fastest=1.0, slowest=30.0, burst=2)
REMEMBERED = 50_000  # DM ids kept in memory
# A Retry-After this short is waited here and the call made again (the pacer holds every other
# call of the scope meanwhile); a longer one puts the message back in the outbox.
WAIT_HERE_SECONDS = 2.0
# Once part of a delivery is posted, a retry of the whole would post that part twice: later
# parts (the rest of a long card, its chart) wait out a 429 up to this, within the lease.
PATIENT_SECONDS = 20.0
TRIES = 4
T = TypeVar("T")


def web_client(
    base_url: str,
    token: str | None = None,
    *,
    retries: int = 1,
    session: aiohttp.ClientSession | None = None,
) -> AsyncWebClient:
    """slack_sdk's client on `base_url` (SLACK_API_URL) that waits out a few 429s itself.
    Without a `session`, slack_sdk opens a new one (a new connection) for every call."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=retries)],
    )


def keep_alive_session() -> aiohttp.ClientSession:
    """One pool of kept-alive connections for every Web API call of the process (in a running
    loop). slack_sdk's own default is a session, a connection and a TLS handshake per call."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT_SECONDS))


class SlackSender:
    platform = PLATFORM

    def __init__(
        self,
        base_url: str,
        token_for: TokenFor,
        suspend: Suspend,
        forms: FormCards | None = None,
        *,
        rules: Mapping[str, Rule] | None = None,
        conversation_rule: Rule | None = CONVERSATION_RULE,
        pacer: Pacer | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.base_url = base_url
        self.token_for = token_for
        self.suspend = suspend
        self.forms = forms
        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        self.conversation_rule = conversation_rule
        self.pacer = pacer or Pacer(PLATFORM)
        self.ledger = ledger  # how far each delivery got; None: not recorded (retries repost)
        # No automatic retry here: the outbox reschedules the row at Slack's Retry-After.
        self._clients: dict[str, AsyncWebClient] = {}
        self.session: aiohttp.ClientSession | None = None
        self._dms: OrderedDict[tuple[str, str], str] = OrderedDict()

    def use_session(self, session: aiohttp.ClientSession | None) -> None:
        self.session = session
        for client in self._clients.values():
            client.session = session

    # ----------------------------------------------------------------- pace
    def scopes(self, workspace: str, method: str, conversation: str = "") -> list[Scope]:
        """What a call counts against: its conversation (posts), then its workspace and method."""
        scopes: list[Scope] = []
        if conversation and method == POST and self.conversation_rule is not None:
            key = self.pacer.conversation(f"{workspace}:{conversation}")
            scopes.append((f"{workspace}/{method}/c/{key}", self.conversation_rule))
        rule = self.rules.get(method)
        if rule is not None:
            scopes.append((f"{workspace}/{method}", rule))
        return scopes

    async def _paced(
        self,
        workspace: str,
        method: str,
        conversation: str,
        call: Callable[[], Awaitable[T]],
        *,
        patient: bool = False,
    ) -> T:
        """Make `call` in its slots; a 429 slows the scope it is blamed on and, when short
        (or `patient`: part of the delivery is already posted), is waited out here."""
        scopes = self.scopes(workspace, method, conversation)
        here = PATIENT_SECONDS if patient else WAIT_HERE_SECONDS
        for attempt in range(1, TRIES + 1):
            try:
                slots = await self.pacer.wait(scopes)
            except Paused as paused:
                wait = max(0.0, (paused.until - self.pacer.clock()).total_seconds())
                if patient and wait <= here and attempt < TRIES:
                    await asyncio.sleep(wait)
                    continue
                raise DeliveryFailed("waiting: platform rate limit", retry_after=wait) from None
            try:
                answer = await call()
            except SlackApiError as error:
                retry_after = _retry_after(error)
                if retry_after is None or not scopes:
                    raise
                # Queued posts to this conversation: its own limit; else the workspace's.
                scope, rule = blamed(scopes, slots)
                log.info("slack %s: rate limited for %.0f s", method, retry_after)
                await self.pacer.limited(scope, rule, retry_after)
                if retry_after > here or attempt == TRIES:
                    raise
                continue
            self.pacer.succeeded([scope for scope, _ in scopes])
            return answer
        raise AssertionError("unreachable")

    # ----------------------------------------------------------------- DMs
    def dm_channel(self, workspace: str, user_id: str) -> str | None:
        """The DM conversation with that person, when a post or conversations.open named it."""
        return self._dms.get((workspace, user_id))

    def remember_dm(self, workspace: str, user_id: str, channel: str) -> None:
        if not channel.startswith("D"):
            return
        self._dms[(workspace, user_id)] = channel
        self._dms.move_to_end((workspace, user_id))
        while len(self._dms) > REMEMBERED:
            self._dms.popitem(last=False)

    async def _client(self, workspace: str) -> AsyncWebClient:
        token = await self.token_for(workspace)
        if not token:
            await self.suspend(workspace)
            raise DeliveryFailed("no installation", retry_after=SUSPENDED_RETRY_SECONDS)
        client = self._clients.get(token)
        if client is None:
            client = self._clients[token] = web_client(
                self.base_url, token, retries=0, session=self.session
            )
        return client

    async def send(self, delivery: Delivery) -> None:
        """The card's messages, then its files; a retry posts only the parts an earlier try
        did not (adapters/slack/progress.py)."""
        workspace = delivery.workspace
        method = POST
        try:
            client = await self._client(workspace)
            direct = delivery.kind == "direct"
            # A user id as the channel posts into the person's DM with the app: one call.
            channel = (self.dm_channel(workspace, delivery.address) if direct else None) or (
                delivery.address
            )
            card = delivery.card if self.forms is None else await self.forms.keep(delivery.card)
            messages = messages_for(card)
            files = files_to_upload(delivery.card)
            progress = self._progress(delivery, len(messages) + len(files))
            done = await progress.load()
            patient = bool(done)  # past the first part, a 429 is waited out (`patient`)
            for part, (text, blocks) in enumerate(messages):
                if part in done:
                    continue
                method = POST
                answer = await self._paced(
                    workspace,
                    POST,
                    delivery.address,
                    partial(
                        client.chat_postMessage,
                        channel=channel,
                        text=text,
                        blocks=blocks,
                        unfurl_links=False,
                    ),
                    patient=patient,
                )
                patient = True
                if direct:
                    channel = str(answer.get("channel") or channel)
                    self.remember_dm(workspace, delivery.address, channel)
                await progress.posted(part)
            for part, attachment in enumerate(files, start=len(messages)):
                if part in done:
                    continue
                if direct and not channel.startswith("D"):  # files need the DM's id
                    method = OPEN
                    channel = await self._paced(
                        workspace,
                        OPEN,
                        "",
                        partial(open_dm, client, delivery.address),
                        patient=patient,
                    )
                    self.remember_dm(workspace, delivery.address, channel)
                method = UPLOAD
                await self._paced(
                    workspace,
                    UPLOAD,
                    "",
                    partial(upload, client, channel, attachment),
                    patient=patient,
                )
                patient = True
                await progress.posted(part)
            await progress.finished()
        except SlackApiError as error:
            await self._failed(delivery, method, error)

    def _progress(self, delivery: Delivery, parts: int) -> Progress:
        return Unrecorded() if self.ledger is None else self.ledger.progress(delivery, parts)

    async def _failed(self, delivery: Delivery, method: str, error: SlackApiError) -> None:
        response: Any = error.response
        code = str(response.get("error", "")) if response is not None else ""
        retry_after = _retry_after(error)
        if retry_after is not None:
            raise DeliveryFailed("ratelimited", retry_after=retry_after) from error
        if code in REVOKED:
            log.warning("slack workspace %s: %s; sends suspended", delivery.workspace, code)
            await self.suspend(delivery.workspace)
            raise DeliveryFailed(code, retry_after=SUSPENDED_RETRY_SECONDS) from error
        if code in UNREACHABLE:
            raise DeliveryFailed(code, unreachable=True) from error
        raise DeliveryFailed(code or repr(error)) from error


def _retry_after(error: SlackApiError) -> float | None:
    """Slack's Retry-After (seconds) when the answer is a rate limit, else None."""
    response: Any = error.response
    if response is None:
        return None
    if response.status_code != 429 and response.get("error") != "ratelimited":
        return None
    try:
        return max(0.0, float(response.headers.get("Retry-After", 1) or 1))
    except (TypeError, ValueError):
        return 1.0
