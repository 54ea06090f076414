"""The Slack test infrastructure, checked against the real slack_sdk and slack_bolt.

This module: the Web API. FakeSlack must answer the real ``AsyncWebClient`` the way Slack does
(bodies, errors, 429s that ``AsyncRateLimitErrorRetryHandler`` honours:
tests/test_fake_slack_limits.py), and the signing helpers must produce requests that
``SignatureVerifier`` and a real Bolt app accept and route (tests/test_fake_slack_bolt.py)."""

from __future__ import annotations

import json
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import UPLOAD, FakeSlack
from tests.fake_slack_fixtures import ANA, BEN, CHANNEL, CHLOE, plain_client, slack_error
from tests.slack_signing import (
    TEAM_ID,
    new_trigger_id,
)


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
