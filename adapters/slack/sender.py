"""The outbox's Slack sender: a direct message or a channel post, files uploaded after.

Errors become `DeliveryFailed`: a rate limit asks for a retry after Slack's `Retry-After`; a
revoked token or an uninstalled app suspends the workspace and keeps the message pending (it
is sent after a re-install); an unreachable person or channel gives up on that message.

Pace. Slack limits each Web API method per app and workspace ("N per minute"), and
`chat.postMessage` also to about one message per second per conversation. The sender keeps
under the limits itself (`Pace`, `TokenBucket`: at most N calls in any window), one bucket per
workspace and method and, for posts, one per conversation, so that a round of check-ins flows
at the rate Slack allows instead of meeting 429s. A 429 that comes all the same is handled by
the outbox worker: it holds the workspace for Slack's `Retry-After`, without counting an
attempt.

One call per direct message: a post addressed to a user id lands in the person's DM with the
app, and Slack's answer names that DM (`D…`); the sender remembers it (in memory, bounded) for
file uploads, which need the conversation's id. `conversations.open` is called only for a
file sent before any message to that person.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import files_to_upload, messages_for
from adapters.slack.forms import FormCards, owner_of
from dialogs.ports import Delivery, DeliveryFailed

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


@dataclass(frozen=True)
class Pace:
    """At most `calls` calls in any `seconds`-second window (how Slack states its limits:
    "50+ per minute"), the first `calls` at once."""

    calls: int
    seconds: float


# Per workspace and method. Slack documents tiers (Tier 3: 50+ per minute, Tier 2: 20+) and,
# for chat.postMessage, a workspace-wide limit it does not publish: the figure below is a
# cautious guess, to raise (`SlackSender(paces=...)`) where a higher limit is known.
DEFAULT_PACES: dict[str, Pace] = {
    POST: Pace(calls=600, seconds=60.0),
    OPEN: Pace(calls=50, seconds=60.0),  # Tier 3
    UPLOAD: Pace(calls=20, seconds=60.0),  # Tier 2 (files.getUploadURLExternal)
}
# chat.postMessage per conversation: "1 per second, short bursts allowed".
DEFAULT_CHANNEL_PACE = Pace(calls=3, seconds=3.0)
REMEMBERED = 50_000  # DM ids and per-conversation paces kept in memory
# Our clock is not Slack's: a call timed just a window after an earlier one may arrive a little
# sooner than that. Each window is stretched by this much.
MARGIN_SECONDS = 0.05


class TokenBucket:
    """A bucket of `pace.calls` tokens, each one back `pace.seconds` after it was spent (a
    sliding window: never more than `calls` in any window, and no wait while there is room).
    Calls reserve a token each and sleep until it is theirs; reservations queue fairly."""

    def __init__(self, pace: Pace, clock: Callable[[], float] = time.monotonic) -> None:
        self.pace, self.clock = pace, clock
        self._spent: deque[float] = deque()  # when the last `calls` tokens were (to be) used

    def reserve(self) -> float:
        """Take a token; the seconds to wait before using it (0: now)."""
        now = self.clock()
        at = now
        if len(self._spent) >= self.pace.calls:
            at = max(now, self._spent.popleft() + self.pace.seconds + MARGIN_SECONDS)
        self._spent.append(at)
        return at - now

    async def take(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


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
        paces: Mapping[str, Pace] | None = None,
        channel_pace: Pace | None = DEFAULT_CHANNEL_PACE,
    ) -> None:
        self.base_url = base_url
        self.token_for = token_for
        self.suspend = suspend
        self.forms = forms
        self.paces = dict(DEFAULT_PACES if paces is None else paces)
        self.channel_pace = channel_pace
        # No automatic retry here: the outbox reschedules the row at Slack's Retry-After.
        self._clients: dict[str, AsyncWebClient] = {}
        self.session: aiohttp.ClientSession | None = None
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._channel_buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()
        self._dms: OrderedDict[tuple[str, str], str] = OrderedDict()

    def use_session(self, session: aiohttp.ClientSession | None) -> None:
        self.session = session
        for client in self._clients.values():
            client.session = session

    # ----------------------------------------------------------------- pace
    def _bucket(self, workspace: str, method: str) -> TokenBucket | None:
        pace = self.paces.get(method)
        if pace is None:
            return None
        bucket = self._buckets.get((workspace, method))
        if bucket is None or bucket.pace != pace:
            bucket = self._buckets[(workspace, method)] = TokenBucket(pace)
        return bucket

    async def _pace(self, workspace: str, method: str, channel: str = "") -> None:
        if channel and self.channel_pace is not None:
            key = (workspace, channel)
            per_channel = self._channel_buckets.get(key)
            if per_channel is None:
                per_channel = self._channel_buckets[key] = TokenBucket(self.channel_pace)
            self._channel_buckets.move_to_end(key)
            while len(self._channel_buckets) > REMEMBERED:
                self._channel_buckets.popitem(last=False)
            await per_channel.take()
        bucket = self._bucket(workspace, method)
        if bucket is not None:
            await bucket.take()

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
        workspace = delivery.workspace
        method = POST
        try:
            client = await self._client(workspace)
            direct = delivery.kind == "direct"
            # A user id as the channel posts into the person's DM with the app: one call.
            channel = (self.dm_channel(workspace, delivery.address) if direct else None) or (
                delivery.address
            )
            if self.forms is not None:
                owner = owner_of(workspace, delivery.address) if direct else ""
                self.forms.remember(delivery.card, owner)
            for text, blocks in messages_for(delivery.card):
                method = POST
                await self._pace(workspace, POST, delivery.address)
                answer = await client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False
                )
                if direct:
                    channel = str(answer.get("channel") or channel)
                    self.remember_dm(workspace, delivery.address, channel)
            for attachment in files_to_upload(delivery.card):
                if direct and not channel.startswith("D"):
                    method = OPEN
                    await self._pace(workspace, OPEN)
                    opened = await client.conversations_open(users=delivery.address)
                    channel = str(opened["channel"]["id"])
                    self.remember_dm(workspace, delivery.address, channel)
                method = UPLOAD
                await self._pace(workspace, UPLOAD)
                await client.files_upload_v2(
                    channel=channel,
                    content=base64.b64decode(attachment.data),
                    filename=attachment.filename,
                    title=attachment.description[:250],
                    alt_txt=attachment.description[:1000],
                )
        except SlackApiError as error:
            await self._failed(delivery, method, error)

    async def _failed(self, delivery: Delivery, method: str, error: SlackApiError) -> None:
        response: Any = error.response
        code = str(response.get("error", "")) if response is not None else ""
        if response is not None and (response.status_code == 429 or code == "ratelimited"):
            retry_after = float(response.headers.get("Retry-After", 1) or 1)
            log.info("slack %s: rate limited for %.0f s", method, retry_after)
            raise DeliveryFailed("ratelimited", retry_after=retry_after) from error
        if code in REVOKED:
            log.warning("slack workspace %s: %s; sends suspended", delivery.workspace, code)
            await self.suspend(delivery.workspace)
            raise DeliveryFailed(code, retry_after=SUSPENDED_RETRY_SECONDS) from error
        if code in UNREACHABLE:
            raise DeliveryFailed(code, unreachable=True) from error
        raise DeliveryFailed(code or repr(error)) from error
