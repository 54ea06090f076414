"""Slack as a platform (adapters/platform.py): built when Slack's settings are present, a
signing secret with a bot token (one workspace) or an OAuth client (installations in our
database).

Both roles call the Web API (acks' views, sends), so every process opens its kept-alive HTTP
session; only a process that runs the worker records what was acknowledged (the intake worker,
which also takes over rows another process left behind).
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

from adapters.platform import Host, Mount, Platform
from adapters.slack.app import SlackBridge
from adapters.slack.events import PLATFORM as NAME
from adapters.slack.routes import SlackRoutes

log = logging.getLogger(__name__)
SLACK = web.AppKey("slack", SlackBridge)


class SlackSettings(Protocol):
    slack_signing_secret: str
    slack_bot_token: str
    slack_client_id: str
    slack_client_secret: str
    slack_api_url: str


class SlackMount(Mount):
    def __init__(self, bridge: SlackBridge) -> None:
        super().__init__(bridge.sender)
        self.bridge = bridge

    def routes(self) -> list[web.AbstractRouteDef]:
        return SlackRoutes(self.bridge).routes()

    def attach(self, app: web.Application) -> None:
        app[SLACK] = self.bridge

    async def start(self, *, runs_worker: bool) -> None:
        await self.bridge.open_http()
        await self.bridge.resume_if_authorized()
        if runs_worker:
            self.bridge.worker.start()  # records what was acked: by any process, left behind too

    async def stop(self) -> None:
        # Nothing acknowledged is only in memory: what the worker did not record stays in the
        # intake, for the next start (or another process) to record.
        await self.bridge.worker.stop()  # (never started in a web process: nothing to stop)
        await self.bridge.intake.close()

    async def close(self) -> None:
        await self.bridge.close_http()


def build(host: Host) -> SlackMount | None:
    settings: SlackSettings = host.settings
    if not settings.slack_signing_secret:
        return None
    if not (settings.slack_bot_token or settings.slack_client_id):
        log.warning("SLACK_SIGNING_SECRET without SLACK_BOT_TOKEN or SLACK_CLIENT_ID: no Slack")
        return None
    bridge = SlackBridge(
        host.engine,
        signing_secret=settings.slack_signing_secret,
        api_url=settings.slack_api_url,
        bot_token="" if settings.slack_client_id else settings.slack_bot_token,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
    )
    bridge.sender.pacer.use(host.paces, tag=host.engine.sealer.tag, clock=host.engine.clock)
    return SlackMount(bridge)


PLATFORM = Platform(NAME, build)
