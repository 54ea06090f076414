"""A card's files on Slack, one way for every path that shows a card: the outbox's sender
(adapters/slack/sender.py, paced and resumable) and the answers to a person
(adapters/slack/replies.py).

Block Kit cannot carry a file: each `Attachment` (a chart's PNG, a CSV export) is uploaded with
slack_sdk's `files_upload_v2`, which makes Slack's three calls: files.getUploadURLExternal
(name, length, alternative text), the bytes POSTed to the upload URL it gave, then
files.completeUploadExternal, which shares the file in the conversation (`channel_id`) and is
the one step people see. The conversation must be an id (C…, G…, D…): a user id is refused, so
a file for a person goes to their DM, whose id a post's answer names or `open_dm` gives.

A file is never shared in a channel on behalf of one person: a card meant for them alone (an
ephemeral answer) has its files in their DM.
"""

from __future__ import annotations

import base64

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from dialogs.cards import Attachment

# Slack's limits: a file's title, and an image's alternative text.
TITLE_CHARS = 250
ALT_TEXT_CHARS = 1000


async def upload(
    client: AsyncWebClient, channel: str, attachment: Attachment
) -> AsyncSlackResponse:
    """Share `attachment` in the conversation `channel` (an id, not a user id): under its
    short title (else its description), with its description as a picture's alternative text."""
    return await client.files_upload_v2(
        channel=channel,
        content=base64.b64decode(attachment.data),
        filename=attachment.filename,
        title=(attachment.title or attachment.description)[:TITLE_CHARS],
        alt_txt=attachment.description[:ALT_TEXT_CHARS],
    )


async def open_dm(client: AsyncWebClient, user_id: str) -> str:
    """The id of the app's DM with that person (conversations.open): for a file sent before
    any message named it."""
    opened = await client.conversations_open(users=user_id)
    return str(opened["channel"]["id"])
