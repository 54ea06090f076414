"""The Teams test infrastructure, checked against the real botframework-connector 4.17.1.

FakeConnector must answer botbuilder's own clients the way the Bot Framework connector does, and
bot_framework_tokens must produce tokens that a real ``CloudAdapter`` accepts, and refuses when
they are wrong in each way Teams' could be.

What the Teams adapter's sender must know (established by the tests below):

- ``CloudAdapter`` talks to the connector with ``botframework.connector.aio.ConnectorClient``
  (created by ``_ConnectorFactoryImpl``). It is msrest over **requests**, run in the default
  thread-pool executor (``AsyncRequestsHTTPSender``), not aiohttp. ``TeamsInfo.get_team_details``
  / ``get_team_channels`` use ``botframework.connector.teams.TeamsConnectorClient``, which is
  *synchronous* requests called on the event loop (it blocks the loop for the round trip).
- An error status raises ``botbuilder.schema.ErrorResponseException`` (re-exported as
  ``botframework.connector.models.ErrorResponseException``), a subclass of
  ``msrest.exceptions.HttpOperationError``, for create/send/reply/update/delete/members/member.
  ``get_conversation_paged_members``, ``get_teams_conversation_paged_members`` and the Teams
  extension operations raise a plain ``HttpOperationError``. Catch ``HttpOperationError``:
  ``exc.response`` is the ``requests.Response`` (msrest unwraps ``internal_response``), so the
  status is ``exc.response.status_code`` and the header ``exc.response.headers["Retry-After"]``
  (a string of seconds, case-insensitive lookup); for ``ErrorResponseException``
  ``exc.error.error.code`` / ``.message`` hold the Bot Framework error body (``exc.error`` is an
  ``ErrorResponse`` model), and ``str(exc)`` is ``"(<code>) <message>"``. A connection failure
  is ``msrest.exceptions.ClientRequestError`` instead (no response).
- msrest retries by itself (urllib3 ``Retry``, 3 retries, backoff 0.8): GET/PUT/DELETE only
  (never POST: send, reply, create), on 408 and 5xx but 501/505, and on 413/429/503 *with*
  ``Retry-After`` (slept in the executor thread; in the caller's thread for the sync Teams
  client). Exhausted retries give ``ClientRequestError`` (``.inner_exception`` a
  ``requests.exceptions.RetryError``), not ``HttpOperationError``.
- A proactive ``send_activity`` (inside ``continue_conversation``) is a ``reply_to_activity`` to
  a made-up uuid1 activity id, not a ``send_to_conversation``; an answer to an inbound message is
  a reply to the inbound id.
- ``ConversationParameters.tenant_id`` is serialised as ``tenantID``; the tenant Teams reads is
  ``channelData.tenant.id``, so set both.
- ``ConnectorClient`` with ``MicrosoftAppCredentials.empty()`` sends no ``Authorization`` header
  at all (``AppCredentials._should_set_token`` is false for an empty app id).
"""

from __future__ import annotations

import aiohttp
import pytest
from botbuilder.schema import (
    Activity,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    ErrorResponseException,
)
from botbuilder.schema.teams import TeamsChannelAccount
from botframework.connector.auth import MicrosoftAppCredentials
from botframework.connector.teams import TeamsConnectorClient
from msrest.exceptions import HttpOperationError

from tests.connector_fixtures import (
    ANA,
    BEN,
    CHLOE,
    DAVID,
    PLANNING,
    TEAM,
    TENANT,
    card,
    client,
    message,
    personal,
    raised,
)
from tests.fake_connector import (
    ADAPTIVE_CARD,
    CREATE_CONVERSATION,
    GET_PAGED_MEMBERS,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    UPDATE_ACTIVITY,
    FakeConnector,
    cards_in,
)

pytestmark = pytest.mark.usefixtures("loopback_only")


async def test_service_url_is_loopback_with_a_path(connector: FakeConnector) -> None:
    assert connector.service_url.startswith("http://127.0.0.1:")
    assert connector.service_url.endswith("/amer/")


