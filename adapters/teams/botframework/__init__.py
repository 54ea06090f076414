"""Every botbuilder import of Passerelle lives here, so that moving to the Microsoft 365 Agents
SDK means rewriting this package only. The rest of adapters/teams/ speaks plain JSON activities
(the Bot Framework wire format, camelCase keys).

- `BotFramework.process` serves `POST /api/messages` through botbuilder's `CloudAdapter` with
  `ConfigurationBotFrameworkAuthentication`: with an app id, the inbound JWT is validated; with
  none (local mode) unauthenticated activities are accepted and no outbound token is fetched.
  Any authentication failure is 401 (botbuilder raises other errors than PermissionError for
  some bad tokens, which would otherwise become 500).
- `BotFramework.send` writes proactively through a stored conversation reference
  (`continue_conversation`); `BotFramework.open_personal` starts a 1:1 chat with someone from a
  team's roster (`create_conversation`).
- A connector answer other than 2xx becomes `ConnectorError` with its status and Retry-After.
- `RetryLater` raised by the turn's logic (the database is away) answers 503 with Retry-After:
  the activity was not handled, and the Bot Connector may deliver it again.
- Nothing botbuilder does blocks the event loop: its connector calls run `requests` in a
  thread already (msrest's async sender), but it fetches outbound tokens (MSAL) and refreshes
  the inbound signing keys (OpenID metadata, JWKS) with blocking calls on the loop. Tokens are
  fetched in a thread before each connector client is made (`offloop.OffLoopCredentialsFactory`)
  and keys are refreshed in a thread (`offloop`), so a slow Azure AD or key endpoint
  delays only the activity that needs it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from botbuilder.core import Bot, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.auth import ServiceClientCredentialsFactory

from adapters.teams.activities import malformed
from adapters.teams.botframework.offloop import OffLoopCredentialsFactory, is_loopback_url

log = logging.getLogger(__name__)
Json = dict[str, Any]
ROSTER_PAGE = 200
RETRY_AFTER_SECONDS = 30  # told to the Bot Connector with a 503 (the database is away)


class RetryLater(Exception):
    """The activity cannot be handled now (the database is away): answered 503, not handled,
    so that the Bot Connector's retry (or the person's resend) is."""


class ConnectorError(Exception):
    """The Bot Framework connector answered with an error status."""

    def __init__(self, status: int | None, retry_after: float | None, detail: str) -> None:
        super().__init__(f"connector {status}: {detail}")
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


def _connector_error(error: Exception) -> ConnectorError:
    """msrest's `HttpOperationError` (and kin) carry the HTTP response; read its status."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    headers = getattr(response, "headers", None) or {}
    retry_after: float | None = None
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    if raw:
        try:
            retry_after = max(0.0, float(raw))
        except ValueError:
            retry_after = None
    return ConnectorError(int(status) if status else None, retry_after, type(error).__name__)


@dataclass(frozen=True)
class Credentials:
    """The contract's MICROSOFT_APP_* settings (an empty app id is local mode)."""

    app_id: str = ""
    password: str = ""
    tenant_id: str = ""
    app_type: str = "MultiTenant"


class _Configuration:
    """What `ConfigurationBotFrameworkAuthentication` reads, by attribute name."""

    def __init__(self, credentials: Credentials, extra: dict[str, str] | None = None) -> None:
        self.APP_ID = credentials.app_id
        self.APP_PASSWORD = credentials.password
        self.APP_TENANTID = credentials.tenant_id
        self.APP_TYPE = credentials.app_type or "MultiTenant"
        # The names botbuilder's samples use, read by ConfigurationServiceClientCredentialFactory.
        self.MicrosoftAppId = credentials.app_id
        self.MicrosoftAppPassword = credentials.password
        self.MicrosoftAppTenantId = credentials.tenant_id
        self.MicrosoftAppType = self.APP_TYPE
        for name, value in (extra or {}).items():
            setattr(self, name, value)


