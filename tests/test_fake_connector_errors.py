"""The fake connector's errors as botbuilder's clients see them: 429 with Retry-After, injected
statuses, msrest's own retries on GET/PUT/DELETE, a removed app, a required token (the
exceptions to catch: tests/test_fake_connector.py)."""

from __future__ import annotations

import pytest
import requests
from botbuilder.schema import (
    ErrorResponseException,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from tests.bot_framework_tokens import (
    TEST_OUTBOUND_TOKEN,
    FixedTokenCredentials,
)
from tests.connector_fixtures import (
    ANA,
    APP_ID,
    BEN,
    CHLOE,
    TEAM,
    TENANT,
    client,
    message,
    personal,
    raised,
)
from tests.fake_connector import (
    GET_MEMBERS,
    GET_PAGED_MEMBERS,
    SEND_TO_CONVERSATION,
    FakeConnector,
)

pytestmark = pytest.mark.usefixtures("loopback_only")


async def test_429_with_retry_after_then_success(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(ANA)
    connector.fail_next(SEND_TO_CONVERSATION, 429, retry_after=7)
    error = await raised(conversations.send_to_conversation(conversation_id, message("hi")))
    assert isinstance(error, ErrorResponseException)
    assert error.response.status_code == 429
    assert error.response.headers["retry-after"] == "7"
    assert error.error.error.code == "TooManyRequests"
    assert str(error).startswith("(TooManyRequests)")
    sent = await conversations.send_to_conversation(conversation_id, message("hi"))
    assert [m["id"] for m in connector.messages_to(conversation_id)] == [sent.id]
    assert [c.retry_after for c in connector.rejected] == [7]


async def test_injected_errors_by_path_and_status(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(BEN)
    sent = await conversations.send_to_conversation(conversation_id, message("v1"))
    connector.fail_next("/v3/conversations/*/activities/*", 412, times=2)
    connector.fail_next(SEND_TO_CONVERSATION, 502)
    connector.fail_next(GET_PAGED_MEMBERS, 429)
    for _ in range(2):
        error = await raised(conversations.update_activity(conversation_id, sent.id, message("x")))
        assert error.response.status_code == 412
    # a POST is never retried by msrest: the 502 surfaces at once
    error = await raised(conversations.send_to_conversation(conversation_id, message("v2")))
    assert isinstance(error, ErrorResponseException) and error.response.status_code == 502
    # paged members raises the plain HttpOperationError, not ErrorResponseException
    error = await raised(conversations.get_conversation_paged_members(TEAM))
    assert type(error) is HttpOperationError and error.response.status_code == 429
    assert "Retry-After" not in error.response.headers
    assert [c.status for c in connector.rejected] == [412, 412, 502, 429]
    assert len(connector.messages_to(conversation_id)) == 1


async def test_msrest_retries_5xx_on_get_put_delete_by_itself(connector: FakeConnector) -> None:
    """msrest's ClientRetryPolicy (a urllib3 Retry: 3 retries, backoff factor 0.8) retries 408
    and 5xx except 501/505, and 413/429/503 that carry Retry-After (sleeping that long, in the
    executor thread), for GET/PUT/DELETE only: urllib3 2 ignores the ``method_whitelist`` msrest
    sets, so its default methods apply and POST (send, reply, create) is never retried. When
    retries run out the error is ``msrest.exceptions.ClientRequestError``, with no response."""
    conversations = client(connector).conversations
    connector.fail_next(GET_MEMBERS, 504)
    members = await conversations.get_conversation_members(TEAM)
    assert members[0].id == ANA
    assert [c.status for c in connector.calls_of(GET_MEMBERS)] == [504, 200]

    # a 429 (or 413, 503) *with* Retry-After is retried too, after sleeping that long
    connector.fail_next(GET_MEMBERS, 429, retry_after=1)
    await conversations.get_conversation_members(TEAM)
    assert [c.status for c in connector.calls_of(GET_MEMBERS)][-2:] == [429, 200]

    connector.fail_next(GET_MEMBERS, 503, times=4, retry_after=1)
    error = await raised(conversations.get_conversation_members(TEAM), ClientRequestError)
    assert not isinstance(error, HttpOperationError)
    assert isinstance(error.inner_exception, requests.exceptions.RetryError)
    assert [c.status for c in connector.calls_of(GET_MEMBERS)] == [
        504,
        200,
        429,
        200,
        503,
        503,
        503,
        503,
    ]


async def test_a_user_who_removed_the_app_gives_403(connector: FakeConnector) -> None:
    conversations = client(connector).conversations
    conversation_id = connector.personal_conversation_id(CHLOE)
    connector.uninstall(CHLOE)
    error = await raised(conversations.send_to_conversation(conversation_id, message("hi")))
    assert isinstance(error, ErrorResponseException)
    assert error.response.status_code == 403
    assert error.response.json() == {
        "error": {"code": "Forbidden", "message": "The bot is not part of the conversation roster."}
    }


async def test_required_token_is_checked() -> None:
    async with FakeConnector(require_token=TEST_OUTBOUND_TOKEN, tenant=TENANT) as connector:
        connector.add_user(ANA, "Ana")
        anonymous = client(connector).conversations
        error = await raised(anonymous.create_conversation(personal(ANA)))
        assert error.response.status_code == 401
        signed = client(connector, FixedTokenCredentials(APP_ID, TEST_OUTBOUND_TOKEN))
        created = await signed.conversations.create_conversation(personal(ANA))
        assert created.id == connector.personal_conversation_id(ANA)
        assert [c.token for c in connector.calls] == [None, TEST_OUTBOUND_TOKEN]
