"""A fake Slack Web API: a real aiohttp server on 127.0.0.1 for the real slack_sdk and Bolt.

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        # or SLACK_API_URL=slack.api_url for the app under test (slack.env() gives the lot)

It speaks the wire protocol slack_sdk uses (checked against slack_sdk 3.47):
- ``POST|GET /api/<method>``; arguments as a query string (``params=``: auth.test,
  conversations.*, users.info, files.*), a form (``data=``: oauth.v2.access) or a JSON body
  (``json=``: chat.*, views.*). A token is read from ``Authorization: Bearer`` or, as Slack
  allows, from a ``token`` query or form field (never from a JSON body).
  ``oauth.v2.access`` takes the client id and secret as HTTP Basic auth or as form fields.
- every answer is HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": "<code>"}``
  (``invalid_blocks`` and ``invalid_arguments`` add ``response_metadata.messages``), except a
  rate limit: HTTP 429, ``Retry-After: <whole seconds>`` and ``{"ok": false, "error":
  "ratelimited"}``, which ``AsyncRateLimitErrorRetryHandler`` honours.
- ``files_upload_v2``: files.getUploadURLExternal gives an ``upload_url`` on this server; the
  raw bytes are POSTed there (no token; answer ``text/plain`` ``OK - <n>``); then
  files.completeUploadExternal shares the file and posts it in the channel.
- Socket Mode: ``apps.connections.open`` with the app-level token (``app_token``, ``xapp-``)
  gives a ``ws://127.0.0.1`` URL on this server, good for one connection, which says ``hello``;
  ``push()`` sends an envelope over it as Slack does (``envelope_id``, ``type``, ``payload``,
  ``accepts_response_payload``) and ``socket_ack()`` waits for the app's acknowledgement.
- ``answer_submission()`` applies the ack of a view_submission as Slack does
  (``response_action: update`` replaces the modal; no answer closes it), ``close_view()``
  closes a modal (``views.update`` on it is then ``not_found``), ``add_view()`` holds a modal
  as if views.open had shown it.
- ``response_url``s (``new_response_url()``) accept JSON like hooks.slack.com and answer ``ok``;
  ``authorize_url`` plays slack.com/oauth/v2/authorize: it redirects to the redirect URI with a
  code (one registered by ``register_oauth_code`` or a fresh one) and the ``state``.

Where Slack is strict, so is the fake: channels, users and DMs must exist (``add_channel``,
``add_user``; posting to a user id lands in the user's DM); a private channel the bot is not in
is ``channel_not_found``, a public one ``not_in_channel``; ``chat.update`` needs the DM id
(``D…``), not a user id; ``users.info`` gives ``locale`` only with ``include_locale=true``;
``views.open``/``views.push`` refuse a trigger id that is malformed, used twice or older than
3 seconds (make them with ``tests.slack_signing.new_trigger_id``); modal titles and a few Block
Kit limits are checked; ``conversations.members`` lists the bot too and pages by cursor.

Everything is recorded: ``calls`` (requests served: HTTP 200 whatever ``ok`` says, and the
authorize redirect), ``rejected`` (HTTP 429, forced 5xx, unknown upload or response URLs, refused
authorize visits), ``messages``, ``views``, ``home_views``, ``files``, ``responses``.
"""

from __future__ import annotations

from tests.fake_slack.records import AUTHORIZE, RESPONSE_URL, UPLOAD, Call
from tests.fake_slack.server import FakeSlack

__all__ = ["AUTHORIZE", "RESPONSE_URL", "UPLOAD", "Call", "FakeSlack"]
