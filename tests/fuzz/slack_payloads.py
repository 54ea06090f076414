"""Probes for `POST /slack/events`: the Events API, interactivity and slash commands, signed
with the app's secret so that they reach the app's logic, plus a share that Slack would never
send (unsigned, wrong signature, stale timestamp, bytes that are not UTF-8, not JSON, too big).

Each target mixes three sources: hypothesis strategies over the real shapes (fields drawn from
real ids most of the time, junk otherwise), mutations of real payloads (a modal signed for its
person, a real button of a real card), and raw garbage.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.replies import CALLBACK_ID
from tests.fake_slack import FakeSlack
from tests.fuzz.junk import (
    SPECIAL_TEXTS,
    as_text,
    dumps,
    form_body,
    generated,
    junk,
    maybe,
    mutate,
    one_of_weighted,
    texts,
)
from tests.fuzz.probe import SIGN_SLACK, Probe, Target
from tests.fuzz.world import COMMANDS, SLACK_CHANNEL, World
from tests.slack_signing import (
    APP_ID,
    TEAM_ID,
    action,
    app_home_opened,
    block_actions,
    event_callback,
    interaction,
    member_joined_channel,
    message_im,
    slash_command,
    state_values,
    view_closed,
    view_submission,
)

PATH = "/slack/events"
Json = dict[str, Any]
EVENT_TYPES = (
    "member_joined_channel", "member_left_channel", "app_home_opened", "tokens_revoked",
    "app_uninstalled", "message", "app_mention", "team_join", "reaction_added",
)  # fmt: skip
PAYLOAD_TYPES = (
    "block_actions", "view_submission", "view_closed", "shortcut", "message_action",
    "block_suggestion", "interactive_message", "dialog_submission",
)  # fmt: skip


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`tree` with `value` at `path`, intermediate containers made dicts when they are not."""
    if not path:
        return value
    if not isinstance(tree, dict):
        tree = {}
    tree[path[0]] = _set(tree.get(path[0]), path[1:], value)
    return tree


def overridden(base: st.SearchStrategy[Any], fields: dict[tuple[Any, ...], Any]) -> Any:
    """A real payload with some of `fields` (path -> strategy) drawn instead."""
    optional = st.fixed_dictionaries({}, optional=fields)

    def apply(pair: tuple[Any, dict[tuple[Any, ...], Any]]) -> Any:
        payload, changes = pair
        for path, value in changes.items():
            payload = _set(payload, path, value)
        return payload

    return st.tuples(base, optional).map(apply)


