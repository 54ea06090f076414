"""Slack payloads as the engine's neutral events. Pure functions: no I/O, no Bolt.

A person is an `Actor("slack", <team id>, <user id>, ...)` and a channel a
`Place("slack", <team id>, <channel id>, <name>)`. Time zone and locale come from `users.info`
(`actor_from_user`), looked up by the app and cached.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.block_limits import TEXT_INPUT_LENGTH
from adapters.slack.block_values import (
    RESERVED_BLOCK_PREFIX,
    button_action,
    decode_context,
    decode_form_reference,
    values_from_view_state,
)
from dialogs.cards import Card
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from dialogs.i18n import LANGUAGES, Tr, catalogue
from dialogs.texts import TextRejected, clean

PLATFORM = "slack"
Json = Mapping[str, Any]


def team_of(body: Json) -> str:
    """The workspace (team id) of any payload: command, interaction or event envelope."""
    team = body.get("team_id") or body.get("team")
    if isinstance(team, Mapping):
        team = team.get("id")
    if not team and isinstance(body.get("user"), Mapping):
        team = body["user"].get("team_id")
    return str(team or "")


def user_of(body: Json) -> str:
    user = body.get("user_id") or body.get("user")
    if isinstance(user, Mapping):
        user = user.get("id")
    return str(user or "")


def actor_from_user(workspace: str, user_id: str, user: Json | None) -> Actor:
    """An actor from a `users.info` user (None: only the id is known)."""
    if not user:
        return Actor(PLATFORM, workspace, user_id)
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or ""
    )
    return Actor(
        PLATFORM,
        workspace,
        user_id,
        display_name=str(name),
        timezone=user.get("tz") or None,
        locale=user.get("locale") or None,
    )


def is_bot_user(user: Json | None) -> bool:
    """A bot, an app or a deactivated account: not someone to onboard."""
    if not user:
        return False
    return bool(user.get("is_bot") or user.get("deleted") or user.get("is_app_user"))


def place(workspace: str, channel_id: str, name: str = "") -> Place | None:
    """A channel (not a DM: direct conversations are no place for a team)."""
    if not channel_id or channel_id.startswith("D"):
        return None
    return Place(PLATFORM, workspace, channel_id, "" if name in ("", "directmessage") else name)


def command(body: Json, actor: Actor) -> CommandReceived:
    """`/passerelle <text>` as a command, in the channel it was typed in."""
    where = place(
        actor.workspace, str(body.get("channel_id", "")), str(body.get("channel_name", ""))
    )
    return CommandReceived(actor, str(body.get("text", "")).strip(), where)


# --------------------------------------------------------------------------- modals
Signer = Callable[..., str]  # a keyed hash (Sealer.tag)
SIGNATURE_HEX = 32  # 16 bytes of HMAC-SHA256: enough that no forgery is ever guessed


class ForgedMetadata(ValueError):
    """A modal whose `private_metadata` does not carry our signature for this person."""


@dataclass(frozen=True)
class ModalMetadata:
    """What a modal carries in `private_metadata`: its form, the channel it came from and the
    language it was rendered in.

    Slack hands `private_metadata` back with each submission and button, and a crafted
    request can say anything in it (a channel the person is not in), so what we send is
    signed (`signed`) for the person the modal is for, and refused (`verified`) when the
    signature is not ours. `encode`/`decode` are the unsigned form kept in the (sealed)
    intake.

    `language` ('fr', 'en', or "" when unknown) lets the ack speak without reading the
    database (adapters/slack/acks.py). It is signed with the rest: changed, added to or
    removed from a signed modal, the modal is refused; a value other than 'fr'/'en' is never
    read (ignored, as in a modal signed before the field existed)."""

    reference: str  # the form reference (decode_form_reference)
    channel_id: str = ""
    channel_name: str = ""
    language: str = ""

    def _fields(self) -> dict[str, str]:
        fields = {"f": self.reference, "ch": self.channel_id, "cn": self.channel_name}
        if self.language:
            fields["l"] = self.language
        return fields

    def encode(self) -> str:
        return json.dumps(self._fields(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> ModalMetadata:
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("f"), str):
            raise ValueError("not our modal")
        language = data.get("l")
        return cls(
            data["f"],
            str(data.get("ch") or ""),
            str(data.get("cn") or ""),
            language if language in LANGUAGES else "",
        )

    def _signature(self, signer: Signer, workspace: str, user_id: str) -> str:
        parts = (workspace, user_id, self.reference, self.channel_id, self.channel_name)
        # What came in a request may hold lone surrogates: signed as escaped, never an error.
        safe = [p.encode("utf-8", "backslashreplace").decode() for p in parts]
        if not self.language:  # as modals were signed before the language rode along
            return signer("slack modal", *safe)[:SIGNATURE_HEX]
        # Another purpose, the language first: no parts of the old form hash the same.
        return signer("slack modal+language", self.language, *safe)[:SIGNATURE_HEX]

    def signed(self, signer: Signer, workspace: str, user_id: str) -> str:
        """The `private_metadata` of a modal opened for `user_id` in `workspace`."""
        fields = {**self._fields(), "s": self._signature(signer, workspace, user_id)}
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def verified(cls, raw: str, signer: Signer, workspace: str, user_id: str) -> ModalMetadata:
        """The metadata `user_id` sent back, if we signed it for them (else ForgedMetadata)."""
        try:
            data = json.loads(raw)
            metadata = cls.decode(raw)
        except (ValueError, TypeError, RecursionError):
            raise ForgedMetadata("unreadable modal metadata") from None
        signature = data.get("s")
        expected = metadata._signature(signer, workspace, user_id)
        if not isinstance(signature, str) or not hmac.compare_digest(
            signature.encode("utf-8", "replace"), expected.encode()
        ):
            raise ForgedMetadata("modal metadata not signed for this person")
        return metadata


@functools.cache
def _submit_labels() -> dict[str, str]:
    """{a text: the one language whose catalogue holds it} (texts both hold are left out)."""
    found: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for text in catalogue(language).values():
            found.setdefault(text, set()).add(language)
    return {text: next(iter(held)) for text, held in found.items() if len(held) == 1}


def card_language(card: Card) -> str:
    """The language a form card was rendered in ('fr', 'en'), read from its submit button
    (every form has one, from the catalogue of the language the engine spoke: dialogs/turn.py
    `Turn.tr`); "" when it cannot be told (no form, a label both languages share)."""
    if card.form is None:
        return ""
    return _submit_labels().get(card.form.submit_label, "")


def submission(body: Json, actor: Actor, signer: Signer) -> tuple[FormSubmitted, ModalMetadata]:
    """A `view_submission` as one FormSubmitted (ValueError when the modal is not ours,
    ForgedMetadata when its metadata was not signed for this person)."""
    view = body["view"]
    raw = view.get("private_metadata") or ""
    metadata = ModalMetadata.verified(raw, signer, actor.workspace, actor.user_ref)
    action, context = decode_form_reference(metadata.reference)
    values = values_from_view_state(view.get("state", {}).get("values", {}))
    where = place(actor.workspace, metadata.channel_id, metadata.channel_name)
    return FormSubmitted(actor, action, context, values, where), metadata


def input_errors(view: Json, tr: Tr, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """What can be said about a submitted modal without the database: a required input left
    empty, a text that the engine's `clean` would refuse (blank, longer than the input's
    `max_length`). {input name (block_id): message}; empty when nothing is wrong here (the
    engine still validates everything). Pure and cheap: it runs before the ack. `values`:
    the view's values when already read (`submission`)."""
    if values is None:
        values = values_from_view_state(view.get("state", {}).get("values", {}))
    errors: dict[str, str] = {}
    for block in view.get("blocks") or []:
        if not isinstance(block, Mapping) or block.get("type") != "input":
            continue
        name = str(block.get("block_id") or "")
        element = block.get("element") or {}
        if not name or name.startswith(RESERVED_BLOCK_PREFIX) or not isinstance(element, Mapping):
            continue
        value = values.get(str(element.get("action_id") or name), "")
        required = not block.get("optional", False)
        if element.get("type") == "plain_text_input":
            try:
                limit = int(element.get("max_length") or TEXT_INPUT_LENGTH)
            except (ValueError, TypeError, OverflowError):  # not a number: not ours to judge
                continue
            try:
                clean(value, max_length=limit, required=required)
            except TextRejected as problem:
                errors[name] = tr(problem.key, **problem.params)
            except ValueError:  # a limit clean() refuses (negative): not ours to judge
                continue
        elif required and not value:
            errors[name] = tr("slack.required")
    return errors


