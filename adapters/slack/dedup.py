"""The Slack bridge's shared memory (a mixin of `SlackBridge`): what one process learns,
every process knows, through marks in the database (`SharedMarks`, storage/marks.py).

A delivery (event id, modal submission, action's trigger id: `events.event_identity`) is
handled by the one process that marks it first; the others do nothing. So a Slack retry, or
the same request reaching two processes behind the load balancer, is handled once, and a
duplicate never answers in place of the first (a tension's one-time code). Where the mark is
written depends on what the delivery does:

- a submission, or a button that submits (`DURABLE_BUTTONS`): in the intake's transaction,
  with the delivery's row (`_delivery_key`, `GroupCommit.put(..., once=...)`), before the
  ack; a failed commit leaves no mark, so the person's resend is taken;
- anything else (events, the other buttons): acked at once, marked in the work's task
  before the work (`_first_delivery`; the marks waiting at that moment share one
  transaction). Its ack never waits for the database, and Slack does not retry what was
  acked, so a failure of the work leaves nothing for a retry to find.

`on_recording_closed` / `_view_closed`: the "recording" views people closed, so that the
process that records the submission sends its answer by DM.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.slack import events
from adapters.ttl_cache import SharedMarks

log = logging.getLogger(__name__)
Json = dict[str, Any]


class SharedMemory:
    # Provided by SlackBridge.
    seen: SharedMarks  # deliveries handled
    closed: SharedMarks  # "recording" views the person closed

    def _delivery_key(self, body: Json) -> str | None:
        """The mark a submission's intake row is committed with (None: no identity)."""
        identity = events.event_identity(body)
        return None if identity is None else self.seen.key(identity)

    async def _first_delivery(self, identity: str) -> bool:
        """Whether this process is the first to take the delivery (marked now)."""
        try:
            return await self.seen.first_time(identity)
        except Exception as error:  # the database is down: handled (its writes are idempotent)
            log.warning("slack: de-duplication unavailable: %r", error)
            return True

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
