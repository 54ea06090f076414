"""The cells of the authorization matrix (tests/test_authorization.py): every command and form
action, with who may do it, including forged ids, Slack metadata and Teams card data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.teams.cards import ACTION_KEY, CONTEXT_KEY, submission
from bot.demo import DEMO_CHANNEL
from dialogs.administration import team_forms as team_admin
from dialogs.events import Actor, CommandReceived, FormSubmitted, InboundEvent, Place
from dialogs.i18n import Tr
from tests.authorization_world import (
    ACTORS,
    CHANNEL_C,
    CHANNEL_D,
    COORD,
    COORDINATOR,
    HUGE,
    IN_A,
    NONE,
    OTHER_TEAM,
    READERS,
    ROLES,
    SEALER,
    World,
)

# --------------------------------------------------------------------------- the cells
Make = Callable[[World, Actor], InboundEvent]


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[str]  # roles for which this is allowed; every other role is refused
    make: Make


def command(text: str, allowed: frozenset[str]) -> Case:
    return Case(
        f"command {text!r} in A's channel",
        allowed,
        lambda w, who: CommandReceived(who, text, DEMO_CHANNEL),
    )


def form(
    name: str, action: str, allowed: frozenset[str], **context: str
) -> Case:  # context values naming ids are looked up in the world ("@round_a")
    def make(w: World, who: Actor) -> InboundEvent:
        ctx = {"team": "demo"} | {
            k: w.ids[v[1:]] if v.startswith("@") else v for k, v in context.items()
        }
        values = dict(w.values.get(action, {}))
        if action == "tension.confirm":
            ctx |= {"text": "Les rencontres commencent en retard.", "theme": "other"}
        return FormSubmitted(who, action, ctx, values)

    return Case(name, allowed, make)


def setup_tagged_for(requester: str | None, place: Place, submitted_in: Place) -> Make:
    """A setup card for `requester` (the submitting person when None) in `place`."""

    def make(w: World, who: Actor) -> InboundEvent:
        asker = ACTORS[requester] if requester else who
        card = team_admin.setup_card(Tr("fr"), place, asker, SEALER)
        assert card.form is not None
        values = w.values["setup.save"] | {"name": "Équipe C"}
        return FormSubmitted(who, "setup.save", card.form.context, values, submitted_in)

    return make


def teams_data(data: dict[str, Any]) -> Make:
    """A Teams card submission whose `value` the client built (adapters.teams.cards)."""

    def make(w: World, who: Actor) -> InboundEvent:
        raw = json.loads(json.dumps(data).replace("@round_b", w.ids["round_b"]))
        found = submission(raw)
        assert found is not None, "a submission naming our action key is ours"
        action, context, values = found
        return FormSubmitted(who, action, context, values)

    return make


CASES = [
    # Commands, typed in team A's channel.
    command("aide", IN_A),
    command("bilan", IN_A),
    command("bilan passer", IN_A),
    command("bilan pause", IN_A),
    command("bilan reprendre", IN_A),
    command("tension", IN_A),
    command("reussite", IN_A),
    command("profil", IN_A),
    command("sommaire", READERS),
    command("sommaire csv", COORD),
    command("exporter", COORD),
    command("bilan maintenant", COORD),
    command("reflexif", COORD),
    command("horaire", COORD),
    command("parametres", COORD),
    command("lecteurs", COORD),
    command("configurer", COORD),  # in a linked channel: the settings, for its coordinator
    # Every form action, with team A's own ids.
    form("profile.save", "profile.save", IN_A),
    form("checkin.submit A's round", "checkin.submit", IN_A, round="@round_a"),
    form("checkin.skip A's round", "checkin.skip", IN_A, round="@round_a"),
    form("tension.preview", "tension.preview", IN_A, prompt=""),
    form("tension.edit", "tension.edit", IN_A),
    form("tension.cancel", "tension.cancel", IN_A),
    form("tension.confirm", "tension.confirm", IN_A, prompt=""),
    form("tension.approve A's", "tension.approve", COORD, tension="@tension_a"),
    form("tension.reject A's", "tension.reject", COORD, tension="@tension_a"),
    form("tension.reply_form A's", "tension.reply_form", COORD, tension="@tension_a"),
    form("tension.reply A's", "tension.reply", COORD, tension="@tension_a"),
    form("success.submit", "success.submit", IN_A, prompt=""),
    form("reflexive.save", "reflexive.save", COORD),
    form("reflexive.pre A's", "reflexive.pre", IN_A, occurrence="@occurrence_a"),
    form("reflexive.new", "reflexive.new", COORD),
    form("reflexive.edit A's", "reflexive.edit", COORD, schedule="@schedule_a"),
    form("reflexive.cancel A's", "reflexive.cancel", COORD, schedule="@schedule_a"),
    form("reflexive.cancel_confirm A's", "reflexive.cancel_confirm", COORD, schedule="@schedule_a"),
    form("open.approve A's", "open.approve", COORD, answer="@answer_a"),
    form("open.hide A's", "open.hide", COORD, answer="@answer_a"),
    form("settings.save", "settings.save", COORD),
    form("schedule.save", "schedule.save", COORD),
    form("setup.link_code", "setup.link_code", COORD),
    form("readers.save", "readers.save", COORD),
    form("readers.confirm A's member", "readers.confirm", COORD, member="@camille"),
    form("button: settings", "command", COORD, text="parametres"),
    form("button: summary", "command", READERS, text="sommaire"),
    # Forged action ids.
    form("forged action id", "tension.delete_all", NONE),
    form("empty action id", "", NONE),
    form("action id with a trailing space", "settings.save ", NONE),
    # Forged values naming another team's ids (team A's context, team B's rows).
    form("checkin.submit B's round", "checkin.submit", NONE, round="@round_b"),
    form("checkin.skip B's round", "checkin.skip", NONE, round="@round_b"),
    form("tension.approve B's", "tension.approve", NONE, tension="@tension_b"),
    form("tension.reply B's", "tension.reply", NONE, tension="@tension_b"),
    form("reflexive.pre B's", "reflexive.pre", NONE, occurrence="@occurrence_b"),
    form("reflexive.edit B's", "reflexive.edit", NONE, schedule="@schedule_b"),
    form("reflexive.cancel_confirm B's", "reflexive.cancel_confirm", NONE, schedule="@schedule_b"),
    form("open.approve B's", "open.approve", NONE, answer="@answer_b"),
    form("readers.confirm B's member", "readers.confirm", NONE, member="@olga"),
    form("settings.save naming team B", "settings.save", frozenset({OTHER_TEAM}), team="equipe-b"),
    form(
        "button naming team B", "command", frozenset({OTHER_TEAM}), team="equipe-b", text="horaire"
    ),
    form("checkin.submit round past 64 bits", "checkin.submit", NONE, round=HUGE),
    form("checkin.skip round past 64 bits", "checkin.skip", NONE, round=HUGE),
    form("checkin.submit negative round", "checkin.submit", NONE, round="-1"),
    form("tension.preview unknown prompt", "tension.preview", NONE, prompt="nope"),
    form("success.submit unknown prompt", "success.submit", NONE, prompt="nope"),
    form("button: tension, unknown prompt", "command", NONE, text="tension", prompt="nope"),
    # A setup card in a channel: only whoever asked for it submits it.
    Case(
        "setup card asked by the coordinator",
        COORD,
        setup_tagged_for(COORDINATOR, CHANNEL_C, CHANNEL_C),
    ),
    Case(
        "setup card asked by oneself",
        frozenset(ROLES),
        setup_tagged_for(None, CHANNEL_C, CHANNEL_C),
    ),
    Case(
        "setup card of channel C sent from channel D",
        NONE,
        setup_tagged_for(None, CHANNEL_C, CHANNEL_D),
    ),
    Case(
        "setup card without its tag",
        NONE,
        lambda w, who: FormSubmitted(
            who, "setup.save", {"channel": "canal-c"}, w.values["setup.save"], CHANNEL_C
        ),
    ),
    # Forged Teams card data.
    Case(
        "Teams data: context naming B's round",
        NONE,
        teams_data(
            {ACTION_KEY: "checkin.submit", CONTEXT_KEY: '{"team":"demo","round":"@round_b"}'}
        ),
    ),
    Case(
        "Teams data: round id past 64 bits",
        NONE,
        teams_data(
            {ACTION_KEY: "checkin.submit", CONTEXT_KEY: '{"team":"demo","round":' + HUGE + "}"}
        ),
    ),
    Case(
        "Teams data: unknown prompt id",
        NONE,
        teams_data(
            {
                ACTION_KEY: "tension.preview",
                CONTEXT_KEY: '{"team":"demo","prompt":"zzz"}',
                "text": "Une tension",
                "theme": "other",
            }
        ),
    ),
    Case(
        "Teams data: context not JSON",
        NONE,
        teams_data({ACTION_KEY: "settings.save", CONTEXT_KEY: "{not json", "k": "3"}),
    ),
    Case(
        "Teams data: context an object, not text",
        NONE,
        teams_data({ACTION_KEY: "settings.save", CONTEXT_KEY: {"team": "demo"}, "k": "3"}),
    ),
    Case(
        "Teams data: action not text",
        NONE,
        teams_data({ACTION_KEY: ["settings.save"], CONTEXT_KEY: '{"team":"demo"}'}),
    ),
]

CELLS = [(case, role) for case in CASES for role in ROLES]
