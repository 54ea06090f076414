"""The Slack test infrastructure, checked against the real slack_sdk and slack_bolt.

FakeSlack must answer the real ``AsyncWebClient`` the way Slack does (bodies, errors, 429s that
``AsyncRateLimitErrorRetryHandler`` honours), and the signing helpers must produce requests
that ``SignatureVerifier`` and a real Bolt app accept and route."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.file import FileInstallationStore
from slack_sdk.oauth.state_store.file import FileOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import UPLOAD, FakeSlack
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


# --- Web API -------------------------------------------------------------------------------


async def test_auth_test_names_the_bot(slack: FakeSlack) -> None:
    assert slack.api_url.startswith("http://127.0.0.1:") and slack.api_url.endswith("/api/")
    me = await slack.client().auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == (TEAM_ID, slack.bot_user_id, "B0PASSBOT")
    assert me["url"] == "https://passerelle-test.slack.com/"
    call = slack.calls_to("auth.test")[0]
    assert call.token == slack.bot_token and call.ok


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_and_update_a_message(slack: FakeSlack) -> None:
    client = slack.client()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Bilan*"}}]
    posted = await client.chat_postMessage(channel=CHANNEL, text="Bilan", blocks=blocks)
    assert posted["channel"] == CHANNEL and posted["ts"] == posted["message"]["ts"]
    assert posted["message"]["bot_id"] == slack.bot_id

    call = slack.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks  # JSON body, as slack_sdk sends it
    assert call.token == slack.bot_token

    updated = await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="Merci")
    assert updated["text"] == "Merci"
    (message,) = slack.messages_in(CHANNEL)
    assert (message.text, message.edits) == ("Merci", 1)

    second = await client.chat_postMessage(channel=CHANNEL, text="again")
    assert float(second["ts"]) > float(posted["ts"])  # ts are unique and ordered

    errors = [
        await slack_error(client.chat_postMessage(channel="C0NOWHERE", text="x")),
        await slack_error(client.chat_postMessage(channel=CHANNEL)),
        await slack_error(client.chat_update(channel=CHANNEL, ts="1.000001", text="x")),
    ]
    assert [e.response["error"] for e in errors] == [
        "channel_not_found",
        "no_text",
        "message_not_found",
    ]


async def test_invalid_blocks_are_refused_with_slacks_messages(slack: FakeSlack) -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    error = await slack_error(
        slack.client().chat_postMessage(channel=CHANNEL, text="t", blocks=[header])
    )
    assert error.response["error"] == "invalid_blocks"
    assert (
        "[json-pointer:/blocks/0/text/text]" in error.response["response_metadata"]["messages"][0]
    )


async def test_channel_membership_is_enforced(slack: FakeSlack) -> None:
    slack.add_channel("C0OUTSIDE", members=[ANA], bot_member=False)
    slack.add_channel("G0PRIVATE", members=[ANA], is_private=True, bot_member=False)
    client = slack.client()
    outside = await slack_error(client.chat_postMessage(channel="C0OUTSIDE", text="x"))
    private = await slack_error(client.conversations_info(channel="G0PRIVATE"))
    ephemeral = await slack_error(
        client.chat_postEphemeral(channel=CHANNEL, user=slack.bot_user_id + "X", text="x")
    )
    assert outside.response["error"] == "not_in_channel"
    assert private.response["error"] == "channel_not_found"
    assert ephemeral.response["error"] == "user_not_found"

    sent = await client.chat_postEphemeral(channel=CHANNEL, user=BEN, text="only you")
    assert sent["message_ts"]
    assert [m.text for m in slack.ephemerals_for(BEN)] == ["only you"]
    assert slack.messages_in(CHANNEL) == []


async def test_a_dm_has_one_stable_id_per_user(slack: FakeSlack) -> None:
    client = slack.client()
    first = await client.conversations_open(users=ANA)
    again = await client.conversations_open(users=[ANA])
    other = await client.conversations_open(users=BEN)
    dm = first["channel"]["id"]
    assert dm.startswith("D") and again["channel"]["id"] == dm == slack.dm_id(ANA)
    assert again["already_open"] is True and "already_open" not in first.data
    assert other["channel"]["id"] != dm

    # Posting to a user id lands in the DM; chat.update then needs the D… id, as on Slack.
    posted = await client.chat_postMessage(channel=ANA, text="Bonjour")
    assert posted["channel"] == dm
    assert [m.text for m in slack.messages_to(ANA)] == ["Bonjour"]
    error = await slack_error(client.chat_update(channel=ANA, ts=posted["ts"], text="x"))
    assert error.response["error"] == "channel_not_found"

    info = await client.conversations_info(channel=dm)
    assert info["channel"]["is_im"] is True and info["channel"]["user"] == ANA
    unknown = await slack_error(client.conversations_open(users="U0NOBODY"))
    assert unknown.response["error"] == "user_not_found"


async def test_conversations_members_pages_by_cursor(slack: FakeSlack) -> None:
    people = [f"U0M{n:07d}" for n in range(230)]
    for person in people:
        slack.add_user(person)
    slack.add_channel("C0BIG", "big", members=people)
    client = slack.client()

    seen: list[str] = []
    pages = 0
    async for page in await client.conversations_members(channel="C0BIG", limit=100):
        pages += 1
        seen += page["members"]
    assert pages == 3 and seen == [*people, slack.bot_user_id]  # the bot is a member too

    calls = slack.calls_to("conversations.members")
    assert [c.http_method for c in calls] == ["GET"] * 3
    assert "cursor" not in calls[0].params and calls[1].params["cursor"]
    last = calls[-1].response
    assert last["response_metadata"]["next_cursor"] == ""

    bad = await slack_error(client.conversations_members(channel="C0BIG", cursor="nope!"))
    assert bad.response["error"] == "invalid_cursor"


async def test_users_info_gives_time_zone_and_locale_on_request(slack: FakeSlack) -> None:
    client = slack.client()
    without = (await client.users_info(user=BEN))["user"]
    with_locale = (await client.users_info(user=BEN, include_locale=True))["user"]
    assert without["tz"] == "Europe/Paris" and without["tz_offset"] in (3600, 7200)
    assert "locale" not in without  # Slack gives it only with include_locale
    assert with_locale["locale"] == "fr-FR"
    vancouver = (await client.users_info(user=CHLOE))["user"]
    assert vancouver["tz_offset"] in (-8 * 3600, -7 * 3600) and vancouver["is_bot"] is False
    bot = (await client.users_info(user=slack.bot_user_id))["user"]
    assert bot["is_bot"] is True
    missing = await slack_error(client.users_info(user="U0NOBODY"))
    assert missing.response["error"] == "user_not_found"


async def test_team_info(slack: FakeSlack) -> None:
    team = (await slack.client().team_info())["team"]
    assert (team["id"], team["name"], team["domain"]) == (
        TEAM_ID,
        "Passerelle Test",
        "passerelle-test",
    )


async def test_views_publish_open_update_and_triggers(slack: FakeSlack) -> None:
    client = slack.client()
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    first = await client.views_publish(user_id=ANA, view=home)
    again = await client.views_publish(user_id=ANA, view=home)
    assert first["view"]["id"] == again["view"]["id"] == slack.home_views[ANA]["id"]
    assert slack.calls_to("views.publish")[0].params["view"] == home

    modal = {
        "type": "modal",
        "callback_id": "checkin",
        "private_metadata": json.dumps({"team": "demo"}),
        "title": {"type": "plain_text", "text": "Bilan"},
        "submit": {"type": "plain_text", "text": "Envoyer"},
        "blocks": [],
    }
    trigger = new_trigger_id()
    opened = (await client.views_open(trigger_id=trigger, view=modal))["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "checkin"
    assert slack.views[opened["id"]]["private_metadata"] == modal["private_metadata"]

    reused = await slack_error(client.views_open(trigger_id=trigger, view=modal))
    stale = await slack_error(
        client.views_open(trigger_id=new_trigger_id(time.time() - 4), view=modal)
    )
    made_up = await slack_error(client.views_open(trigger_id="12345", view=modal))
    long_title = modal | {"title": {"type": "plain_text", "text": "x" * 25}}
    too_long = await slack_error(client.views_open(trigger_id=new_trigger_id(), view=long_title))
    assert [e.response["error"] for e in (reused, stale, made_up, too_long)] == [
        "trigger_exchanged",
        "expired_trigger_id",
        "invalid_trigger_id",
        "invalid_arguments",
    ]
    assert "/view/title/text" in too_long.response["response_metadata"]["messages"][0]

    changed = modal | {"title": {"type": "plain_text", "text": "Merci"}}
    updated = await client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    assert updated["view"]["id"] == opened["id"] and updated["view"]["title"]["text"] == "Merci"
    conflict = await slack_error(
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    )
    assert conflict.response["error"] == "hash_conflict"


async def test_files_upload_v2_end_to_end(slack: FakeSlack) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    result = await slack.client().files_upload_v2(
        channel=CHANNEL,
        content=png,
        filename="summary.png",
        title="Sommaire",
        initial_comment="Le sommaire de la ronde",
    )
    file_id = result["file"]["id"]
    assert result["file"]["title"] == "Sommaire" and result["file"]["channels"] == [CHANNEL]
    assert slack.files[file_id].content == png

    sequence = [c.method for c in slack.calls]
    assert sequence == ["files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"]
    get_url, upload, complete = slack.calls
    assert get_url.params["length"] == str(len(png)) and get_url.params["filename"] == "summary.png"
    assert upload.token is None and upload.params["length"] == len(png)
    assert json.loads(complete.params["files"]) == [{"id": file_id, "title": "Sommaire"}]
    (message,) = slack.messages_in(CHANNEL)
    assert message.files == [file_id] and message.text == "Le sommaire de la ronde"


# slack_sdk 3.47 still passes aiohttp.BasicAuth, deprecated since aiohttp 3.14.
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_v2_access_installs_a_workspace(slack: FakeSlack) -> None:
    payload = slack.register_oauth_code(
        "code-1", team_id="T0OTHER01", team_name="Autre équipe", bot_token="xoxb-other-1"
    )
    anonymous = AsyncWebClient(base_url=slack.api_url)
    wrong = await slack_error(
        anonymous.oauth_v2_access(client_id=slack.client_id, client_secret="nope", code="code-1")
    )
    assert wrong.response["error"] == "bad_client_secret"

    granted = await anonymous.oauth_v2_access(
        client_id=slack.client_id, client_secret=slack.client_secret, code="code-1"
    )
    assert granted["access_token"] == "xoxb-other-1" == payload["access_token"]
    assert granted["team"] == {"id": "T0OTHER01", "name": "Autre équipe"}
    assert granted["token_type"] == "bot" and "chat:write" in granted["scope"].split(",")
    assert granted["authed_user"]["id"] and granted["bot_user_id"]
    assert slack.calls_to("oauth.v2.access")[-1].params["client_id"] == slack.client_id  # Basic

    # What Bolt's OAuth flow does next: auth.test with the new token, for the bot id.
    me = await slack.client("xoxb-other-1").auth_test()
    assert (me["team_id"], me["bot_id"]) == ("T0OTHER01", "B0INSTBOT")
    again = await slack_error(
        anonymous.oauth_v2_access(
            client_id=slack.client_id, client_secret=slack.client_secret, code="code-1"
        )
    )
    assert again.response["error"] == "invalid_code"


async def test_tokens_unknown_revoked_and_methods_unknown(slack: FakeSlack) -> None:
    unknown = await slack_error(plain_client(slack, "xoxb-made-up").auth_test())
    assert unknown.response["error"] == "invalid_auth" and unknown.response.status_code == 200
    missing = await slack_error(AsyncWebClient(base_url=slack.api_url).auth_test())
    assert missing.response["error"] == "not_authed"

    slack.revoke(slack.bot_token)
    revoked = await slack_error(slack.client().chat_postMessage(channel=CHANNEL, text="x"))
    assert revoked.response["error"] == "token_revoked"
    assert slack.bot_token not in slack.tokens

    slack.add_token("xoxb-narrow", scopes=["chat:write"])
    narrow = await slack_error(slack.client("xoxb-narrow").users_info(user=ANA))
    assert (narrow.response["error"], narrow.response["needed"]) == ("missing_scope", "users:read")
    nowhere = await slack_error(slack.client("xoxb-narrow").api_call("chat.teleport"))
    assert nowhere.response["error"] == "unknown_method"


# --- rate limits ---------------------------------------------------------------------------


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


# --- signing and Bolt ----------------------------------------------------------------------


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
    async def on_command(ack, body, client):
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=checkin_modal())

    @bolt.view("checkin")
    async def on_submit(ack, body, view, client):
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
    async def on_thanks(ack, respond, action):
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


async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str):
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
