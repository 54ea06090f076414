"""The shape of what Slack posts, checked before Bolt reads it (`problem`).

Bolt's middleware and matchers read a payload as Slack writes it: `body["event"].get(...)`,
`body["view"]["type"]`, `body["actions"][0]["action_id"]`, `"id" in body["team"]`. A signed
payload of another shape (an event that is a list, a view that is null, an action without its
id) makes them raise, and Bolt answers 500 with a traceback. Slack never sends such a payload,
so it is refused here with 400 and a reason, before Bolt sees it.

The ids (workspace, person, channel, enterprise, app) are checked as Slack writes them:
upper-case letters and digits. An id of another shape would otherwise reach the database and
the Web API (a users.info URL longer than any server takes, a driver refusing a lone
surrogate). Strings anywhere in the payload must be encodable as UTF-8: a JSON escape of a
lone surrogate (`"\\ud800"`) is valid JSON but no text Slack sends.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

SLACK_ID = r"^[A-Z0-9][A-Z0-9_]{0,39}$"  # T0PASSRL1, U0123ABCD, C0FUZZ001, USLACKBOT...
Id = Annotated[str, StringConstraints(pattern=SLACK_ID)]
Name = Annotated[str, StringConstraints(max_length=255)]  # types, callback and action ids
Text = Annotated[str, StringConstraints(max_length=4000)]  # trigger ids, URLs, metadata
# Interactivity types Bolt reads further (payload_utils); any other type is left to Bolt,
# which answers it 404 (no listener).
VIEW_TYPES = ("view_submission", "view_closed")
# Read by Bolt as `body.get(key, {})` or `key in body` then indexed: present means an object.
NOT_NULL = ("event", "view", "actions")
# What the events Passerelle listens to always carry (Slack's reference): who, and where.
EVENT_NEEDS = {
    "member_joined_channel": ("user", "channel"),
    "member_left_channel": ("user", "channel"),
    "app_home_opened": ("user",),
}


class _Shape(BaseModel):
    """Only the fields Bolt or Passerelle read are checked; others are kept as they are."""

    model_config = ConfigDict(extra="allow", strict=True)


class Named(_Shape):
    """A `team`, `user`, `channel` or `enterprise` object."""

    id: Id | None = None
    team_id: Id | None = None
    enterprise_id: Id | None = None
    name: Name | None = None


class Authorization(_Shape):
    team_id: Id | None = None
    user_id: Id | None = None
    enterprise_id: Id | None = None
    is_enterprise_install: bool | None = None


class Event(_Shape):
    type: Name
    user: Id | Named | None = None
    channel: Id | Named | None = None
    inviter: Id | None = None
    bot_id: Id | None = None
    team: Id | None = None
    user_team: Id | None = None
    channel_type: Name | None = None
    subtype: Name | None = None
    tab: Name | None = None
    thread_ts: Name | None = None
    item: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    previous_message: dict[str, Any] | None = None
    assistant_thread: dict[str, Any] | None = None
    view: dict[str, Any] | None = None


class State(_Shape):
    values: dict[str, dict[str, dict[str, Any]]] = {}


class View(_Shape):
    type: Name
    id: Name | None = None
    hash: Name | None = None
    callback_id: Name | None = None
    private_metadata: Text | None = None
    state: State | None = None
    blocks: list[Any] | None = None
    team_id: Id | None = None
    app_installed_team_id: Id | None = None


class Action(_Shape):
    action_id: Name
    block_id: Name | None = None
    type: Name | None = None
    value: Text | None = None


class Envelope(_Shape):
    type: Name | None = None
    team_id: Id | None = None
    user_id: Id | None = None
    channel_id: Id | None = None
    enterprise_id: Id | None = None
    api_app_id: Id | None = None
    team: Id | Named | None = None
    user: Id | Named | None = None
    channel: Id | Named | None = None
    enterprise: Id | Named | None = None
    authorizations: list[Authorization] | None = None
    is_enterprise_install: bool | Name | None = None
    is_ext_shared_channel: bool | None = None
    event: Event | None = None
    view: View | None = None
    actions: list[Action] | None = None
    message: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    previous_message: dict[str, Any] | None = None
    item: dict[str, Any] | None = None
    function_data: dict[str, Any] | None = None
    workflow_step: dict[str, Any] | None = None
    trigger_id: Text | None = None
    response_url: Text | None = None
    callback_id: Name | None = None
    command: Name | None = None
    # A slash command's channel name goes into the signed metadata of the modal it opens
    # (3,000 characters at most): Slack's names are 80 characters at most.
    channel_name: Name | None = None
    team_domain: Name | None = None
    user_name: Name | None = None
    text: Text | None = None
    event_id: Name | None = None
    challenge: Text | None = None


def problem(body: object, *, interactive: bool) -> str | None:
    """Why Bolt must not read `body` (None: it may). `interactive`: it came as the form field
    `payload` (interactivity), which always has a `type`."""
    if not isinstance(body, dict):
        return "a payload is a JSON object"
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "a text is not valid Unicode (a lone surrogate)"
    except (TypeError, ValueError, RecursionError):
        return "a payload Slack does not send"
    for key in NOT_NULL:
        if key in body and body[key] is None:
            return f"{key}: an object, not null"
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"][:3])
        return f"{where}: {first['msg']}"
    except RecursionError:
        return "a payload nested too deep"
    return _required(envelope, interactive)


def _required(envelope: Envelope, interactive: bool) -> str | None:
    """What a payload of its type cannot do without."""
    kind = envelope.type
    if interactive and kind is None:
        return "type: an interaction has a type"
    if envelope.command is not None and (envelope.team_id is None or envelope.user_id is None):
        return "a slash command has a team_id and a user_id"
    if kind == "event_callback" and envelope.event is None:
        return "event: an event callback has an event"
    if envelope.event is not None:
        for name in EVENT_NEEDS.get(envelope.event.type, ()):
            if getattr(envelope.event, name) is None:
                return f"event.{name}: a {envelope.event.type} event has one"
    if kind in VIEW_TYPES and envelope.view is None:
        return "view: a view payload has a view"
    if kind == "block_actions":
        if not envelope.actions:
            return "actions: a block action has actions"
        if envelope.trigger_id is None or envelope.user is None:
            return "a block action has a trigger id and a user"
        if envelope.channel is not None and not isinstance(envelope.channel, Named):
            return "channel: an object"
    return None
