"""A fake Bot Framework connector service (what a Teams activity's ``serviceUrl`` points at).

    async with FakeConnector() as connector:
        connector.add_user("29:ana", "Ana", aad_object_id="aad-ana")
        connector.add_team("19:team@thread.tacv2", "Partners", channels=[...], members=["29:ana"])
        # later: join_team, add_channel, rename_channel, rename_team (what the API answers next)
        # point the bot at connector.service_url (an inbound activity's serviceUrl)
        ...
        connector.messages_to(connector.personal_conversation_id("29:ana"))

It is a real aiohttp server on 127.0.0.1 (ephemeral port) that **runs in its own thread with
its own event loop**. That is not a detail: botframework-connector 4.17.1 sends with
``requests`` — the async ``ConnectorClient`` runs ``requests`` in the default executor, and the
Teams extension client (``TeamsConnectorClient``, used by ``TeamsInfo.get_team_details`` and
``get_team_channels``) is *synchronous* and is called on the event loop. A fake served on the
test's own loop would deadlock on the latter. ``service_url`` carries a path (``/amer/``, like
``https://smba.trafficmanager.net/amer/``) so that a bot that drops the path is caught.

Wire protocol (read from botframework/connector/aio/operations_async and teams/operations):
- ``POST v3/conversations`` (create_conversation): ConversationParameters (``isGroup``,
  ``members``, ``bot``, ``activity``, ``channelData``; the tenant from ``channelData.tenant.id``,
  ``tenantId`` or botbuilder's own ``tenantID``). A 1:1 gives the same id every time for a
  (tenant, user) pair, like Teams; with ``channelData.channel.id`` and an activity it starts a
  thread in a channel (``<channel>;messageid=<activity id>``). Answer
  ``{"id", "activityId", "serviceUrl"}``.
- ``POST v3/conversations/{id}/activities`` (send_to_conversation), ``POST
  v3/conversations/{id}/activities/{activityId}`` (reply_to_activity), ``PUT`` the same path
  (update_activity), ``DELETE`` it (delete_activity): answer ``{"id": ...}`` (DELETE: empty).
- ``GET v3/conversations/{id}/members``, ``.../pagedmembers?pageSize=&continuationToken=``,
  ``.../members/{memberId}`` (the 29: id or the AAD object id): TeamsChannelAccount JSON
  (``id, name, givenName, surname, aadObjectId, email, userPrincipalName, tenantId,
  userRole``). The bot is not in a roster.
- ``GET v3/teams/{teamId}/conversations`` (``{"conversations": [{"id", "name"}]}``; the General
  channel, whose id is the team id, has no name, as in Teams) and ``GET v3/teams/{teamId}``
  (``{"id", "name", "aadGroupId", "channelCount", "memberCount", "type"}``).

Errors are Bot Framework shaped, ``{"error": {"code": ..., "message": ...}}``, which the client
turns into ``ErrorResponseException`` (see tests/test_fake_connector.py for how to read the
status). What Teams checks and a bot could get wrong is checked: a body that is not JSON (400
BadSyntax), an activity without ``type`` (400), an Adaptive Card attachment whose content lacks
``type: AdaptiveCard`` or a ``version`` (400), an unknown conversation (404
ConversationNotFound), member (404 MemberNotFoundInConversation), activity to update or delete
(404) or team (404), a 1:1 with a user who removed the app (``uninstall``: 403 Forbidden), a
create_conversation without a tenant (400). ``require_token="..."`` makes every call without
``Authorization: Bearer <that token>`` a 401, like the real service.

Everything is recorded: ``calls`` (every request: ``kind``, method, path, query, json, headers,
status, response), ``rejected`` (the calls answered with an error), ``activities``
(conversation id -> ``Posted`` list), ``updates``, ``deletes``, ``created`` (create_conversation
bodies). ``fail_next`` injects errors (429 with Retry-After, 412, 502, 504, 403, 404...) by
operation kind (``POST_ACTIVITY``: send or reply), path pattern, or for any call. Mind that
msrest retries GET/PUT/DELETE on 5xx by itself (see tests/test_fake_connector.py), so one
injected 502 on those is invisible to the caller.
"""

from __future__ import annotations

from tests.fake_connector.loopback import LoopbackServer
from tests.fake_connector.protocol import cards_in
from tests.fake_connector.records import (
    ADAPTIVE_CARD,
    BOT_ID,
    BOT_NAME,
    CREATE_CONVERSATION,
    DEFAULT_TENANT,
    DELETE_ACTIVITY,
    GET_MEMBER,
    GET_MEMBERS,
    GET_PAGED_MEMBERS,
    GET_TEAM_CHANNELS,
    GET_TEAM_DETAILS,
    POST_ACTIVITY,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    UPDATE_ACTIVITY,
    Call,
)
from tests.fake_connector.server import FakeConnector

__all__ = [
    "ADAPTIVE_CARD",
    "BOT_ID",
    "BOT_NAME",
    "CREATE_CONVERSATION",
    "DEFAULT_TENANT",
    "DELETE_ACTIVITY",
    "GET_MEMBER",
    "GET_MEMBERS",
    "GET_PAGED_MEMBERS",
    "GET_TEAM_CHANNELS",
    "GET_TEAM_DETAILS",
    "POST_ACTIVITY",
    "REPLY_TO_ACTIVITY",
    "SEND_TO_CONVERSATION",
    "UPDATE_ACTIVITY",
    "Call",
    "FakeConnector",
    "LoopbackServer",
    "cards_in",
]
