"""`POST /api/messages`: Teams' activities, authenticated by botbuilder (see botframework.py).

While the database is away (`storage.database.unavailable`), nothing is handled and nothing
is marked as handled: a person's message or card submission is answered with a card saying
so (nothing was recorded; send it again in a minute: the card they submitted is still there),
and any other activity (members added or removed, the app installed) is answered 503 so that
the Bot Connector delivers it again. A card that cannot be sent either is a 503 too.
"""

from __future__ import annotations

import logging

from aiohttp import web

from adapters.teams.app import TeamsBridge
from adapters.teams.botframework import ConnectorError, RetryLater, TurnHandle
from adapters.teams.cards import activity_for
from dialogs.cards import notice
from dialogs.i18n import Tr, language_of
from storage.database import unavailable

log = logging.getLogger(__name__)
MESSAGES_PATH = "/api/messages"


class TeamsRoutes:
    def __init__(self, bridge: TeamsBridge) -> None:
        self.bridge = bridge

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(MESSAGES_PATH, self.messages)]

    async def messages(self, request: web.Request) -> web.StreamResponse:
        return await self.bridge.framework.process(request, self.turn)

    async def turn(self, turn: TurnHandle) -> None:
        try:
            await self.bridge.on_turn(turn)
        except Exception as error:
            if not unavailable(error):
                raise
            log.warning("teams: the database is unavailable; an activity was not handled")
            await self._say_unavailable(turn)

    @staticmethod
    async def _say_unavailable(turn: TurnHandle) -> None:
        activity = turn.activity
        if activity.get("type") != "message":
            raise RetryLater()  # nobody to tell: the connector delivers it again
        tr = Tr(language_of(str(activity.get("locale") or ""), "fr"))
        try:
            # A submitted card stays in the conversation: the person can press it again.
            said = tr("outage.form" if activity.get("value") else "outage.retry")
            await turn.send(activity_for(notice(tr("outage.title"), said)))
        except ConnectorError as error:
            raise RetryLater() from error