class SlackPayloads:
    def __init__(self, world: World, slack: FakeSlack) -> None:
        self.world = world
        self.users = world.slack.users
        self.channels = [SLACK_CHANNEL, "D0FUZZ001", "C0NOTOURS"]
        self.workspaces = [TEAM_ID, "T0OTHER01"]
        # Modals as Slack holds them (views.open would have stored them), with their person.
        self.modals = [(user, slack.add_view(view)) for user, view in world.slack_modals]
        self.buttons: list[tuple[str, list[Json], Json]] = []
        for user, blocks in world.slack_messages:
            for action_id in _action_ids(blocks):
                self.buttons.append((user, blocks, action(blocks, action_id)))

    def targets(self) -> list[Target]:
        return [
            Target("slack events", self._mixed(self.event_strategy, dumps, self.real_event)),
            Target(
                "slack interactivity",
                self._mixed(self.interaction_strategy, interaction, self.real_interaction),
            ),
            Target(
                "slack commands", self._mixed(self.command_strategy, _command, self.real_command)
            ),
        ]

    # ----------------------------------------------------------------- mixing
    def _mixed(self, strategy: Any, encode: Any, real: Any) -> Any:
        def make(count: int, seed: int, pool: int) -> list[Probe]:
            rng = random.Random(seed)
            drawn = generated(strategy(), int(count * 0.55), seed, pool, rng)
            probes = [_signed(encode(payload)) for payload in drawn]
            mutated = int(count * 0.35)
            probes += [_signed(real(rng, mutate_it=True)) for _ in range(mutated)]
            while len(probes) < count:
                probes.append(garbage(rng, real(rng, mutate_it=False)))
            rng.shuffle(probes)
            return probes

        return make

    # ----------------------------------------------------------------- events
    def event_strategy(self) -> st.SearchStrategy[Json]:
        users, channels = maybe(self.users), maybe(self.channels)
        event = st.fixed_dictionaries(
            {"type": maybe(EVENT_TYPES)},
            optional={
                "user": users, "channel": channels, "tab": maybe(["home", "messages"]),
                "channel_type": maybe(["C", "im", "G"]), "event_ts": junk(), "text": texts(),
                "team": maybe(self.workspaces), "inviter": users, "view": junk(),
                "tokens": st.fixed_dictionaries({"oauth": junk(), "bot": junk()}) | junk(),
                "subtype": maybe(["bot_message", "message_changed"]),
            },
        )  # fmt: skip
        envelope = st.fixed_dictionaries(
            {
                "type": maybe(["event_callback", "url_verification", "app_rate_limited"]),
                "team_id": maybe(self.workspaces), "api_app_id": maybe([APP_ID]),
                "event": st.one_of(event, event, event, junk()), "event_id": texts(24),
            },
            optional={
                "event_time": junk(), "authorizations": junk(), "challenge": junk(),
                "context_team_id": maybe(self.workspaces), "enterprise_id": junk(),
                "is_ext_shared_channel": junk(), "token": junk(),
            },
        )  # fmt: skip
        return envelope

    def real_event(self, rng: random.Random, *, mutate_it: bool) -> bytes:
        user, channel = rng.choice(self.users), rng.choice(self.channels)
        event = rng.choice(
            [
                member_joined_channel(user, channel),
                {"type": "member_left_channel", "user": user, "channel": channel},
                app_home_opened(user, "D0FUZZ001"),
                message_im(user, "D0FUZZ001", rng.choice(COMMANDS)),
                {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0NOBODY"]}},
            ]
        )
        body = event_callback(event, team_id=rng.choice(self.workspaces))
        if not mutate_it:
            return body
        import json

        return dumps(mutate(json.loads(body), rng))

    # ----------------------------------------------------------------- interactivity
    def interaction_strategy(self) -> st.SearchStrategy[Any]:
        users = maybe(self.users)
        buttons = overridden(
            st.sampled_from(self.buttons).map(self._button_payload),
            {
                ("user", "id"): users, ("team", "id"): maybe(self.workspaces),
                ("actions", 0, "value"): junk(), ("actions", 0, "action_id"): texts(),
                ("actions",): junk(), ("container",): junk(), ("view",): junk(),
                ("message",): junk(), ("trigger_id",): texts(), ("type",): maybe(PAYLOAD_TYPES),
            },
        )  # fmt: skip
        submissions = st.sampled_from(self.modals).flatmap(self._submission_strategy)
        closed = overridden(
            st.sampled_from(self.modals).map(self._closed_payload),
            {("view",): junk(), ("view", "callback_id"): maybe([RECORDING_CALLBACK_ID]),
             ("user",): junk(), ("team",): junk(), ("is_cleared",): junk()},
        )  # fmt: skip
        other = st.fixed_dictionaries(
            {"type": maybe(PAYLOAD_TYPES, 0.5)},
            optional={"user": junk(), "team": junk(), "callback_id": junk(), "actions": junk()},
        )
        return st.one_of(buttons, submissions, submissions, closed, other, junk())

    def _button_payload(self, sample: tuple[str, list[Json], Json]) -> Json:
        user, blocks, entry = sample
        message = {"ts": "1764000000.000100", "blocks": blocks, "text": "fuzz"}
        return block_actions([dict(entry)], user_id=user, channel_id="D0FUZZ001", message=message)

    def _closed_payload(self, sample: tuple[str, Json]) -> Json:
        user, view = sample
        shown = {**view, "callback_id": RECORDING_CALLBACK_ID}
        return view_closed(shown, user_id=user)

    def _submission_strategy(self, sample: tuple[str, Json]) -> st.SearchStrategy[Json]:
        user, view = sample
        entries: dict[str, Any] = {}
        for block in view.get("blocks", []):
            element = block.get("element") if block.get("type") == "input" else None
            if isinstance(element, dict):
                entries[block["block_id"]] = st.fixed_dictionaries(
                    {element["action_id"]: _entry_strategy(element)}
                )
        values = st.fixed_dictionaries(entries) | junk()
        base = st.builds(
            lambda v: view_submission(view, user_id=user, values=v, strict=False), values
        )
        metadata = view.get("private_metadata", "")
        return overridden(
            base,
            {
                ("user", "id"): maybe(self.users, 0.3), ("team", "id"): maybe(self.workspaces),
                ("view", "private_metadata"): maybe([metadata[:-1], metadata + " "], 0.3),
                ("view", "callback_id"): maybe([CALLBACK_ID, RECORDING_CALLBACK_ID]),
                ("view", "id"): texts(12), ("view", "hash"): junk(), ("view",): junk(),
                ("view", "state"): junk(),
            },
        )  # fmt: skip

    def real_interaction(self, rng: random.Random, *, mutate_it: bool) -> bytes:
        kind = rng.random()
        if kind < 0.45:
            user, view = rng.choice(self.modals)
            answers = _answers(view, rng)
            values = state_values(view.get("blocks", []), answers, strict=False)
            payload = view_submission(view, user_id=user, values=values)
        elif kind < 0.9:
            payload = self._button_payload(rng.choice(self.buttons))
        else:
            payload = self._closed_payload(rng.choice(self.modals))
        return interaction(mutate(payload, rng) if mutate_it else payload)

    # ----------------------------------------------------------------- commands
    def command_strategy(self) -> st.SearchStrategy[list[list[Any]]]:
        words = st.sampled_from(COMMANDS)
        text = st.one_of(words, words, texts(), st.tuples(words, texts()).map(" ".join))
        fields = st.fixed_dictionaries(
            {
                "token": maybe(["fakeVerificationToken123"]), "team_id": maybe(self.workspaces),
                "channel_id": maybe(self.channels), "user_id": maybe(self.users),
                "command": maybe(["/passerelle"]), "text": text, "api_app_id": maybe([APP_ID]),
                "trigger_id": texts(), "channel_name": texts(), "user_name": texts(),
                "response_url": maybe(["http://127.0.0.1:9/webhook/fuzz"]),
            }
        )  # fmt: skip
        dropped = st.sets(st.sampled_from(["team_id", "user_id", "command", "text"]), max_size=2)
        return st.tuples(fields, dropped).map(
            lambda pair: [[k, v] for k, v in pair[0].items() if k not in pair[1]]
        )

    def real_command(self, rng: random.Random, *, mutate_it: bool) -> bytes:
        body = slash_command(
            rng.choice(COMMANDS), rng.choice(self.users), rng.choice(self.channels),
            response_url="http://127.0.0.1:9/webhook/fuzz",
        )  # fmt: skip
        if not mutate_it:
            return body
        from urllib.parse import parse_qsl

        return _command(mutate([list(pair) for pair in parse_qsl(body.decode())], rng))


def _command(fields: Any) -> bytes:
    return form_body((as_text(k), as_text(v)) for k, v, *_ in _pairs(fields))


def _pairs(value: Any) -> list[list[Any]]:
    """A mutated list of [key, value] pairs, read back leniently."""
    if not isinstance(value, list):
        return [["text", value]]
    return [p if isinstance(p, list) and len(p) >= 2 else ["text", p] for p in value]


def _action_ids(blocks: list[Json]) -> list[str]:
    found = []
    for block in blocks:
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements = [*elements, block["accessory"]]
        found += [e["action_id"] for e in elements if "action_id" in e]
    return found


def _options(element: Json) -> list[str]:
    """The values a select offers, in groups too (time zones are grouped by region)."""
    grouped = [o for g in element.get("option_groups", []) for o in g.get("options", [])]
    return [o["value"] for o in [*element.get("options", []), *grouped]]


def _entry_strategy(element: Json) -> st.SearchStrategy[Any]:
    kind = element.get("type", "")
    options = _options(element)
    option = (
        st.sampled_from(options).map(
            lambda v: {"text": {"type": "plain_text", "text": v}, "value": v}
        )
        if options
        else junk()
    )
    return st.one_of(
        st.fixed_dictionaries({"type": st.just(kind), "selected_option": option | junk()}),
        st.fixed_dictionaries({"type": st.just(kind), "value": texts(3_100) | junk()}),
        st.fixed_dictionaries({"type": texts(), "selected_options": junk()}),
        junk(),
    )


def _answers(view: Json, rng: random.Random) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        options = _options(element)
        answers[element["action_id"]] = (
            rng.choice(options) if options else rng.choice([*COMMANDS, *SPECIAL_TEXTS[:3]])
        )
    return answers


# --------------------------------------------------------------------------- garbage
def _signed(body: bytes) -> Probe:
    return Probe("POST", PATH, body, _content_type(body), sign=SIGN_SLACK)


def _content_type(body: bytes) -> tuple[tuple[str, str], ...]:
    kind = "application/json" if body.lstrip().startswith(b"{") else None
    return (("Content-Type", kind or "application/x-www-form-urlencoded"),)


def garbage(rng: random.Random, real: bytes) -> Probe:
    """What Slack never sends: no or a wrong signature, stale time, broken bodies (signed)."""
    headers = _content_type(real)

    def unsigned() -> Probe:
        return Probe("POST", PATH, real, headers)

    def forged() -> Probe:
        sig = rng.choice(["v0=" + "0" * 64, "v1=abc", "", "v0=" + "é" * 64])
        ts = rng.choice(["1", "", "-5", "abc", str(2**70), "1764000000"])
        return Probe("POST", PATH, real, (*headers, ("X-Slack-Signature", sig),
                                          ("X-Slack-Request-Timestamp", ts)))  # fmt: skip

    def broken() -> Probe:
        body = rng.choice(
            [
                b"", b"{", b"payload=", b"payload=%7B", b"payload=%FF%FE", b"\xff\xfe\x00",
                b"payload=" + b"%5B" * 5000, real[: len(real) // 2], real + b"\xc3",
                "payload=\ud800".encode("utf-8", "surrogatepass"), b"[1,2]", b"null",
                b"a=1&a=2&payload=null", dumps(rng.choice(SPECIAL_TEXTS)),
                b'{"type":"event_callback","event":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
            ]
        )  # fmt: skip
        content = rng.choice(["application/json", "application/x-www-form-urlencoded",
                              "multipart/form-data; boundary=x", "text/plain", "\x7f"])  # fmt: skip
        return Probe("POST", PATH, body, (("Content-Type", content),), sign=SIGN_SLACK)

    def oversized() -> Probe:
        return Probe("POST", PATH, b"payload=" + b"x" * 1_500_000, headers, sign=SIGN_SLACK)

    def wrong_method() -> Probe:
        return Probe(rng.choice(["GET", "PUT", "DELETE", "PATCH"]), PATH, real, headers)

    return one_of_weighted(
        rng,
        [(3, unsigned), (3, forged), (4, broken), (0.1, oversized), (0.5, wrong_method)],
    )
