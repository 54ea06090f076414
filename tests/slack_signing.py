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

import copy
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

TEAM_ID = "T0PASSRL1"
TEAM_DOMAIN = "passerelle-test"
APP_ID = "A0PASSRL1"
BOT_USER_ID = "U0PASSBOT"
SIGNING_SECRET = "fake-signing-secret-0123456789abcdef"
# The deprecated verification token Slack still puts in every payload (Bolt ignores it).
VERIFICATION_TOKEN = "fakeVerificationToken123"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
ACK_TIMEOUT_SECONDS = 3.0


# --- signing -------------------------------------------------------------------------------


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed with the signing secret."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def content_type_of(body: bytes) -> str:
    """The Content-Type Slack uses for this body: JSON for the Events API, a form otherwise."""
    if body.lstrip().startswith(b"{"):
        return "application/json"
    return "application/x-www-form-urlencoded"


def signed_headers(
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """The headers Slack sends with ``body``: signature, timestamp, Content-Type, User-Agent.

    ``timestamp`` defaults to now (Bolt refuses one more than 5 minutes away). ``retry_num``
    adds Slack's retry headers, as when an earlier delivery was not acknowledged in time.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers = {
        "Content-Type": content_type or content_type_of(body),
        "User-Agent": SLACK_USER_AGENT,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret, ts),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


@dataclass(frozen=True)
class Reply:
    """What the app answered to a signed request."""

    status: int
    text: str
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


async def post_signed(
    url: str,
    body: bytes,
    secret: str = SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    ack_within: float = ACK_TIMEOUT_SECONDS,
    session: aiohttp.ClientSession | None = None,
) -> Reply:
    """POST ``body`` to the app at ``url`` as Slack would, giving up after Slack's 3 seconds
    (raises ``TimeoutError``: an app that does slow work before acking fails here too)."""
    headers = signed_headers(
        body, secret, timestamp, retry_num=retry_num, retry_reason=retry_reason
    )
    client_timeout = aiohttp.ClientTimeout(total=ack_within)
    own = session is None
    http = session or aiohttp.ClientSession()
    try:
        async with http.post(url, data=body, headers=headers, timeout=client_timeout) as resp:
            return Reply(resp.status, await resp.text(), dict(resp.headers))
    finally:
        if own:
            await http.close()


# --- ids -----------------------------------------------------------------------------------


def new_trigger_id(issued_at: float | None = None) -> str:
    """A trigger id shaped like Slack's (``<digits>.<digits>.<hex>``).

    The first part is the issue time in milliseconds: FakeSlack reads it to answer
    ``expired_trigger_id`` after 3 seconds. Pass ``issued_at`` (unix seconds) to make a stale one.
    """
    at = time.time() if issued_at is None else issued_at
    return f"{int(at * 1000)}.{secrets.randbelow(10**9):09d}.{secrets.token_hex(10)}"


def trigger_issued_at(trigger_id: str) -> float | None:
    """The issue time encoded by :func:`new_trigger_id`, or None for a malformed id."""
    parts = trigger_id.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    try:
        int(parts[2], 16)
    except ValueError:
        return None
    return int(parts[0]) / 1000


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def action_ts() -> str:
    return f"{time.time():.6f}"


# --- slash commands ------------------------------------------------------------------------


def slash_command(
    text: str,
    user_id: str,
    channel_id: str,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    command: str = "/passerelle",
    *,
    channel_name: str | None = None,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    response_url: str | None = None,
    enterprise_id: str | None = None,
    token: str = VERIFICATION_TOKEN,
) -> bytes:
    """The urlencoded body of a slash command, fields in Slack's order.

    ``channel_name`` defaults to Slack's ``directmessage`` for a ``D…`` channel.
    ``response_url`` should come from ``FakeSlack.new_response_url()`` when the app responds.
    """
    if channel_name is None:
        channel_name = "directmessage" if channel_id.startswith("D") else "general"
    fields: list[tuple[str, str]] = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
    ]
    if enterprise_id is not None:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", "Enterprise")]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        (
            "response_url",
            response_url or f"https://hooks.slack.com/commands/{team_id}/1/{secrets.token_hex(8)}",
        ),
        ("trigger_id", trigger_id or new_trigger_id()),
    ]
    return urlencode(fields).encode()


# --- Events API ----------------------------------------------------------------------------


def event_callback(
    event: dict[str, Any],
    team_id: str = TEAM_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    *,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
    token: str = VERIFICATION_TOKEN,
    is_ext_shared_channel: bool = False,
) -> bytes:
    """An Events API envelope (JSON bytes) around ``event``.

    Keep ``event_id`` to send the same event twice (Slack's retries reuse it)."""
    envelope = {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }
    return json.dumps(envelope).encode()


def url_verification(challenge: str, *, token: str = VERIFICATION_TOKEN) -> bytes:
    """The handshake Slack sends when the Request URL is saved; the app echoes ``challenge``."""
    return json.dumps({"token": token, "challenge": challenge, "type": "url_verification"}).encode()


def member_joined_channel(
    user_id: str, channel_id: str, team_id: str = TEAM_ID, *, inviter: str | None = None
) -> dict[str, Any]:
    """A ``member_joined_channel`` event (wrap it with :func:`event_callback`)."""
    event: dict[str, Any] = {
        "type": "member_joined_channel",
        "user": user_id,
        "channel": channel_id,
        "channel_type": "C",
        "team": team_id,
        "event_ts": action_ts(),
    }
    if inviter:
        event["inviter"] = inviter
    return event


def app_home_opened(user_id: str, channel_id: str, *, tab: str = "home") -> dict[str, Any]:
    """An ``app_home_opened`` event (wrap it with :func:`event_callback`)."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": tab,
        "event_ts": action_ts(),
    }


def message_im(user_id: str, channel_id: str, text: str, team_id: str = TEAM_ID) -> dict[str, Any]:
    """A user's message in the app's DM (``message.im``; wrap it with :func:`event_callback`)."""
    ts = action_ts()
    return {
        "type": "message",
        "channel": channel_id,
        "user": user_id,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "team": team_id,
        "channel_type": "im",
    }


# --- interactivity -------------------------------------------------------------------------


def interaction(payload: dict[str, Any]) -> bytes:
    """The urlencoded body Slack posts for interactivity: one field, ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def _user(user_id: str, team_id: str, user_name: str | None) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _elements(blocks: Iterable[dict[str, Any]]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every interactive element in Block Kit blocks."""
    for block in blocks:
        block_id = block.get("block_id", "")
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block_id, block["element"]
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                yield block_id, element
        if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block_id, block["accessory"]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    return options


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in _options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    offered = [o.get("value") for o in _options(element)]
    raise ValueError(f"{element.get('action_id')!r} offers no option {value!r} (has {offered})")


_SINGLE = {"static_select", "radio_buttons", "external_select"}
_MULTI = {"checkboxes", "multi_static_select", "multi_external_select"}
_VALUE = {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
_PICKED = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


def _state_entry(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    kind = element.get("type", "")
    entry: dict[str, Any] = {"type": kind}
    if kind in _VALUE:
        entry["value"] = None if answer is None else str(answer)
    elif kind in _SINGLE:
        entry["selected_option"] = None if answer is None else _option(element, str(answer))
    elif kind in _MULTI:
        entry["selected_options"] = [_option(element, str(a)) for a in (answer or [])]
    elif kind in _PICKED:
        entry[_PICKED[kind]] = answer
    else:
        entry["value"] = answer
    return entry


def state_values(
    blocks: Iterable[dict[str, Any]], answers: Mapping[str, Any], *, strict: bool = True
) -> dict[str, dict[str, dict[str, Any]]]:
    """``view.state.values`` as Slack builds it when a user fills in ``blocks``.

    ``answers`` maps an element's action_id to what the user entered: a string for text and
    number inputs, an option *value* for selects and radio buttons (the whole option object is
    copied from the view, as Slack does), a list of values for checkboxes. Every input element
    appears, unanswered ones with a null value. With ``strict``, an unanswered required input
    (``optional`` not true) raises ``ValueError``: Slack's client would not submit the form.
    """
    values: dict[str, dict[str, dict[str, Any]]] = {}
    unknown = set(answers)
    blocks = list(blocks)
    for block in blocks:
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        element = block["element"]
        action_id = element.get("action_id", "")
        answer = answers.get(action_id)
        unknown.discard(action_id)
        if strict and answer in (None, "", []) and not block.get("optional", False):
            raise ValueError(f"required input {action_id!r} left empty: Slack would not submit")
        values.setdefault(block.get("block_id", ""), {})[action_id] = _state_entry(element, answer)
    if unknown:
        raise ValueError(f"no input element with action_id {sorted(unknown)}")
    return values


def text_input(value: str | None) -> dict[str, Any]:
    """A ``plain_text_input`` state entry, for building ``state.values`` by hand."""
    return {"type": "plain_text_input", "value": value}


def selected(value: str, text: str | None = None, element: str = "static_select") -> dict[str, Any]:
    """A single-choice state entry (``static_select`` or ``radio_buttons``) by hand."""
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": element, "selected_option": option}


def block_actions(
    actions: list[dict[str, Any]],
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
    channel_id: str | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    response_url: str | None = None,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """A ``block_actions`` payload (wrap it with :func:`interaction`).

    From a message: pass ``channel_id`` and ``message`` (at least ``ts`` and ``blocks``;
    ``FakeSlack``'s ``Message.to_dict()`` fits). From a modal or App Home: pass ``view``.
    Build ``actions`` with :func:`action`.
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": actions,
    }
    if view is not None:
        shown = copy.deepcopy(view)
        shown.setdefault("state", {"values": {}})
        if state is not None:
            shown["state"] = {"values": state}
        payload["container"] = {"type": "view", "view_id": shown.get("id")}
        payload["view"] = shown
    if message is not None:
        if channel_id is None:
            raise ValueError("an action on a message needs the message's channel_id")
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": bool(message.get("is_ephemeral", False)),
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["message"] = copy.deepcopy(message)
        payload["state"] = {"values": state or {}}
        payload["response_url"] = (
            response_url or f"https://hooks.slack.com/actions/{team_id}/1/{secrets.token_hex(8)}"
        )
    return payload


def action(
    blocks: Iterable[dict[str, Any]], action_id: str, value: str | list[str] | None = None
) -> dict[str, Any]:
    """The ``actions[]`` entry Slack sends when the user uses element ``action_id`` in ``blocks``.

    A button sends its own value; a select or radio button needs the option ``value`` chosen;
    checkboxes a list of values. Raises ``ValueError`` when no such element is shown.
    """
    for block_id, element in _elements(blocks):
        if element.get("action_id") != action_id:
            continue
        kind = element.get("type", "")
        entry: dict[str, Any] = {
            "type": kind,
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": action_ts(),
        }
        if kind == "button":
            entry["text"] = element.get("text")
            if "value" in element:
                entry["value"] = element["value"]
            if "style" in element:
                entry["style"] = element["style"]
        else:
            state = _state_entry(element, value)
            state.pop("type")
            entry.update(state)
        return entry
    raise ValueError(f"no interactive element with action_id {action_id!r}")


def view_submission(
    view: dict[str, Any],
    answers: Mapping[str, Any] | None = None,
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    values: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
    bot_id: str | None = None,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    token: str = VERIFICATION_TOKEN,
    strict: bool = True,
) -> dict[str, Any]:
    """A ``view_submission`` payload (wrap it with :func:`interaction`).

    ``view`` is the modal as Slack holds it (take it from ``FakeSlack.views[view_id]`` to keep
    its id, hash, callback_id and private_metadata); ``answers`` fills it by action_id (see
    :func:`state_values`), or ``values`` gives ``state.values`` verbatim.
    """
    shown = copy.deepcopy(view)
    shown.setdefault("id", "V" + secrets.token_hex(5).upper())
    shown.setdefault("team_id", team_id)
    shown.setdefault("app_id", api_app_id)
    shown.setdefault("callback_id", "")
    shown.setdefault("private_metadata", "")
    shown.setdefault("hash", f"{int(time.time())}.{secrets.token_hex(4)}")
    shown.setdefault("root_view_id", shown["id"])
    shown.setdefault("previous_view_id", None)
    if bot_id is not None:
        shown.setdefault("bot_id", bot_id)
    if values is None:
        values = state_values(shown.get("blocks", []), answers or {}, strict=strict)
    shown["state"] = {"values": values}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": shown,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(
    view: dict[str, Any], *, user_id: str, team_id: str = TEAM_ID, api_app_id: str = APP_ID
) -> dict[str, Any]:
    """A ``view_closed`` payload (sent only for modals opened with ``notify_on_close``)."""
    return {
        "type": "view_closed",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id, None),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": copy.deepcopy(view),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
