"""The fake Slack's three upload steps are as strict as Slack's, so that the tests of the
bridge's files (tests/test_slack_files.py) fail where Slack would: an upload URL it did not
give (or gave and was used) is refused, a file is shared only once its bytes arrived, only in
a conversation that exists (a user id is not one), and a 429 can be injected on the last step
with its Retry-After."""

from __future__ import annotations

import aiohttp

from tests.fake_slack import UPLOAD, FakeSlack
from tests.fake_slack_fixtures import ANA, CHANNEL, plain_client, slack_error

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


async def _post_bytes(url: str, data: bytes) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=data) as answer:
        return answer.status


async def test_an_upload_url_is_ours_and_takes_one_upload(slack: FakeSlack) -> None:
    client = plain_client(slack)
    given = await client.files_getUploadURLExternal(filename="chart.png", length=len(PNG))
    made_up = given["upload_url"].rsplit("/", 1)[0] + "/not-a-key-we-gave"
    assert await _post_bytes(made_up, PNG) == 404
    assert await _post_bytes(given["upload_url"], PNG) == 200
    assert await _post_bytes(given["upload_url"], PNG) == 404  # used
    refused = slack.rejected_calls_to(UPLOAD)
    assert [c.status for c in refused] == [404, 404]
    assert slack.files[given["file_id"]].content == PNG


async def test_a_file_is_shared_only_once_uploaded_and_in_a_real_conversation(
    slack: FakeSlack,
) -> None:
    client = plain_client(slack)
    given = await client.files_getUploadURLExternal(filename="chart.png", length=len(PNG))
    files = [{"id": given["file_id"], "title": "Chart"}]
    early = await slack_error(client.files_completeUploadExternal(files=files, channel_id=CHANNEL))
    assert early.response["error"] == "file_not_found"
    assert await _post_bytes(given["upload_url"], PNG) == 200
    nowhere = await slack_error(
        client.files_completeUploadExternal(files=files, channel_id="C0NOWHERE")
    )
    person = await slack_error(client.files_completeUploadExternal(files=files, channel_id=ANA))
    assert [nowhere.response["error"], person.response["error"]] == ["channel_not_found"] * 2
    unknown = await slack_error(
        client.files_completeUploadExternal(files=[{"id": "F0NOTOURS"}], channel_id=CHANNEL)
    )
    assert unknown.response["error"] == "file_not_found"
    assert not slack.messages_in(CHANNEL)  # nothing shared by the refusals

    dm = slack.dm_id(ANA)
    done = await client.files_completeUploadExternal(files=files, channel_id=dm)
    assert done["files"][0]["ims"] == [dm]
    (message,) = slack.messages_to(ANA)
    assert message.files == [given["file_id"]]


async def test_a_429_on_complete_says_when_to_come_back_and_shares_nothing(
    slack: FakeSlack,
) -> None:
    slack.fail_next("files.completeUploadExternal", 429, retry_after=30)
    client = plain_client(slack)
    limited = await slack_error(
        client.files_upload_v2(
            channel=CHANNEL, content=PNG, filename="chart.png", title="t", alt_txt="a chart"
        )
    )
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "30"
    assert not slack.messages_in(CHANNEL)
    (uploaded,) = slack.files.values()
    assert uploaded.content == PNG and not uploaded.completed and uploaded.alt_txt == "a chart"
    again = await client.files_upload_v2(
        channel=CHANNEL, content=PNG, filename="chart.png", title="t", alt_txt="a chart"
    )
    (message,) = slack.messages_in(CHANNEL)
    assert message.files == [again["file"]["id"]]
