"""Acknowledgements before recordings: work done after an ack waits for a lull in requests.

A platform gives us a hard deadline for an ack (Slack: 3 s, or the person sees an error) and
none for what follows it. In one event loop, recording a ballot (the engine and the database)
takes turns with the acks of the requests arriving meanwhile, and in a burst those turns are
what makes an ack late. So the engine's work waits until no request is being answered and none
has arrived for `quiet_seconds`; never longer than `patience_seconds`, so that under a steady
stream the work still goes on (then it shares the loop as it would without this).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# Longer than one turn of a busy loop: in one loop, requests are read in batches, one per turn,
# so under load the gaps between arrivals are as long as a turn (20-70 ms at 50 at once).
QUIET_SECONDS = 0.1
PATIENCE_SECONDS = 2.0  # the "recording" view is not left showing longer for a lull
SHORTEST_SLEEP_SECONDS = 0.005  # never spin on a remainder rounded to nothing


class Lull:
    def __init__(
        self,
        quiet_seconds: float = QUIET_SECONDS,
        patience_seconds: float = PATIENCE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self.patience_seconds = patience_seconds
        self.clock = clock
        self.sleep = sleep
        self.in_flight = 0
        self.last_arrival = float("-inf")

    def arrived(self) -> None:
        self.in_flight += 1
        self.last_arrival = self.clock()

    def answered(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def quiet_for(self) -> float:
        """Seconds since the last arrival, or 0 while a request is being answered."""
        return 0.0 if self.in_flight else self.clock() - self.last_arrival

    async def wait(self) -> bool:
        """Until a lull (True) or `patience_seconds` (False)."""
        deadline = self.clock() + self.patience_seconds
        while True:
            quiet = self.quiet_for()
            if quiet >= self.quiet_seconds:
                return True
            left = deadline - self.clock()
            if left <= 0:
                return False
            await self.sleep(min(max(self.quiet_seconds - quiet, SHORTEST_SLEEP_SECONDS), left))