def button(action: Json, actor: Actor, where: Place | None = None) -> FormSubmitted | None:
    """One of our buttons pressed (`passerelle:<action>:<i>`), or None when it is not ours."""
    name = button_action(str(action.get("action_id", "")))
    if name is None:
        return None
    try:
        context = decode_context(str(action.get("value") or "{}"))
    except ValueError:
        return None
    return FormSubmitted(actor, name, context, {}, where)


def event_identity(body: Json) -> str | None:
    """What makes a delivery the same delivery: the Events API's event_id, a modal's view id,
    hash and values (a double-clicked submit; the same modal corrected after
    `response_action: errors` keeps its hash but not its values), or an action's trigger id.
    None for anything else, a malformed payload included (it is not de-duplicated). Lone
    surrogates in what a request carries are kept escaped: the identity is always text that
    encodes."""
    if not isinstance(body, Mapping):
        return None
    found: str | None = None
    if _text(body.get("event_id")):
        found = f"event:{body['event_id']}"
    elif body.get("type") == "view_submission":
        view = body.get("view")
        if isinstance(view, Mapping) and _text(view.get("id")) and _text(view.get("hash")):
            try:
                state = json.dumps(view.get("state") or {}, sort_keys=True, ensure_ascii=False)
            except (TypeError, ValueError, RecursionError):  # not a state Slack sends
                return None
            digest = hashlib.sha256(state.encode("utf-8", "backslashreplace")).hexdigest()[:24]
            found = f"view:{view['id']}:{view['hash']}:{digest}"
    elif body.get("type") == "block_actions" and _text(body.get("trigger_id")):
        found = f"action:{body['trigger_id']}"
    return None if found is None else found.encode("utf-8", "backslashreplace").decode()


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


