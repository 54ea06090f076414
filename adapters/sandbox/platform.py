"""The sandbox as a platform (adapters/platform.py).

Its sender (the transcripts) is always there, so the outbox can deliver what the sandbox's
people are owed; its page is served only by a single `all` process on a loopback address, and
only when wanted (PASSERELLE_SANDBOX, or no chat platform configured): its conversations live
in the serving process's memory, and it trusts whoever can reach it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

from adapters.platform import Host, Mount, Platform
from adapters.sandbox.app import Sandbox
from adapters.sandbox.people import PLATFORM as NAME
from adapters.sandbox.transcript import Transcripts

log = logging.getLogger(__name__)


class SandboxSettings(Protocol):
    role: str
    host: str

    @property
    def sandbox_wanted(self) -> bool: ...


class SandboxMount(Mount):
    def __init__(self, host: Host, transcripts: Transcripts) -> None:
        super().__init__(transcripts)
        self.host = host
        self.transcripts = transcripts
        self.served = served(host)  # decided (and said) once, at start-up

    def routes(self) -> list[web.AbstractRouteDef]:
        if not self.served:
            return []
        page = Sandbox(self.host.engine, self.transcripts, after_action=self.host.drain)
        return [*page.routes(), web.get("/", to_sandbox)]


def served(host: Host) -> bool:
    settings: SandboxSettings = host.settings
    if not settings.sandbox_wanted:
        return False
    if settings.role != "all":
        log.warning("sandbox not served: it needs --role all (one process), not %s", settings.role)
        return False
    if not host.loopback:
        log.warning("sandbox not served: %s is not a loopback address", settings.host)
        return False
    return True


async def to_sandbox(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/sandbox")


def build(host: Host) -> SandboxMount:
    # The sandbox keeps the engine's time, so a controlled clock (tests, demos) decides what
    # is due and when each message is shown as sent.
    return SandboxMount(host, Transcripts(clock=host.engine.clock))


PLATFORM = Platform(NAME, build)
