"""What a platform package brings to the composition root, and how the root finds it.

Each platform is one package under adapters/ whose `platform` module exposes `PLATFORM`: a
name (the outbox's `platform`) and a `build` that returns the platform as this process runs
it (a `Mount`), or None when its settings are absent. bot/server.py lists the packages by name
(one line each), builds every configured one and hands it what it serves and runs:
- `sender`: the outbox worker delivers this platform's messages through it;
- `routes()`: its HTTP endpoints, served by a process that serves the web;
- `attach(app)`: where it keeps itself in the aiohttp app (its own `web.AppKey`);
- `start`, `stop`, `close`: before the calendar starts; once it stopped taking work (before
  the calendar stops); last, once nothing sends any more (HTTP sessions).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.pacing import PaceStore
from dialogs.engine import Engine
from dialogs.ports import Sender


@dataclass(frozen=True)
class Host:
    """What the composition root offers the platforms it builds."""

    engine: Engine
    # bot.settings.Settings (adapters do not import bot): each platform reads its own fields,
    # typed by a Protocol of its own.
    settings: Any
    loopback: bool  # the server listens on a loopback address only
    paces: PaceStore  # shared send paces (one per workspace, tenant, conversation)
    drain: Callable[[], Awaitable[int]]  # the outbox worker: send what is due now


class Mount:
    """A platform built for this process. The hooks do nothing unless a platform needs them."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    def attach(self, app: web.Application) -> None:
        """Keep the platform's own objects in `app` (tests and the CLI reach them there)."""

    async def start(self, *, runs_worker: bool) -> None:
        """Before the calendar starts; `runs_worker`: this process records and sends."""

    async def stop(self) -> None:
        """Stop taking work (before the calendar stops)."""

    async def close(self) -> None:
        """Last: nothing sends any more."""


@dataclass(frozen=True)
class Platform:
    name: str
    build: Callable[[Host], Mount | None]


def load(packages: Iterable[str]) -> list[Platform]:
    """The `PLATFORM` of each named package's `platform` module, in order."""
    found = []
    for package in packages:
        platform = importlib.import_module(f"{package}.platform").PLATFORM
        if not isinstance(platform, Platform):
            raise TypeError(f"{package}.platform.PLATFORM is not a Platform")
        found.append(platform)
    return found