async def test_personal_conversation_is_stable_per_user(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    first = await conversations.create_conversation(personal(ANA))
    again = await conversations.create_conversation(personal(ANA))
    other = await conversations.create_conversation(personal(BEN))
    assert first.id == again.id == connector.personal_conversation_id(ANA)
    assert other.id != first.id
    assert first.service_url == connector.service_url
    call = connector.calls_of(CREATE_CONVERSATION)[0]
    assert (call.method, call.path, call.status) == ("POST", "/v3/conversations", 201)
    # botbuilder's ConversationParameters says "tenantID"; Teams reads channelData.tenant.id.
    assert call.json["tenantID"] == TENANT and call.json["channelData"]["tenant"]["id"] == TENANT
    assert call.json["members"] == [{"id": ANA}]
    assert call.authorization is None and call.token is None  # empty credentials: no header


async def test_create_conversation_with_activity_posts_it(connector: FakeConnector) -> None:
    created = await client(connector).conversations.create_conversation(
        personal(BEN, message("Bonjour", card()))
    )
    assert created.activity_id
    [posted] = connector.messages_to(created.id)
    assert posted["id"] == created.activity_id and posted["text"] == "Bonjour"


async def test_create_conversation_refuses_what_teams_refuses(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    no_tenant = ConversationParameters(is_group=False, members=[ChannelAccount(id=ANA)])
    error = await raised(conversations.create_conversation(no_tenant), ErrorResponseException)
    assert error.response.status_code == 400
    error = await raised(conversations.create_conversation(personal("29:1nobody")))
    assert error.response.status_code == 404
    connector.uninstall(DAVID)
    error = await raised(conversations.create_conversation(personal(DAVID)))
    assert error.response.status_code == 403 and error.error.error.code == "Forbidden"


async def test_send_reply_update_delete_with_an_adaptive_card(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(ANA)

    sent = await conversations.send_to_conversation(conversation_id, message("Check-in", card()))
    reply = await conversations.reply_to_activity(
        conversation_id, "1700000000000", message("Thanks")
    )
    assert sent.id and reply.id and int(reply.id) > int(sent.id)

    [first, second] = connector.messages_to(conversation_id)
    assert cards_in(first) == [card()] and connector.cards_in(second) == []
    assert first["attachments"][0]["contentType"] == ADAPTIVE_CARD
    [send_post, reply_post] = connector.posted(conversation_id)
    assert (send_post.kind, reply_post.kind) == (SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY)
    assert reply_post.reply_to_id == "1700000000000"
    [reply_call] = connector.calls_of(REPLY_TO_ACTIVITY)
    assert reply_call.path == f"/v3/conversations/{conversation_id}/activities/1700000000000"

    both = message("Check-in (closed)", card("Closed"))  # text and a card: two messages
    error = await raised(conversations.update_activity(conversation_id, sent.id, both))
    assert error.response.status_code == 400
    updated = message("", card("Closed"))
    updated.id = sent.id
    answer = await conversations.update_activity(conversation_id, sent.id, updated)
    assert answer.id == sent.id
    assert connector.cards_to(conversation_id)[0]["body"][0]["text"] == "Closed"
    assert [u.activity_id for u in connector.updates] == [sent.id]
    assert connector.calls_of(UPDATE_ACTIVITY)[0].method == "PUT"

    await conversations.delete_activity(conversation_id, reply.id)
    assert [m["id"] for m in connector.messages_to(conversation_id)] == [sent.id]
    assert connector.deletes == [(conversation_id, reply.id)]
    error = await raised(conversations.update_activity(conversation_id, reply.id, updated))
    assert error.response.status_code == 404


async def test_invalid_activities_are_refused(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(ANA)
    for bad in (
        message("no version", card(version=None)),
        Activity(
            type="message",
            attachments=[Attachment(content_type=ADAPTIVE_CARD, content={"version": "1.5"})],
        ),
        Activity(text="no type"),
    ):
        error = await raised(conversations.send_to_conversation(conversation_id, bad))
        assert isinstance(error, ErrorResponseException)
        assert error.response.status_code == 400 and error.error.error.code == "BadArgument"
    error = await raised(conversations.send_to_conversation("a:unknown", message("hi")))
    assert error.response.status_code == 404
    assert error.error.error.code == "ConversationNotFound"
    assert connector.messages_to(conversation_id) == []
    assert [c.status for c in connector.rejected] == [400, 400, 400, 404]


async def test_a_body_that_is_not_json_is_a_400(connector: FakeConnector) -> None:
    url = f"{connector.service_url}v3/conversations/{TEAM}/activities"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=b"type=message", headers={"Content-Type": "text/plain"}) as r,
    ):
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "BadSyntax"


async def test_members_member_and_paged_members(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    members = await conversations.get_conversation_members(TEAM)
    # The operation deserialises ChannelAccount; TeamsInfo re-reads additional_properties.
    accounts = [
        TeamsChannelAccount().deserialize(dict(m.serialize(), **m.additional_properties))
        for m in members
    ]
    assert [a.id for a in accounts] == [ANA, BEN, CHLOE, DAVID]
    ana = accounts[0]
    assert (ana.aad_object_id, ana.email, ana.tenant_id) == ("aad-ana", "ana@example.org", TENANT)
    assert ana.user_principal_name and ana.user_role == "user"
    assert accounts[2].user_role == "anonymous"

    by_aad = await conversations.get_conversation_member(TEAM, "aad-ben")
    assert by_aad.id == BEN and by_aad.name == "Ben Roy"
    error = await raised(conversations.get_conversation_member(TEAM, "29:1stranger"))
    assert error.response.status_code == 404
    assert error.error.error.code == "MemberNotFoundInConversation"

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await conversations.get_teams_conversation_paged_members(PLANNING, 3, token)
        seen += [m.id for m in page.members]
        pages += 1
        token = page.continuation_token
        if not token:
            break
    assert seen == [ANA, BEN, CHLOE, DAVID] and pages == 2
    assert page.members[0].aad_object_id == "aad-david"
    queries = [c.query for c in connector.calls_of(GET_PAGED_MEMBERS)]
    assert queries[0] == {"pageSize": "3"} and "continuationToken" in queries[1]


async def test_team_channels_and_details_with_the_sync_teams_client(
    connector: FakeConnector,
) -> None:
    # TeamsInfo builds this synchronous client and calls it on the event loop: the fake
    # answers from its own thread, so this does not deadlock.
    teams = TeamsConnectorClient(MicrosoftAppCredentials.empty(), connector.service_url).teams
    channels = teams.get_teams_channels(TEAM).conversations
    assert [(c.id, c.name) for c in channels] == [(TEAM, None), (PLANNING, "Planning")]
    details = teams.get_team_details(TEAM)
    assert (details.id, details.name, details.aad_group_id) == (TEAM, "Partners", "group-partners")
    assert (details.channel_count, details.member_count) == (2, 4)
    with pytest.raises(HttpOperationError) as caught:
        teams.get_team_details("19:unknown@thread.tacv2")
    assert caught.value.response.status_code == 404


async def test_channel_thread_via_create_conversation(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    params = ConversationParameters(
        is_group=True,
        channel_data={"channel": {"id": PLANNING}, "tenant": {"id": TENANT}},
        activity=message("Round 3 is open", card()),
    )
    created = await conversations.create_conversation(params)
    assert created.id == f"{PLANNING};messageid={created.activity_id}"
    await conversations.reply_to_activity(created.id, created.activity_id, message("Reminder"))
    assert [m.get("text") for m in connector.messages_to(PLANNING)] == [
        "Round 3 is open",
        "Reminder",
    ]
    assert connector.messages_to(TEAM) == []
