"""Doors put in front of the engine's `handle`, to watch or hold what reaches it."""

from __future__ import annotations

import asyncio
from typing import Any

from dialogs.engine import Engine


def counting(engine: Engine, delay: float = 0.0) -> list[Any]:
    """Record (and optionally slow down) every event the engine handles."""
    seen: list[Any] = []
    handle = engine.handle

    async def counted(event: Any, **options: Any) -> Any:
        seen.append(event)
        if delay:
            await asyncio.sleep(delay)
        return await handle(event, **options)

    engine.handle = counted  # type: ignore[method-assign]
    return seen


def held(engine: Engine) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold every event at the engine's door: (started, release)."""
    started, release = asyncio.Event(), asyncio.Event()
    handle = engine.handle

    async def waiting(event: Any, **options: Any) -> Any:
        started.set()
        await release.wait()
        return await handle(event, **options)

    engine.handle = waiting  # type: ignore[method-assign]
    return started, release
