"""The baselines: Bolt apps that ack and do nothing else, mounted the way Passerelle's is (a
signed POST /slack/events turned into a Bolt request, the Bolt response into an aiohttp one)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import OPEN_FORM_ACTION
from adapters.slack.replies import CALLBACK_ID
from adapters.slack.routes import EVENTS_PATH
from bench.harness.remote_slack import Slack
from tests.slack_signing import SIGNING_SECRET

BARE, INLINE = "bare bolt", "bare inline"


def bare_app(slack: Slack, *, inline: bool = False) -> web.Application:
    """A Bolt app that acks and does nothing else, mounted like Passerelle's: with Bolt's
    default (its runner polls for the ack every 10 ms) or, ``inline``, with
    process_before_response=True, as Passerelle runs its listeners."""
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        process_before_response=inline,
    )

    async def only_ack(ack: Any) -> None:
        await ack()

    bolt.view(CALLBACK_ID)(only_ack)
    bolt.action(OPEN_FORM_ACTION)(only_ack)

    async def events(request: web.Request) -> web.StreamResponse:
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    app = web.Application()
    app.router.add_post(EVENTS_PATH, events)
    return app
