"""Lanes that send what the outbox worker claimed, and claim again as they free up.

Messages to different conversations go out on up to `lanes` concurrent lanes; one
conversation is on at most one lane at a time, so its messages go in order. A lane that sent a
message hands its conversation back and takes the next one waiting (round robin), so a channel
held to one post a second does not keep a lane from the others; with none waiting it keeps its
own. When a lane has nothing left to take, the worker claims again while the other lanes go on
sending: a slow conversation never idles the rest (bot.outbox_worker caps what it holds
claimed and unsent).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from storage.models import OutboxMessage

Conversation = tuple[str, str, str]  # platform, workspace, address


class Lanes:
    def __init__(self, lanes: int, send: Callable[[OutboxMessage], Awaitable[None]]) -> None:
        self.lanes = max(1, lanes)
        self.send = send
        self.queues: dict[Conversation, deque[OutboxMessage]] = {}
        self.waiting: deque[Conversation] = deque()  # conversations with messages, no lane
        self.running: set[asyncio.Task[None]] = set()
        self.finished = 0  # messages the lanes are done with
        self.stopping = False
        self._wake = asyncio.Event()

    async def pump(
        self, claim: Callable[[], Awaitable[list[OutboxMessage]]], *, again: bool = True
    ) -> int:
        """Claim, send on the lanes, and (`again`) claim more whenever a lane is free and
        nothing waits for it; returns how many messages were claimed, once every lane is done
        and the last claim found nothing. Without `again`: one claim, sent."""
        claimed_total = 0
        claims = 0
        empty_at: int | None = None  # `finished` when a claim last found nothing
        try:
            while True:
                self._wake.clear()  # the state is read afresh below: no wake-up lost
                fresh = empty_at is None or self.finished > empty_at
                free = not self.waiting and len(self.running) < self.lanes
                if (again or claims == 0) and fresh and free:
                    finished = self.finished
                    claims += 1
                    claimed = await claim()
                    if claimed:
                        claimed_total += len(claimed)
                        self.add(claimed)
                        self._start()
                    else:  # a message finished meanwhile may have made something due
                        empty_at = finished
                    continue
                self._start()
                if not self.running:
                    return claimed_total
                await self._changed()
        except BaseException as error:
            # No lane goes on unwatched. After an error, the others finish the message they
            # are sending (cut short, it could reach the platform unmarked and go twice) and
            # take no other; cancelled (shutting down), they stop now.
            self.stopping = True
            if isinstance(error, asyncio.CancelledError):
                for task in self.running:
                    task.cancel()
            await asyncio.gather(*self.running, return_exceptions=True)
            self.running.clear()
            raise

    def add(self, messages: Iterable[OutboxMessage]) -> None:
        """Queue claimed messages behind their conversation's (in the order given)."""
        for message in messages:
            key = (message.platform, message.workspace, message.address)
            queue = self.queues.get(key)
            if queue is None:
                queue = self.queues[key] = deque()
                self.waiting.append(key)
            queue.append(message)

    def _start(self) -> None:
        while self.waiting and len(self.running) < self.lanes:
            self.running.add(asyncio.create_task(self._lane()))

    async def _lane(self) -> None:
        while self.waiting and not self.stopping:
            key = self.waiting.popleft()
            queue = self.queues[key]
            while queue and not self.stopping:
                try:
                    await self.send(queue.popleft())
                finally:
                    self.finished += 1
                    self._wake.set()
                if queue and self.waiting:  # others wait: take turns
                    self.waiting.append(key)
                    break
            else:
                del self.queues[key]

    async def _changed(self) -> None:
        """Until a lane finished a message or ended; a lane's error is raised here."""
        woken = asyncio.create_task(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                {woken, *self.running}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()
        for task in done:
            if task is not woken:
                self.running.discard(task)
                task.result()
