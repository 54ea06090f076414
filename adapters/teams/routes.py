"""`POST /api/messages`: Teams' activities, authenticated by botbuilder (see botframework.py)."""

from __future__ import annotations

from aiohttp import web

from adapters.teams.app import TeamsBridge

MESSAGES_PATH = "/api/messages"


class TeamsRoutes:
    def __init__(self, bridge: TeamsBridge) -> None:
        self.bridge = bridge

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(MESSAGES_PATH, self.messages)]

    async def messages(self, request: web.Request) -> web.StreamResponse:
        return await self.bridge.framework.process(request, self.bridge.on_turn)
