"""The console as a platform (adapters/platform.py): no settings, no routes; its sender is the
console itself, so the outbox delivers to console people like to anyone else."""

from __future__ import annotations

from aiohttp import web

from adapters.console.console import PLATFORM as NAME
from adapters.console.console import Console
from adapters.platform import Host, Mount, Platform

CONSOLE = web.AppKey("console", Console)


class ConsoleMount(Mount):
    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.console = console

    def attach(self, app: web.Application) -> None:
        app[CONSOLE] = self.console


def build(host: Host) -> ConsoleMount:
    return ConsoleMount(Console(host.engine, host.drain))


PLATFORM = Platform(NAME, build)
