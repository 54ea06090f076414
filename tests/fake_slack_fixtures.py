"""The fake Slack as its own tests use it: three people in one channel, a client that does not
retry.

A pytest plugin (tests/conftest.py lists it) for the ``slack`` fixture; a module that defines
its own ``slack`` uses that one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import FakeSlack

ANA, BEN, CHLOE = "U0ANA00001", "U0BEN00001", "U0CHLOE001"

CHANNEL = "C0PARTNERS"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ANA, "ana", tz="America/Toronto", locale="fr-CA")
        fake.add_user(BEN, "ben", tz="Europe/Paris", locale="fr-FR")
        fake.add_user(CHLOE, "chloe", tz="America/Vancouver", locale="en-US")
        fake.add_channel(CHANNEL, "partners", members=[ANA, BEN, CHLOE])
        yield fake


def plain_client(slack: FakeSlack, token: str | None = None) -> AsyncWebClient:
    """A client that does not retry, to see the raw answers."""
    return AsyncWebClient(token=token or slack.bot_token, base_url=slack.api_url, retry_handlers=[])


async def slack_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        await call
    return raised.value
