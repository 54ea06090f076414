"""The real app served on a real socket, for what cannot use aiohttp's TestServer: a browser,
another program (the Agents Playground)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web


@contextlib.asynccontextmanager
async def on_loopback(app: web.Application) -> AsyncIterator[str]:
    """`app` on a free port of 127.0.0.1 until the block ends: its base URL, without a slash."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
