"""The signing helpers (tests/slack_signing.py) against ``SignatureVerifier`` and a real Bolt app:
signed requests, built payloads, an OAuth install through the fake authorize page, and the
ack of a view submission applied to the modal as Slack does."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.file import FileInstallationStore
from slack_sdk.oauth.state_store.file import FileOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import FakeSlack
from tests.fake_slack_fixtures import ANA, BEN, CHANNEL, CHLOE
from tests.slack_signing import (
    SIGNING_SECRET,
    TEAM_ID,
    action,
    block_actions,
    event_callback,
    interaction,
    member_joined_channel,
    new_trigger_id,
    post_signed,
    signed_headers,
    slash_command,
    url_verification,
    view_submission,
)


def test_signed_requests_pass_signature_verifier() -> None:
    verifier = SignatureVerifier(SIGNING_SECRET)
    bodies = [
        slash_command("bilan", ANA, CHANNEL, TEAM_ID, new_trigger_id()),
        interaction({"type": "block_actions", "actions": []}),
        event_callback(member_joined_channel(ANA, CHANNEL)),
        url_verification("challenge-1"),
    ]
    for body in bodies:
        headers = signed_headers(body, SIGNING_SECRET)
        assert verifier.is_valid_request(body, headers)
        assert verifier.is_valid(
            body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )
        assert not verifier.is_valid_request(body + b"x", headers)
        assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    stale = signed_headers(bodies[0], SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60)
    assert not verifier.is_valid_request(bodies[0], stale)
    assert signed_headers(bodies[2], SIGNING_SECRET)["Content-Type"] == "application/json"
    retried = signed_headers(bodies[2], SIGNING_SECRET, retry_num=1)
    assert retried["X-Slack-Retry-Num"] == "1"


def test_bolt_reads_the_built_payloads() -> None:
    command = AsyncBoltRequest(body=slash_command("bilan maintenant", ANA, CHANNEL).decode())
    assert command.body["command"] == "/passerelle" and command.body["text"] == "bilan maintenant"
    assert (command.context.team_id, command.context.user_id) == (TEAM_ID, ANA)
    assert command.context.channel_id == CHANNEL

    event = AsyncBoltRequest(body=event_callback(member_joined_channel(BEN, CHANNEL)).decode())
    assert (event.context.team_id, event.context.user_id) == (TEAM_ID, BEN)
    assert event.body["authorizations"][0]["is_bot"] is True

    view = {"type": "modal", "callback_id": "checkin", "private_metadata": "m", "blocks": []}
    submitted = AsyncBoltRequest(
        body=interaction(view_submission(view, user_id=CHLOE)).decode(),
        headers={"content-type": ["application/x-www-form-urlencoded"]},
    )
    assert submitted.body["view"]["callback_id"] == "checkin"
    assert (submitted.context.team_id, submitted.context.user_id) == (TEAM_ID, CHLOE)


def checkin_modal() -> dict[str, Any]:
    scale = [{"text": {"type": "plain_text", "text": str(n)}, "value": str(n)} for n in range(1, 6)]
    return {
        "type": "modal",
        "callback_id": "checkin",
        "private_metadata": json.dumps({"team": "demo"}),
        "title": {"type": "plain_text", "text": "Bilan"},
        "submit": {"type": "plain_text", "text": "Envoyer"},
        "blocks": [
            {
                "type": "input",
                "block_id": "trust",
                "label": {"type": "plain_text", "text": "Confiance"},
                "element": {"type": "radio_buttons", "action_id": "trust", "options": scale},
            },
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "note"},
            },
        ],
    }


async def test_a_real_bolt_app_round_trip(slack: FakeSlack) -> None:
    """Slash command -> views.open; view_submission -> chat.postMessage with a button;
    block_actions -> respond via response_url; all through signed HTTP to real Bolt."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=SIGNING_SECRET,
    )
    received: dict[str, Any] = {}

    @bolt.command("/passerelle")
    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=checkin_modal())

    @bolt.view("checkin")
    async def on_submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        received["values"] = view["state"]["values"]
        received["metadata"] = json.loads(view["private_metadata"])
        button = {
            "type": "button",
            "action_id": "thanks",
            "value": "ok",
            "text": {"type": "plain_text", "text": "OK"},
        }
        await client.chat_postMessage(
            channel=body["user"]["id"],
            text="Merci",
            blocks=[{"type": "actions", "block_id": "b", "elements": [button]}],
        )

    @bolt.action("thanks")
    async def on_thanks(ack: AsyncAck, respond: AsyncRespond, action: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"clicked {action['value']}")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    runner, base = await serve(events, "/slack/events")
    url = f"{base}/slack/events"
    try:
        async with aiohttp.ClientSession() as http:
            forged = await http.post(url, data=slash_command("bilan", ANA, CHANNEL))
            assert forged.status == 401  # unsigned: refused

            reply = await post_signed(url, slash_command("bilan", ANA, CHANNEL), session=http)
            assert reply.status == 200
            await slack.wait_for("views.open")
            modal = slack.last_view
            assert modal["callback_id"] == "checkin"

            submission = view_submission(modal, {"trust": "4"}, user_id=ANA)
            reply = await post_signed(url, interaction(submission), session=http)
            assert reply.status == 200
            await slack.wait_for("chat.postMessage")
            assert received["values"]["trust"]["trust"]["selected_option"]["value"] == "4"
            assert received["values"]["note"]["note"] == {"type": "plain_text_input", "value": None}
            assert received["metadata"] == {"team": "demo"}
            (message,) = slack.messages_to(ANA)

            click = block_actions(
                [action(message.blocks, "thanks")],
                user_id=ANA,
                channel_id=message.channel,
                message=message.to_dict(),
                response_url=slack.new_response_url(),
            )
            reply = await post_signed(url, interaction(click), session=http)
            assert reply.status == 200
            await slack.wait_for("response_url")
            assert slack.responses[0].body["text"] == "clicked ok"

            hello = await post_signed(url, url_verification("abc"), session=http)
            assert hello.json() == {"challenge": "abc"}
    finally:
        await runner.cleanup()