class TurnHandle:
    """One inbound activity (as JSON) and the means to answer in its conversation."""

    def __init__(self, context: TurnContext) -> None:
        self._context = context
        self.activity: Json = context.activity.serialize()
        entities = context.activity.entities or []
        if entities:
            # msrest's serialize keeps only the declared `type` of an entity: a `clientInfo`
            # entity's locale and time zone are in its additional properties.
            self.activity["entities"] = [
                {**(getattr(e, "additional_properties", None) or {}), **e.serialize()}
                for e in entities
            ]

    def reference(self) -> Json:
        """Where to write later. Without the activity's id: a later message is a new post,
        not a reply to this activity (in a channel, a reply would land in its thread)."""
        reference = dict(TurnContext.get_conversation_reference(self._context.activity).serialize())
        reference.pop("activityId", None)
        return reference

    async def send(self, activity: Json) -> str:
        try:
            answer = await self._context.send_activity(Activity().deserialize(activity))
        except Exception as error:
            raise _connector_error(error) from error
        return str(getattr(answer, "id", "") or "")

    async def update(self, activity_id: str, activity: Json) -> None:
        replacement = Activity().deserialize(activity)
        replacement.id = activity_id
        try:
            await self._context.update_activity(replacement)
        except Exception as error:
            raise _connector_error(error) from error

    async def roster(self) -> list[Json]:
        """Everyone in this conversation's team (or group chat), page by page."""
        members: list[Json] = []
        token: str | None = None
        while True:
            try:
                page = await TeamsInfo.get_paged_members(self._context, token, ROSTER_PAGE)
            except Exception as error:
                raise _connector_error(error) from error
            members += [member.serialize() for member in page.members or []]
            token = page.continuation_token
            if not token:
                return members

    async def member(self, member_id: str) -> Json:
        """One person of this conversation's team (or chat), with their name: `membersAdded`
        carries only ids. `GET v3/conversations/{team or conversation}/members/{id}`."""
        try:
            found = await TeamsInfo.get_member(self._context, member_id)
        except Exception as error:
            raise _connector_error(error) from error
        return dict(found.serialize())

    async def team_channels(self, team_id: str) -> list[Json]:
        """`GET v3/teams/{id}/conversations`: the team's channels, `{"id", "name"}` (the
        General channel, whose id is the team's, has no name)."""
        return [dict(c.serialize()) for c in await self._teams_call("get_teams_channels", team_id)]

    async def team_name(self, team_id: str) -> str:
        """`GET v3/teams/{id}`: the team's name as Teams shows it."""
        details = await self._teams_call("get_team_details", team_id)
        return str(getattr(details, "name", "") or "")

    async def _teams_call(self, operation: str, team_id: str) -> Any:
        # botbuilder's Teams client is synchronous (`requests` on the calling thread): in a
        # thread, so that a slow connector delays this activity only, not the loop.
        try:
            client = await TeamsInfo.get_teams_connector_client(self._context)
            answer = await asyncio.to_thread(getattr(client.teams, operation), team_id)
        except Exception as error:
            raise _connector_error(error) from error
        return answer.conversations if operation == "get_teams_channels" else answer


TurnLogic = Callable[[TurnHandle], Awaitable[None]]


class _Bot(Bot):  # type: ignore[misc]  # botbuilder is untyped
    def __init__(self, logic: TurnLogic) -> None:
        self.logic = logic

    async def on_turn(self, context: TurnContext) -> None:
        if context.activity.type == ActivityTypes.invoke:
            # Passerelle's cards submit with Action.Submit (a message), never an invoke
            # (Action.Execute, messaging extensions, task modules): one is answered 200 with
            # an empty invoke response, which Teams takes without showing an error, instead
            # of botbuilder's 501 for an invoke nobody answered.
            context.turn_state[TurnContext._INVOKE_RESPONSE_KEY] = Activity(
                type=ActivityTypes.invoke_response, value=InvokeResponse(status=200)
            )
            return
        try:
            await self.logic(TurnHandle(context))
        except RetryLater:
            raise  # to `process`: 503
        except ConnectorError as error:
            # The connector refused an answer: a conversation it does not know, ids it cannot
            # read (a crafted activity in local mode), a connector that is away. Nothing of
            # ours failed: one line, no traceback.
            log.warning(
                "teams activity %s: answer refused by the connector (%s: %s)",
                context.activity.type, error.status, error.detail,
            )  # fmt: skip
        except Exception:  # the activity was authenticated: a bug here is ours, not a 401
            log.exception("teams activity %s failed", context.activity.type)


