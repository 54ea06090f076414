"""The outbox's Slack sender: a direct message or a channel post, files uploaded after.

Errors become `DeliveryFailed`: a rate limit asks for a retry after Slack's `Retry-After`; a
revoked token or an uninstalled app suspends the workspace and keeps the message pending (it
is sent after a re-install); an unreachable person or channel gives up on that message.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import files_to_upload, messages_for
from adapters.slack.forms import FormCards
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
TokenFor = Callable[[str], Awaitable[str | None]]
Suspend = Callable[[str], Awaitable[None]]


def web_client(base_url: str, token: str | None = None, *, retries: int = 1) -> AsyncWebClient:
    """slack_sdk's client on `base_url` (SLACK_API_URL) that waits out a few 429s itself."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=retries)],
    )


class SlackSender:
    platform = PLATFORM

    def __init__(
        self,
        base_url: str,
        token_for: TokenFor,
        suspend: Suspend,
        forms: FormCards | None = None,
    ) -> None:
        self.base_url = base_url
        self.token_for = token_for
        self.suspend = suspend
        self.forms = forms
        # No automatic retry here: the outbox reschedules the row at Slack's Retry-After.
        self._clients: dict[str, AsyncWebClient] = {}

    async def _client(self, workspace: str) -> AsyncWebClient:
        token = await self.token_for(workspace)
        if not token:
            await self.suspend(workspace)
            raise DeliveryFailed("no installation", retry_after=SUSPENDED_RETRY_SECONDS)
        client = self._clients.get(token)
        if client is None:
            client = self._clients[token] = web_client(self.base_url, token, retries=0)
        return client

    async def send(self, delivery: Delivery) -> None:
        try:
            client = await self._client(delivery.workspace)
            channel = delivery.address
            if delivery.kind == "direct":
                opened = await client.conversations_open(users=delivery.address)
                channel = opened["channel"]["id"]
            if self.forms is not None:
                self.forms.remember(delivery.card)
            for text, blocks in messages_for(delivery.card):
                await client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False
                )
            for attachment in files_to_upload(delivery.card):
                await client.files_upload_v2(
                    channel=channel,
                    content=base64.b64decode(attachment.data),
                    filename=attachment.filename,
                    title=attachment.description[:250],
                    alt_txt=attachment.description[:1000],
                )
        except SlackApiError as error:
            await self._failed(delivery, error)

    async def _failed(self, delivery: Delivery, error: SlackApiError) -> None:
        response: Any = error.response
        code = str(response.get("error", "")) if response is not None else ""
        if response is not None and (response.status_code == 429 or code == "ratelimited"):
            retry_after = float(response.headers.get("Retry-After", 1) or 1)
            raise DeliveryFailed("ratelimited", retry_after=retry_after) from error
        if code in REVOKED:
            log.warning("slack workspace %s: %s; sends suspended", delivery.workspace, code)
            await self.suspend(delivery.workspace)
            raise DeliveryFailed(code, retry_after=SUSPENDED_RETRY_SECONDS) from error
        if code in UNREACHABLE:
            raise DeliveryFailed(code, unreachable=True) from error
        raise DeliveryFailed(code or repr(error)) from error
