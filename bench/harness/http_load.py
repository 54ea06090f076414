"""Serving an aiohttp app on loopback, and the load generator that POSTs signed Slack bodies to
it, a given number in flight (one keep-alive pool, in the caller's loop)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from tests.slack_signing import SIGNING_SECRET, signed_headers


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """`app` on 127.0.0.1, a free port; its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@dataclass
class Loaded:
    latencies: list[float]
    wall: float
    statuses: dict[int, int]
    bad: int
    acked_at: list[float]  # time.monotonic() of each body's ack, in the bodies' order


async def load(
    http: aiohttp.ClientSession, url: str, bodies: Sequence[bytes], concurrency: int
) -> Loaded:
    """POST every body, signed at send time, ``concurrency`` at a time."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acked_at = [0.0] * len(bodies)
    bad = 0
    queue = iter(enumerate(bodies))

    async def one_client() -> None:
        nonlocal bad
        for index, body in queue:
            headers = signed_headers(body, SIGNING_SECRET)
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                text = await response.read()
            latencies.append(time.perf_counter() - started)
            acked_at[index] = time.monotonic()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status != 200 or (text and b"errors" in text):
                bad += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return Loaded(latencies, time.perf_counter() - started, statuses, bad, acked_at)
