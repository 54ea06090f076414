"""The outbox's Teams sender: a 1:1 message or a channel post, through stored references.

- A person is reached through their 1:1 chat's reference, or, for someone known only from a
  team's roster, through a new 1:1 chat opened with the team's service URL (and remembered).
- Paced under Teams' limits for a bot, per conversation (about 7 messages a second and 60
  per 30 seconds in one) then per tenant (limits differ per tenant: learned), through the same
  shared `adapters.pacing.Pacer` as Slack: N processes keep one pace; a 429 slows the scope it
  is blamed on (the conversation when calls to it were queued, else the tenant) and holds it
  for every process; a streak of answered calls probes a little faster.
- 429, 412, 502 and 504 are retried here a few times with exponential backoff and jitter
  (Retry-After when given); a 429 that persists pauses the tenant in the outbox (no attempt
  counted). 403 means the person removed the app: unreachable, not retried. A 404 on a
  remembered 1:1 chat forgets it and opens a new one once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from adapters.pacing import Pacer, Paused, Scope, blamed
from adapters.teams import conversations
from adapters.teams.activities import PLATFORM
from adapters.teams.botframework import BotFramework, ConnectorError
from adapters.teams.cards import activity_for
from dialogs.ports import Delivery, DeliveryFailed
from storage.database import Database
from storage.send_paces import Rule, Slot

log = logging.getLogger(__name__)
Json = dict[str, Any]
T = TypeVar("T")
RETRIED = {412, 429, 502, 504}
GONE = {403}
TRIES = 4
BACKOFF_SECONDS = 0.25
MAX_WAIT_SECONDS = 8.0
# Teams' documented limits are per bot and per conversation (7 per second, 60 per 30 s) and
# per app and tenant (not published, and not the same everywhere): where to begin, and how far
# learning may go.
TENANT_RULE = Rule(interval=1 / 30, fastest=1 / 100, slowest=10.0)
CONVERSATION_RULE = Rule(interval=1 / 1.8, fastest=0.5, slowest=30.0, burst=6)


class ConversationGone(DeliveryFailed):
    """404: the conversation no longer exists (a remembered 1:1 chat can be opened anew)."""


class TeamsSender:
    platform = PLATFORM

    def __init__(
        self,
        framework: BotFramework,
        database: Database,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacer: Pacer | None = None,
    ) -> None:
        self.framework = framework
        self.database = database
        self.sleep = sleep
        self.pacer = pacer or Pacer(PLATFORM, sleep=sleep)

    def scopes(self, tenant: str, conversation: str = "") -> list[Scope]:
        """What a call counts against: its conversation, if any, then its tenant."""
        scopes: list[Scope] = []
        if conversation:
            key = self.pacer.conversation(f"{tenant}:{conversation}")
            scopes.append((f"{tenant}/send/c/{key}", CONVERSATION_RULE))
        scopes.append((f"{tenant}/send", TENANT_RULE))
        return scopes

    async def send(self, delivery: Delivery) -> None:
        activity = activity_for(delivery.card)
        if delivery.kind == "channel":
            reference = await self._stored(
                delivery.workspace, conversations.CHANNEL, delivery.address
            )
            if reference is None:
                raise DeliveryFailed("teams channel unknown", unreachable=True)
            await self._post(delivery.workspace, reference, activity)
            return
        reference = await self._stored(delivery.workspace, conversations.PERSONAL, delivery.address)
        if reference is not None:
            try:
                await self._post(delivery.workspace, reference, activity)
                return
            except ConversationGone:
                # The 1:1 chat is gone (a reset tenant, a new app id): open a new one once.
                await self._forget(delivery.workspace, delivery.address)
        reference = await self._open(delivery.workspace, delivery.address)
        await self._post(delivery.workspace, reference, activity)

    async def _post(self, tenant: str, reference: Json, activity: Json) -> None:
        conversation = str((reference.get("conversation") or {}).get("id") or "")
        await self._retrying(
            lambda: self.framework.send(reference, [activity]), self.scopes(tenant, conversation)
        )

    async def _open(self, tenant: str, user_id: str) -> Json:
        """A new 1:1 chat with someone from a team's roster, through the tenant's service URL."""
        async with self.database.session() as session:
            anchor = await conversations.any_in_tenant(session, tenant)
            if anchor is None:
                raise DeliveryFailed("no teams conversation in this tenant", unreachable=True)
            service_url, bot = anchor.service_url, dict(anchor.reference.get("bot") or {})
        return await self._retrying(
            lambda: self.open_personal(tenant, user_id, service_url=service_url, bot=bot),
            self.scopes(tenant),
        )

    async def open_personal(
        self, tenant: str, user_id: str, *, service_url: str, bot: Json
    ) -> Json:
        """Open (Teams finds it if it exists) a 1:1 chat and remember it for next time."""
        reference = await self.framework.open_personal(
            service_url=service_url, tenant=tenant, user_id=user_id, bot=bot
        )
        async with self.database.session() as session, session.begin():
            await conversations.remember(
                session,
                tenant=tenant,
                kind=conversations.PERSONAL,
                key=user_id,
                service_url=service_url,
                reference=reference,
            )
        return reference

    async def _slots(self, scopes: list[Scope]) -> list[Slot]:
        try:
            return await self.pacer.wait(scopes)
        except Paused as paused:
            wait = max(0.0, (paused.until - self.pacer.clock()).total_seconds())
            raise DeliveryFailed("waiting: platform rate limit", retry_after=wait) from None

    async def _retrying(self, call: Callable[[], Awaitable[T]], scopes: list[Scope]) -> T:
        for attempt in range(1, TRIES + 1):
            slots = await self._slots(scopes)
            try:
                answer = await call()
                self.pacer.succeeded([scope for scope, _ in scopes])
                return answer
            except ConnectorError as error:
                if error.status in GONE:
                    raise DeliveryFailed(f"teams {error.status}", unreachable=True) from error
                if error.status == 404:
                    raise ConversationGone("teams 404") from error
                if error.status not in RETRIED:
                    raise DeliveryFailed(f"teams {error.status}") from error
                wait = error.retry_after
                if wait is None:
                    wait = BACKOFF_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                if error.status == 429:
                    # Queued calls to this conversation: its own limit; else the tenant's.
                    scope, rule = blamed(scopes, slots)
                    await self.pacer.limited(scope, rule, wait)
                if attempt == TRIES or wait > MAX_WAIT_SECONDS:
                    # Let the outbox hold the message (and, for 429, the tenant) instead.
                    retry_after = wait if error.status == 429 else None
                    raise DeliveryFailed(
                        f"teams {error.status}", retry_after=retry_after
                    ) from error
                log.info("teams connector %s, retry %d in %.2fs", error.status, attempt, wait)
                await self.sleep(wait)
        raise AssertionError("unreachable")

    async def _stored(self, tenant: str, kind: str, key: str) -> Json | None:
        async with self.database.session() as session:
            row = await conversations.find(session, tenant, kind, key)
            return dict(row.reference) if row is not None else None

    async def _forget(self, tenant: str, user_id: str) -> None:
        async with self.database.session() as session, session.begin():
            await conversations.forget(session, tenant, conversations.PERSONAL, user_id)
