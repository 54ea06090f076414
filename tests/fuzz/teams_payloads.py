"""Probes for Teams' `POST /api/messages` in local mode (no app id, loopback): activities as
Teams sends them (messages with typed commands, card submissions whose `value` comes from a
real card, invokes, conversation updates) with drawn or mutated fields: serviceUrl (the fake
connector most of the time; empty, public, private, garbage or null otherwise: none of them
may be called), ids (huge, unknown, of the wrong type), card `data` (a round id past 64 bits,
an unknown prompt), unicode, nulls; and bodies that are not activities at all.
"""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import strategies as st

from adapters.teams.cards import ACTION_KEY, CONTEXT_KEY, adaptive_card
from tests.fake_connector import FakeConnector
from tests.fuzz.junk import (
    HUGE_INTS,
    dumps,
    generated,
    junk,
    maybe,
    mutate,
    one_of_weighted,
    texts,
)
from tests.fuzz.probe import Probe, Target
from tests.fuzz.slack_payloads import overridden
from tests.fuzz.world import COMMANDS, TEAMS_TEAM, World
from tests.teams_activities import TENANT, fill, in_channel, members_changed, person, personal

PATH = "/api/messages"
Json = dict[str, Any]
ACTIVITY_TYPES = (
    "message", "invoke", "conversationUpdate", "installationUpdate", "messageReaction",
    "event", "typing", "endOfConversation", "messageUpdate", "messageDelete",
)  # fmt: skip
ACTIONS = (
    "profile.save", "checkin.submit", "checkin.skip", "tension.preview", "tension.confirm",
    "tension.approve", "tension.reply", "success.submit", "reflexive.save", "open.approve",
    "settings.save", "schedule.save", "setup.save", "setup.link_code", "command",
)  # fmt: skip
BAD_SERVICE_URLS = (
    "", None, 5, "garbage", "https://smba.trafficmanager.net/amer/", "http://10.0.0.7/",
    "http://192.168.1.1:3978/", "https://example.com/", "ftp://127.0.0.1/", "http://[::1",
    "http://127.0.0.1:9/", "http://localhost:9/", "//127.0.0.1/", "http://0.0.0.0/",
)  # fmt: skip


