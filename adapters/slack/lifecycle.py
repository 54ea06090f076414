"""The Slack bridge's running parts: its HTTP session, from start-up to shutdown, and the work
it does after acks (background tasks on a bounded lane, and `settle` to wait for them).

Bolt runs listeners inline (process_before_response), so an ack is sent as soon as the
listener returns; what is slow goes after it, to `after_ack`. Bolt's own way
(process_before_response=False) answers an ack by polling for it every 10 ms, so every request
waited 10 ms or more, and a burst of 50 kept 50 timers ticking on the loop.

Web API calls share one pool of kept-alive connections (`open_http`, at start-up, once the loop
runs; `close_http` at shutdown): Bolt's client, the outbox's sender and the intake worker's
clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.intake import IntakeWorker
from adapters.slack import events
from adapters.slack.sender import SlackSender, keep_alive_session
from storage.database import unavailable

log = logging.getLogger(__name__)
Json = dict[str, Any]
# The work after acks (Web API calls, the engine) runs a few listeners at a time, so that
# a burst's acknowledgements are not slowed by the work of the requests before them.
# Never longer than LANE_WAIT_SECONDS though: a trigger id (views.open) expires 3 s after the
# click, so work that waited that long goes ahead anyway.
AFTER_ACK_LANE = 8
LANE_WAIT_SECONDS = 1.5


class Lifecycle:
    """The HTTP session and the tasks begun after acks, for one bridge."""

    def __init__(
        self,
        app: AsyncApp,
        sender: SlackSender,
        worker: IntakeWorker,
        clients: dict[str, AsyncWebClient],
        first_delivery: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.app = app
        self.sender = sender
        self.worker = worker
        self.clients = clients  # the intake worker's, per bot token (dropped at shutdown)
        self.first_delivery = first_delivery  # adapters/slack/dedup.py
        self.lane = asyncio.Semaphore(AFTER_ACK_LANE)
        self._busy = 0
        self._idle_event: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # after-ack work, kept until done

    # ----------------------------------------------------------------- HTTP
    async def open_http(self) -> None:
        """Kept-alive connections for every Web API call, once the loop runs (start-up)."""
        if self.app.client.session is None:
            session = keep_alive_session()
            self.app.client.session = session  # Bolt hands it to each request's client
            self.sender.use_session(session)

    async def close_http(self) -> None:
        session = self.app.client.session
        self.clients.clear()
        if session is not None:
            self.app.client.session = None
            self.sender.use_session(None)
            await session.close()

    # ----------------------------------------------------------------- after acks
    def after_ack(self, work: Coroutine[Any, Any, None], body: Json | None = None) -> None:
        """Run `work` once this listener has returned, so its ack is answered at once; with
        the request's `body`, only if this process is the first to take the delivery
        (adapters/slack/dedup.py: marked in the task, not before the ack)."""
        identity = events.event_identity(body) if body is not None else None
        self._started()
        task = asyncio.ensure_future(self._run(work, identity))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until the work begun after acks is done and the intake worker has handled
        this process's rows (tests, benchmarks)."""
        while True:
            await asyncio.sleep(0)
            await self._idle().wait()
            await self.worker.settle()
            if self._idle().is_set():
                return

    def _idle(self) -> asyncio.Event:
        if self._idle_event is None:  # made in the running loop, not at construction
            self._idle_event = asyncio.Event()
            self._idle_event.set()
        return self._idle_event

    def _started(self) -> None:
        self._busy += 1
        self._idle().clear()

    def _finished(self) -> None:
        self._busy -= 1
        if not self._busy:
            self._idle().set()

    async def _run(self, work: Coroutine[Any, Any, None], identity: str | None) -> None:
        """Marked first (the marks of a burst share a transaction), then on the after-ack
        lane (or after LANE_WAIT_SECONDS without a place)."""
        placed = False
        try:
            if identity is not None and not await self.first_delivery(identity):
                work.close()  # never started
                log.debug("slack: a duplicate delivery was ignored")  # no id: it could date one
                return
            try:
                async with asyncio.timeout(LANE_WAIT_SECONDS):  # no task per wait (wait_for)
                    await self.lane.acquire()
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
                self.lane.release()
            self._finished()
