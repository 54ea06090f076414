"""Send requests to a Bolt app exactly as Slack does.

Slack signs every request it sends (slash commands, interactivity, the Events API) with the app's
signing secret ("v0" signing):

    X-Slack-Request-Timestamp: <unix seconds>
    X-Slack-Signature: v0=<hex HMAC-SHA256(secret, f"v0:{timestamp}:{raw body}")>

Slash commands and interactivity arrive as ``application/x-www-form-urlencoded`` (interactivity as
a single ``payload=<json>`` field), the Events API as ``application/json``. Slack expects an HTTP
200 within 3 seconds and otherwise retries with ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason``.

The builders here return what Slack puts on the wire (bytes) or the interactivity payload (a dict
to wrap with :func:`interaction`). Trigger ids made by :func:`new_trigger_id` carry the moment they
were issued, so that ``tests.fake_slack.FakeSlack`` can refuse them after 3 seconds, like Slack.
"""

from __future__ import annotations

from tests.slack_signing.events import (
    app_home_opened,
    event_callback,
    member_joined_channel,
    message_im,
    slash_command,
    url_verification,
)
from tests.slack_signing.interactivity import (
    action,
    block_actions,
    interaction,
    selected,
    state_values,
    text_input,
    view_closed,
    view_submission,
)
from tests.slack_signing.signing import (
    ACK_TIMEOUT_SECONDS,
    APP_ID,
    BOT_USER_ID,
    SIGNING_SECRET,
    SLACK_USER_AGENT,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    Reply,
    action_ts,
    content_type_of,
    new_event_id,
    new_trigger_id,
    post_signed,
    signature,
    signed_headers,
    trigger_issued_at,
)

__all__ = [
    "ACK_TIMEOUT_SECONDS",
    "APP_ID",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "SLACK_USER_AGENT",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "VERIFICATION_TOKEN",
    "Reply",
    "action",
    "action_ts",
    "app_home_opened",
    "block_actions",
    "content_type_of",
    "event_callback",
    "interaction",
    "member_joined_channel",
    "message_im",
    "new_event_id",
    "new_trigger_id",
    "post_signed",
    "selected",
    "signature",
    "signed_headers",
    "slash_command",
    "state_values",
    "text_input",
    "trigger_issued_at",
    "url_verification",
    "view_closed",
    "view_submission",
]
