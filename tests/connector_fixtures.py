"""The fake connector as the Teams infrastructure tests use it: a team of four, a card, clients.

A pytest plugin (tests/conftest.py lists it): the ``connector`` fixture is everyone's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from msrest.exceptions import HttpOperationError

from tests.fake_connector import (
    ADAPTIVE_CARD,
    FakeConnector,
)

TENANT = "tenant-0000-passerelle"

APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"

ANA, BEN, CHLOE, DAVID = "29:1ana", "29:1ben", "29:1chloe", "29:1david"

TEAM = "19:partners@thread.tacv2"

PLANNING = "19:planning@thread.tacv2"


def card(text: str = "How was the week?", version: str | None = "1.5") -> dict[str, Any]:
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "body": [
            {"type": "TextBlock", "text": text, "wrap": True},
            {
                "type": "Input.ChoiceSet",
                "id": "score",
                "style": "expanded",
                "choices": [{"title": str(i), "value": str(i)} for i in range(1, 6)],
            },
        ],
        "actions": [{"type": "Action.Submit", "title": "Send", "data": {"form": "checkin"}}],
    }
    if version is not None:
        content["version"] = version
    return content


def message(text: str, *attachments: dict[str, Any]) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        text=text,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=a) for a in attachments],
    )


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector(tenant=TENANT) as fake:
        fake.add_user(ANA, "Ana Tremblay", aad_object_id="aad-ana", email="ana@example.org")
        fake.add_user(BEN, "Ben Roy", aad_object_id="aad-ben")
        fake.add_user(CHLOE, "Chloé Martin", aad_object_id="aad-chloe", user_role="anonymous")
        fake.add_user(DAVID, "David Côté", aad_object_id="aad-david")
        fake.add_team(
            TEAM,
            "Partners",
            channels=[(PLANNING, "Planning")],
            members=[ANA, BEN, CHLOE, DAVID],
            aad_group_id="group-partners",
        )
        yield fake


def client(connector: FakeConnector, credentials: Any = None) -> ConnectorClient:
    return ConnectorClient(credentials or MicrosoftAppCredentials.empty(), connector.service_url)


def personal(user_id: str, activity: Activity | None = None) -> ConversationParameters:
    return ConversationParameters(
        is_group=False,
        members=[ChannelAccount(id=user_id)],
        channel_data={"tenant": {"id": TENANT}},
        tenant_id=TENANT,
        activity=activity,
    )


async def raised(call: Any, kind: type[Exception] = HttpOperationError) -> Any:
    with pytest.raises(kind) as caught:
        await call
    return caught.value
