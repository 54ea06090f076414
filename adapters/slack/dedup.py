"""The Slack bridge's shared memory (a mixin of `SlackBridge`): what one process learns,
every process knows, through marks in the database (`SharedMarks`, storage/marks.py).

- `_once`, Bolt's first middleware: a delivery (event id, modal submission, action's trigger
  id: `events.event_identity`) is handled by the one process that marks it first, before
  anything is done or shown; the others answer 200 and do nothing. So a Slack retry or the
  same request reaching two processes behind the load balancer is handled once, and a
  duplicate never answers in place of the first (a tension's one-time code).
- `_forget_delivery`: a delivery that was not committed is unmarked, so that the person's
  resend is handled (tried again in the background while the database is unreachable).
- `on_recording_closed` / `_view_closed`: the "recording" views people closed, so that the
  process that records the submission sends its answer by DM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from slack_bolt.response import BoltResponse

from adapters.slack import events
from adapters.ttl_cache import SharedMarks

log = logging.getLogger(__name__)
Json = dict[str, Any]
FORGET_WAIT_SECONDS = 0.5  # before the ack: longer, and the unmarking goes on after it


class SharedMemory:
    # Provided by SlackBridge.
    seen: SharedMarks  # deliveries handled
    closed: SharedMarks  # "recording" views the person closed

    if TYPE_CHECKING:

        def _spawn(self, work: Coroutine[Any, Any, None]) -> None: ...

    async def _once(self, body: Json, next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Drop a delivery already processed, by this process or another (Slack's retries, a
        double-clicked submit, the same request reaching two processes): the first process
        to mark it in the database handles it, before anything is done or shown, so that a
        duplicate never answers in place of the first (a tension's one-time code)."""
        identity = events.event_identity(body)
        if identity is not None and not await self._first_delivery(identity):
            log.debug("slack: a duplicate delivery was ignored")  # no id: it could date one
            return BoltResponse(status=200, body="")
        await next()
        return None

    async def _first_delivery(self, identity: str) -> bool:
        try:
            return await self.seen.first_time(identity)
        except Exception as error:  # the database is down: handled (its writes are idempotent)
            log.warning("slack: de-duplication unavailable: %r", error)
            return True

    async def _forget_delivery(self, body: Json) -> None:
        """A delivery that was not committed may come again (the person sends it again).
        Tried again in the background while the database is unreachable."""
        identity = events.event_identity(body)
        if identity is None:
            return
        try:
            async with asyncio.timeout(0.5):  # the ack is waiting
                await self.seen.forget(identity)
        except Exception:
            self._spawn(self._forget_mark(identity))

    async def _forget_mark(self, identity: str) -> None:
        pause = 0.5
        deadline = asyncio.get_running_loop().time() + self.seen.ttl.total_seconds()
        while True:
            try:
                await self.seen.forget(identity)
                return
            except Exception as error:
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("slack: a delivery's mark could not be removed: %r", error)
                    return
            await asyncio.sleep(pause)  # the database is down: wait for it to come back
            pause = min(pause * 2, 30.0)

    async def on_recording_closed(self, ack: Any, body: Json) -> None:
        """The person closed the "recording" view: the reply will go by DM, whichever process
        records it (a mark in the database)."""
        view = body.get("view")
        view_id = str(view.get("id") or "") if isinstance(view, dict) else ""
        if view_id:
            try:
                await self.closed.first_time(view_id)
            except Exception as error:  # the reply will try the modal, then go by DM
                log.warning("slack: a closed view could not be marked: %r", error)
        await ack()

    async def _view_closed(self, view_id: str) -> bool:
        """Whether the person closed this view (on any process); unknown counts as open."""
        try:
            return await self.closed.present(view_id)
        except Exception as error:
            log.warning("slack: closed views unreadable: %r", error)
            return False