# --------------------------------------------------------------------------- the intake
@dataclass(frozen=True)
class Delivery:
    """A submission (or a button that submits) as the intake keeps it, sealed, until the
    engine has recorded it: the event, and where the answer goes."""

    event: FormSubmitted
    metadata: ModalMetadata  # the channel it came from (a button's too)
    view_id: str = ""  # the modal to answer in ("" when the button was in a message)
    # The modal's state when its button was pressed: the answer replaces that state only,
    # so a second press (a double click) never overwrites the first press's answer.
    view_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        event = self.event
        return {
            "actor": dataclasses.asdict(event.actor),
            "action": event.action,
            "context": dict(event.context),
            "values": dict(event.values),
            "place": dataclasses.asdict(event.place) if event.place is not None else None,
            "metadata": self.metadata.encode(),
            "view_id": self.view_id,
            "view_hash": self.view_hash,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        place = data.get("place")
        event = FormSubmitted(
            Actor(**data["actor"]),
            str(data["action"]),
            {str(k): str(v) for k, v in (data.get("context") or {}).items()},
            {str(k): str(v) for k, v in (data.get("values") or {}).items()},
            Place(**place) if place else None,
        )
        metadata = ModalMetadata.decode(str(data.get("metadata") or "{}"))
        view_id, view_hash = str(data.get("view_id") or ""), str(data.get("view_hash") or "")
        return cls(event, metadata, view_id, view_hash)
