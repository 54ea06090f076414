"""Inbound Teams activities as Teams sends them (JSON), and filling an Adaptive Card as a person
would. Shapes follow what Teams and the Agents Playground send: the tenant in
`channelData.tenant.id` and `conversation.tenantId`, the team and channel in `channelData`, the
@mention as `<at>…</at>` in the text, a card's submission as a message with `value` and
`replyToId`."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import aiohttp

from tests.fake_connector import BOT_ID, BOT_NAME, DEFAULT_TENANT, FakeConnector

TENANT = DEFAULT_TENANT
BOT = {"id": BOT_ID, "name": BOT_NAME}
_ids = itertools.count(1)
Json = dict[str, Any]


def _base(kind: str, service_url: str, user: Json, conversation: Json, data: Json) -> Json:
    return {
        "type": kind,
        "id": f"act-{next(_ids)}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": user,
        "recipient": dict(BOT),
        "conversation": {**conversation, "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}, **data},
        "timestamp": "2026-11-22T15:00:00.000Z",
    }


def _submitting(activity: Json, value: Json | None, reply_to: str | None) -> Json:
    """The message carries a card's submission where there is one: its values, and the id of
    the activity that showed the card."""
    if value is not None:
        activity["value"] = value
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


def person(user_id: str, name: str) -> Json:
    return {"id": user_id, "name": name, "aadObjectId": f"aad-{user_id[3:]}"}


def add_roster(
    connector: FakeConnector,
    team: tuple[str, str],
    people: Mapping[str, tuple[str, ...]],
    coordinator: Json | None = None,
) -> None:
    """The connector knows the coordinator (if any) and `people` (id -> (name, ...)), and the
    team (id, name) with all of them as members, the coordinator first."""
    names = {coordinator["id"]: coordinator["name"]} if coordinator is not None else {}
    names |= {user_id: details[0] for user_id, details in people.items()}
    for user_id, name in names.items():
        connector.add_user(user_id, name)
    connector.add_team(team[0], team[1], members=list(names))


def personal(
    service_url: str,
    conversation_id: str,
    user: Json,
    text: str = "",
    *,
    value: Json | None = None,
    reply_to: str | None = None,
    locale: str = "fr-CA",
    timezone: str | None = "America/Toronto",
) -> Json:
    activity = _base(
        "message",
        service_url,
        user,
        {"id": conversation_id, "conversationType": "personal"},
        {},
    )
    activity.update(text=text, locale=locale, textFormat="plain")
    if timezone:
        activity["localTimezone"] = timezone
    return _submitting(activity, value, reply_to)


def in_channel(
    service_url: str,
    team: tuple[str, str],
    channel: tuple[str, str],
    user: Json,
    text: str = "",
    *,
    value: Json | None = None,
    reply_to: str | None = None,
    locale: str = "fr-CA",
) -> Json:
    """A message in a team's channel: with an @mention of the bot, or a card's submission."""
    team_id, team_name = team
    channel_id, channel_name = channel
    thread = f"{channel_id};messageid={next(_ids)}"
    activity = _base(
        "message",
        service_url,
        user,
        {"id": thread, "conversationType": "channel", "isGroup": True},
        {
            "team": {"id": team_id, "name": team_name},
            "channel": {"id": channel_id, "name": channel_name},
        },
    )
    if text:
        activity["text"] = f"<at>{BOT_NAME}</at> {text}"
        activity["entities"] = [
            {"type": "mention", "mentioned": dict(BOT), "text": f"<at>{BOT_NAME}</at>"}
        ]
    activity["locale"] = locale
    return _submitting(activity, value, reply_to)


def members_changed(
    service_url: str,
    team: tuple[str, str],
    by: Json,
    *,
    added: list[Json] = (),  # type: ignore[assignment]
    removed: list[Json] = (),  # type: ignore[assignment]
) -> Json:
    team_id, team_name = team
    activity = _base(
        "conversationUpdate",
        service_url,
        by,
        {"id": team_id, "conversationType": "channel", "isGroup": True},
        {
            "team": {"id": team_id, "name": team_name},
            "eventType": "teamMemberAdded" if added else "teamMemberRemoved",
        },
    )
    if added:
        activity["membersAdded"] = list(added)
    if removed:
        activity["membersRemoved"] = list(removed)
    return activity


def fill(card: Json, **answers: str) -> Json:
    """What Teams sends for a card's form: every input's value (the ones typed, else the
    card's own), with the submit action's data."""
    value: Json = {}
    for element in _inputs(card.get("body", [])):
        name = element["id"]
        if name in answers:
            value[name] = answers[name]
        elif "value" in element:
            value[name] = element["value"]
        elif element["type"] == "Input.ChoiceSet" and element.get("isRequired"):
            value[name] = element["choices"][0]["value"]
    submit = next(a for a in card["actions"] if a.get("associatedInputs") != "none")
    return {**value, **submit["data"]}


def press(card: Json, action_prefix: str) -> Json:
    """The `value` of a button (an action without inputs) whose action starts with a prefix."""
    for action in card.get("actions", []):
        if str(action["data"].get("passerelle.action", "")).startswith(action_prefix):
            return dict(action["data"])
    raise AssertionError(f"no button {action_prefix} in {card}")


def _inputs(elements: list[Json]) -> list[Json]:
    found: list[Json] = []
    for element in elements:
        if str(element.get("type", "")).startswith("Input."):
            found.append(element)
        found += _inputs(element.get("items", []))
    return found


def scale_names(card: Json) -> list[str]:
    return [
        e["id"]
        for e in _inputs(card.get("body", []))
        if e["type"] == "Input.ChoiceSet" and any(c["value"] == "skip" for c in e["choices"])
    ]


def text_of(card: Json) -> str:
    """Every TextRun of a card, joined."""
    runs: list[str] = []

    def walk(elements: list[Json]) -> None:
        for element in elements:
            for inline in element.get("inlines", []):
                runs.append(str(inline.get("text", "")))
            walk(element.get("items", []))

    walk(card.get("body", []))
    return "\n".join(runs)


async def post_activity(url: str, activity: Json, headers: dict[str, str] | None = None) -> int:
    """POST an activity to `/api/messages` as Teams does; the HTTP status."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=activity, headers=headers or {}) as response,
    ):
        await response.read()
        return response.status