class BotFramework:
    def __init__(
        self,
        credentials: Credentials,
        *,
        auth_overrides: dict[str, str] | None = None,
        credentials_factory: ServiceClientCredentialsFactory | None = None,
    ) -> None:
        """`auth_overrides` and `credentials_factory` exist for tests: another OpenID metadata
        URL and issuer (botbuilder's parameterized settings), and outbound tokens without AAD."""
        self.credentials = credentials
        configuration = _Configuration(credentials, auth_overrides)
        factory = credentials_factory or ConfigurationServiceClientCredentialFactory(configuration)
        self.adapter = CloudAdapter(
            ConfigurationBotFrameworkAuthentication(
                configuration, credentials_factory=OffLoopCredentialsFactory(factory)
            )
        )

    @property
    def auth_enabled(self) -> bool:
        return bool(self.credentials.app_id)

    async def process(self, request: web.Request, logic: TurnLogic) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return web.json_response({"error": "malformed activity"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return web.json_response({"error": "malformed activity"}, status=400)
        authorization = request.headers.get("Authorization", "")
        if not self.auth_enabled and authorization:
            # Local mode takes no token: validating one would fetch Microsoft's keys with a
            # blocking request, and a client that sends one expects an app id we do not have.
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            Activity().deserialize(body)
        except Exception:
            return web.json_response({"error": "malformed activity"}, status=400)
        why = malformed(body)
        if why is not None:  # see activities.malformed: it would fail later, not here
            return web.json_response({"error": "malformed activity", "detail": why}, status=400)
        if not self.auth_enabled and not is_loopback_url(body.get("serviceUrl")):
            # Local mode answers only a connector on this machine (the Agents Playground, the
            # Emulator): any other serviceUrl would make the bot call out, with botbuilder's
            # blocking client, to whatever an unauthenticated sender named.
            return web.json_response(
                {"error": "in local mode, serviceUrl must be a loopback http(s) address"},
                status=400,
            )
        try:
            response = await self.adapter.process(request, _Bot(logic))
        except RetryLater:
            return web.json_response(
                {"error": "temporarily unavailable"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        except web.HTTPException as error:
            return web.json_response({"error": error.reason}, status=error.status)
        except Exception as error:  # a token botbuilder failed to read (unknown key id...)
            log.info("teams request refused: %s", type(error).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        return response if response is not None else web.Response(status=201)

    async def send(self, reference: Json, activities: list[Json]) -> list[str]:
        """Post `activities` in the referenced conversation; returns their ids."""
        ids: list[str] = []

        async def logic(context: TurnContext) -> None:
            # botbuilder makes up an id for the continuation and would send every message as
            # a reply to it (reply_to_activity): a new post is what is meant.
            context.activity.id = None
            for activity in activities:
                answer = await context.send_activity(Activity().deserialize(activity))
                ids.append(str(getattr(answer, "id", "") or ""))

        try:
            await self.adapter.continue_conversation(
                ConversationReference().deserialize(reference),
                logic,
                bot_app_id=self.credentials.app_id or None,
            )
        except Exception as error:
            raise _connector_error(error) from error
        return ids

    async def open_personal(
        self, *, service_url: str, tenant: str, user_id: str, bot: Json
    ) -> Json:
        """Start (or find: Teams answers with the same one) a 1:1 chat; returns its reference."""
        found: list[Json] = []

        async def logic(context: TurnContext) -> None:
            reference = dict(TurnContext.get_conversation_reference(context.activity).serialize())
            reference.pop("activityId", None)
            found.append(reference)

        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount().deserialize(bot),
            members=[ChannelAccount(id=user_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        try:
            await self.adapter.create_conversation(
                self.credentials.app_id or "",
                logic,
                parameters,
                channel_id="msteams",
                service_url=service_url,
            )
        except Exception as error:
            raise _connector_error(error) from error
        return found[0]