class TeamsPayloads:
    def __init__(self, world: World, connector: FakeConnector) -> None:
        self.world = world
        self.service_url = connector.service_url
        self.users = world.teams.users
        self.conversations = {u: connector.personal_conversation_id(u, TENANT) for u in self.users}
        self.values: list[Json] = []  # what Teams sends when a real card is used
        for card in world.teams.cards:
            content = adaptive_card(card)
            if card.form is not None:
                self.values.append(fill(content))
            for act in content.get("actions", []):
                if act.get("associatedInputs") == "none" or card.form is None:
                    self.values.append(dict(act["data"]))
        self.round_ids = world.round_ids

    def targets(self) -> list[Target]:
        return [Target("teams /api/messages", self.make)]

    def make(self, count: int, seed: int, pool: int) -> list[Probe]:
        rng = random.Random(seed)
        drawn = generated(self.strategy(), int(count * 0.55), seed, pool, rng)
        probes = [_json(activity) for activity in drawn]
        probes += [_json(mutate(self.real(rng), rng)) for _ in range(int(count * 0.35))]
        while len(probes) < count:
            probes.append(garbage(rng, self.real(rng)))
        rng.shuffle(probes)
        return probes

    # ----------------------------------------------------------------- real activities
    def real(self, rng: random.Random) -> Json:
        ref = rng.choice(self.users)
        user = person(ref, ref)
        conversation = self.conversations[ref]
        pick = rng.random()
        if pick < 0.3:
            return personal(self.service_url, conversation, user, rng.choice(COMMANDS))
        if pick < 0.75:
            value = dict(rng.choice(self.values))
            return personal(self.service_url, conversation, user, value=value, reply_to="1")
        if pick < 0.85:
            channel = (TEAMS_TEAM[0], "General")
            return in_channel(self.service_url, TEAMS_TEAM, channel, user, rng.choice(COMMANDS))
        if pick < 0.95:
            added = [person(r, r) for r in rng.sample(self.users, 2)]
            return members_changed(self.service_url, TEAMS_TEAM, user, added=added)
        activity = personal(self.service_url, conversation, user)
        activity.update(type="invoke", name="adaptiveCard/action")
        activity["value"] = {"action": {"type": "Action.Execute", "data": rng.choice(self.values)}}
        return activity

    # ----------------------------------------------------------------- strategies
    def strategy(self) -> st.SearchStrategy[Json]:
        context = st.fixed_dictionaries(
            {},
            optional={
                "round": maybe([str(i) for i in self.round_ids] + [str(2**64), str(2**80), "-1"]),
                "prompt": maybe(["p-unknown", "", "0"]), "tension": junk(), "text": junk(),
                "theme": junk(), "occurrence": maybe([str(h) for h in HUGE_INTS]),
                "answer": junk(), "team": maybe([str(i) for i in self.world.team_ids]),
            },
        )  # fmt: skip
        forged = st.fixed_dictionaries(
            {ACTION_KEY: maybe(ACTIONS), CONTEXT_KEY: st.one_of(context.map(json.dumps), junk())},
            optional={"text": texts(), "theme": junk(), "q1": junk(), "position": junk()},
        )
        value = st.one_of(
            st.sampled_from(self.values), forged, forged,
            overridden(st.sampled_from(self.values), {(ACTION_KEY,): junk(), ("x",): junk()}),
            junk(),
        )  # fmt: skip
        base = st.builds(
            lambda ref, text: personal(
                self.service_url, self.conversations[ref], person(ref, ref), text
            ),
            st.sampled_from(self.users),
            st.one_of(st.sampled_from(COMMANDS), texts()),
        )
        return overridden(
            base,
            {
                ("type",): maybe(ACTIVITY_TYPES), ("value",): value, ("replyToId",): texts(),
                ("serviceUrl",): maybe([self.service_url], 0.3) | st.sampled_from(BAD_SERVICE_URLS),
                ("from", "id"): maybe(self.users), ("from",): junk(), ("id",): texts(),
                ("conversation", "id"): maybe(list(self.conversations.values())),
                ("conversation", "conversationType"): maybe(["personal", "channel", "groupChat"]),
                ("conversation",): junk(), ("channelData",): junk(),
                ("channelData", "tenant", "id"): maybe([TENANT]),
                ("channelData", "team", "id"): maybe([TEAMS_TEAM[0]]),
                ("recipient",): junk(), ("entities",): junk(), ("locale",): texts(),
                ("localTimezone",): maybe(["America/Toronto", "Mars/Olympus"]),
                ("name",): maybe(["adaptiveCard/action", "task/fetch", "composeExtension/query"]),
                ("membersAdded",): junk(), ("membersRemoved",): junk(), ("channelId",): junk(),
                ("timestamp",): junk(), ("attachments",): junk(), ("text",): junk(),
            },
        )  # fmt: skip


def _json(activity: Any) -> Probe:
    return Probe("POST", PATH, dumps(activity), (("Content-Type", "application/json"),))


def garbage(rng: random.Random, real: Json) -> Probe:
    def broken() -> Probe:
        body = rng.choice(
            [
                b"", b"{", b"[]", b"null", b"0", b'"x"', b"\xff\xfe", dumps(real)[:40],
                dumps(real) + b"\xc3", b"[" * 50_000 + b"]" * 50_000, b'{"type":NaN}',
                "{\"type\":\"message\",\"text\":\"\ud800\"}".encode("utf-8", "surrogatepass"),
            ]
        )  # fmt: skip
        content = rng.choice(
            ["application/json", "text/plain", "", "application/json; charset=latin-1"]
        )
        return Probe("POST", PATH, body, (("Content-Type", content),))

    def with_header() -> Probe:  # local mode: a token, garbage or not, changes nothing
        auth = rng.choice(["Bearer x", "Bearer " + "a" * 9000, "Basic Zm9vOmJhcg==", "\x7f"])
        return Probe("POST", PATH, dumps(real), (("Content-Type", "application/json"),
                                                 ("Authorization", auth)))  # fmt: skip

    def oversized() -> Probe:
        big = {**real, "text": "x" * 1_500_000}
        return Probe("POST", PATH, dumps(big), (("Content-Type", "application/json"),))

    def wrong_method() -> Probe:
        return Probe(rng.choice(["GET", "PUT", "DELETE"]), PATH, dumps(real))

    return one_of_weighted(
        rng, [(5, broken), (3, with_header), (0.1, oversized), (0.5, wrong_method)]
    )