async def serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str
) -> tuple[web.AppRunner, str]:
    """Mount ``handler`` on a local aiohttp server; return (runner, base URL)."""
    app = web.Application()
    app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_bolt_oauth_install_through_the_fake_authorize_page(
    slack: FakeSlack, tmp_path: Path
) -> None:
    """/slack/install -> authorize_url -> /slack/oauth_redirect?code -> oauth.v2.access."""
    store = FileInstallationStore(base_dir=str(tmp_path / "installations"))
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(base_url=slack.api_url),
        oauth_settings=AsyncOAuthSettings(
            client_id=slack.client_id,
            client_secret=slack.client_secret,
            scopes=["commands", "chat:write"],
            installation_store=store,
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path)),
            authorization_url=slack.authorize_url,
            install_page_rendering_enabled=False,
        ),
    )
    flow = bolt.oauth_flow
    assert flow is not None

    async def handle(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        if request.path == flow.install_path:
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    runner, base = await serve(handle, "/slack/{tail:.*}")
    slack.oauth_redirect_uri = f"{base}/slack/oauth_redirect"
    try:
        async with aiohttp.ClientSession() as browser:
            install = await browser.get(f"{base}/slack/install", allow_redirects=False)
            assert install.status == 302
            # to_aiohttp_response marks the state cookie Secure: over plain http a client
            # drops it, so carry it by hand.
            state_cookie = install.headers["Set-Cookie"].split(";")[0]
            consent = await browser.get(install.headers["Location"], allow_redirects=False)
            assert consent.status == 302 and "code=" in consent.headers["Location"]
            done = await browser.get(consent.headers["Location"], headers={"Cookie": state_cookie})
            assert done.status == 200
    finally:
        await runner.cleanup()

    (visit,) = slack.calls_to("oauth/v2/authorize")
    assert visit.params["scope"] == "commands,chat:write"
    assert [c.method for c in slack.calls][1:] == ["oauth.v2.access", "auth.test"]
    installed = store.find_installation(enterprise_id=None, team_id="T0INSTALL1")
    assert installed is not None and installed.bot_id == "B0INSTBOT"
    assert installed.bot_scopes == ["chat:write", "commands"]
    assert installed.bot_token in slack.tokens


def test_state_values_refuse_what_slack_would_not_send() -> None:
    modal = checkin_modal()
    with pytest.raises(ValueError, match="required input"):
        view_submission(modal, {"note": "hello"}, user_id=ANA)
    with pytest.raises(ValueError, match="no option"):
        view_submission(modal, {"trust": "9"}, user_id=ANA)


MODAL = {
    "type": "modal",
    "callback_id": "form",
    "title": {"type": "plain_text", "text": "Form"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}],
}


async def test_a_submission_ack_is_applied_to_the_modal_as_slack_does(slack: FakeSlack) -> None:
    client = slack.client()
    shown = slack.add_view(MODAL)
    recording = {**MODAL, "callback_id": "recording"}
    slack.answer_submission(shown, {"response_action": "update", "view": recording})
    assert slack.views[shown["id"]]["callback_id"] == "recording"
    assert slack.views[shown["id"]]["hash"] != shown["hash"]  # an update moves the hash
    # The app's views.update comes after: it wins; a late ack does not undo it.
    await client.views_update(view_id=shown["id"], view={**MODAL, "callback_id": "reply"})
    slack.answer_submission(shown, {"response_action": "update", "view": recording})
    assert slack.views[shown["id"]]["callback_id"] == "reply"
    # Closed, the modal can no longer be updated.
    slack.close_view(shown["id"])
    with pytest.raises(SlackApiError) as refused:
        await client.views_update(view_id=shown["id"], view=MODAL)
    assert refused.value.response["error"] == "not_found"
    # An empty ack closes the modal too.
    other = slack.add_view(MODAL)
    slack.answer_submission(other, None)
    assert other["id"] in slack.closed_views
