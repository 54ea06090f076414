"""Microsoft Teams as a platform (adapters/platform.py): built with an app id (inbound tokens
checked), or in local mode (no app id: the Agents Playground, the Emulator) only on a loopback
address, since without authentication anyone who can reach the endpoint could speak as anyone.
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

from adapters.platform import Host, Mount, Platform
from adapters.teams.activities import PLATFORM as NAME
from adapters.teams.app import TeamsBridge
from adapters.teams.botframework import BotFramework, Credentials
from adapters.teams.routes import TeamsRoutes

log = logging.getLogger(__name__)
TEAMS = web.AppKey("teams", TeamsBridge)


class TeamsSettings(Protocol):
    host: str
    microsoft_app_id: str
    microsoft_app_password: str
    microsoft_app_tenant_id: str
    microsoft_app_type: str


class TeamsMount(Mount):
    def __init__(self, bridge: TeamsBridge) -> None:
        super().__init__(bridge.sender)
        self.bridge = bridge

    def routes(self) -> list[web.AbstractRouteDef]:
        return TeamsRoutes(self.bridge).routes()

    def attach(self, app: web.Application) -> None:
        app[TEAMS] = self.bridge


def build(host: Host) -> TeamsMount | None:
    settings: TeamsSettings = host.settings
    credentials = Credentials(
        app_id=settings.microsoft_app_id,
        password=settings.microsoft_app_password,
        tenant_id=settings.microsoft_app_tenant_id,
        app_type=settings.microsoft_app_type,
    )
    if not credentials.app_id and not host.loopback:
        log.warning("teams not served: no MICROSOFT_APP_ID and %s is not loopback", settings.host)
        return None
    bridge = TeamsBridge(host.engine, BotFramework(credentials))
    bridge.sender.pacer.use(host.paces, tag=host.engine.sealer.tag, clock=host.engine.clock)
    return TeamsMount(bridge)


PLATFORM = Platform(NAME, build)
