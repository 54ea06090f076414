"""FakeSlack's rate limits, as the real ``AsyncWebClient`` and its retry handler meet them."""

from __future__ import annotations

import time

from tests.fake_slack import FakeSlack
from tests.fake_slack_fixtures import ANA, CHANNEL, plain_client, slack_error


async def test_over_the_limit_slack_answers_429_with_retry_after(slack: FakeSlack) -> None:
    slack.rate_limit("chat.postMessage", per_minute=2)
    client = plain_client(slack)
    await client.chat_postMessage(channel=CHANNEL, text="1")
    await client.chat_postMessage(channel=CHANNEL, text="2")
    error = await slack_error(client.chat_postMessage(channel=CHANNEL, text="3"))
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    retry_after = int(error.response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert [c.retry_after for c in slack.rejected] == [retry_after]
    assert len(slack.calls_to("chat.postMessage")) == 2
    await client.users_info(user=ANA)  # other methods have their own budget

    slack.rate_limit(None, per_minute=1)  # a global limit, per workspace
    await client.auth_test()
    limited = await slack_error(client.team_info())
    assert limited.response.status_code == 429


async def test_a_per_channel_limit_counts_each_channel_apart(slack: FakeSlack) -> None:
    slack.add_channel("C0SECOND")
    slack.rate_limit("chat.postMessage", per_minute=1, per_channel=True)
    client = plain_client(slack)
    await client.chat_postMessage(channel=CHANNEL, text="a")
    await client.chat_postMessage(channel="C0SECOND", text="b")
    error = await slack_error(client.chat_postMessage(channel=CHANNEL, text="c"))
    assert error.response.status_code == 429


async def test_the_retry_handler_waits_out_the_limit_and_succeeds(slack: FakeSlack) -> None:
    slack.rate_limit("chat.postMessage", per_minute=1, window_seconds=1)
    client = slack.client()  # with AsyncRateLimitErrorRetryHandler
    started = time.monotonic()
    await client.chat_postMessage(channel=CHANNEL, text="first")
    await client.chat_postMessage(channel=CHANNEL, text="second")
    assert time.monotonic() - started >= 1.0

    (rejected,) = slack.rejected
    _, second = slack.calls_to("chat.postMessage")
    assert rejected.status == 429 and rejected.retry_after == 1
    assert second.at - rejected.at >= 1.0  # the client honoured Retry-After
    assert [m.text for m in slack.messages_in(CHANNEL)] == ["first", "second"]


async def test_fail_next_forces_one_429_then_lets_the_retry_through(slack: FakeSlack) -> None:
    slack.fail_next("conversations.open", status=429, retry_after=1)
    opened = await slack.client().conversations_open(users=ANA)
    assert opened["channel"]["id"] == slack.dm_id(ANA)
    (rejected,) = slack.rejected_calls_to("conversations.open")
    (accepted,) = slack.calls_to("conversations.open")
    assert accepted.at - rejected.at >= 1.0

    slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    forced = await slack_error(slack.client().chat_postMessage(channel=CHANNEL, text="x"))
    assert forced.response["error"] == "channel_not_found"
