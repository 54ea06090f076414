"""The authorization matrix (issue 11): every command and every form action, as every role, with
forged action ids, forged ids of another team's rounds, tensions, answers, occurrences and
members, forged Slack `private_metadata` and forged Teams card `data`.

Roles: a member, a summary reader (confirmed), the coordinator of team A, the coordinator of
team B acting on A's things (a member of another team), and someone in no team. Passerelle has
no platform-wide administrator role (whoever runs the server holds the database, not a chat
role), so there is no such row.

A cell's expected answer is "allowed" or "refused". A refused cell must answer with a refusal
(never an error, never silence) and leave every table exactly as it was; refused cells run one
after another on one copy of the world, each between two snapshots of every table (a cell
that changes something fails, and the copy is replaced so the cells after it start from the
world again). An allowed cell changes the world, so it gets one of its own: a file copy on
SQLite, a transaction rolled back afterwards on PostgreSQL (tests/authz_copies.py). Both
databases run every cell. `test_forbidden_cells_allowed` prints the matrix's size and the
count of forbidden cells allowed (aim 0).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from adapters.slack import events as slack_events
from adapters.slack.blocks import form_metadata
from adapters.teams.cards import ACTION_KEY, CONTEXT_KEY, submission
from bot.demo import DEMO_CHANNEL
from dialogs.administration import team_forms as team_admin
from dialogs.cards import Card, ChoiceInput, ScaleInput, TextInput
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine, form_card
from dialogs.events import Actor, CommandReceived, FormSubmitted, InboundEvent, Place
from dialogs.i18n import Tr
from dialogs.rituals import registry
from dialogs.tensions import store as tension_store
from storage.database import Database
from storage.models import (
    Member,
    OpenAnswer,
    ReflexiveOccurrence,
    ReflexiveSchedule,
    Team,
    Tension,
)
from storage.sealing import Sealer
from tests.authz_copies import Copies, PostgresCopies, SqliteCopies, changed_tables, prepared
from tests.conftest import POSTGRES_ADMIN_URL, START, unavailable
from tests.helpers import actor as demo_actor
from tests.helpers import seeded

SEALER = Sealer.ephemeral()  # one key for the world and every copy (setup cards carry tags)
MEMBER, READER, COORDINATOR, OTHER_TEAM, NOBODY = (
    "member",
    "reader",
    "coordinator",
    "other team",
    "non-member",
)
ROLES = (MEMBER, READER, COORDINATOR, OTHER_TEAM, NOBODY)
IN_A = frozenset({MEMBER, READER, COORDINATOR})
READERS = frozenset({READER, COORDINATOR})
COORD = frozenset({COORDINATOR})
NONE: frozenset[str] = frozenset()
OLGA = Actor("sandbox", "", "olga", "Olga Petrova", "America/Toronto", "fr-CA")
ACTORS = {
    MEMBER: demo_actor("camille"),
    READER: demo_actor("nadia"),
    COORDINATOR: demo_actor("emilie"),
    OTHER_TEAM: OLGA,
    NOBODY: Actor("sandbox", "", "personne", "Personne", "America/Toronto", "fr-CA"),
}
CHANNEL_B = Place("sandbox", "", "canal-b", "canal-b")
CHANNEL_C = Place("sandbox", "", "canal-c", "canal-c")  # not linked to any team
CHANNEL_D = Place("sandbox", "", "canal-d", "canal-d")
REFUSAL_TITLES = {Tr(lang)("errors.refused_title") for lang in ("fr", "en")}
OUTSIDER_TITLES = {Tr(lang)("help.title_generic") for lang in ("fr", "en")}
ERROR_TITLES = {Tr(lang)("errors.internal_title") for lang in ("fr", "en")}
HUGE = "9" * 30  # a round id past 64 bits


# --------------------------------------------------------------------------- the world
@dataclass
class World:
    ids: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)


def filled(card: Card | None) -> dict[str, str]:
    """Valid values for a form: its defaults, a middle answer, a text where one is needed."""
    assert card is not None and card.form is not None
    values: dict[str, str] = {}
    for block in card.inputs():
        if isinstance(block, ScaleInput):
            values[block.name] = "3"
        elif isinstance(block, ChoiceInput):
            values[block.name] = block.default or block.options[0].value
        elif isinstance(block, TextInput):
            values[block.name] = block.default or ("Texte du test" if block.required else "")
    return values


async def build(database: Database) -> World:
    engine = Engine(database, clock=lambda: START, sealer=SEALER)
    await seeded(engine)
    world = World()
    emilie = ACTORS[COORDINATOR]
    (setup_b,) = await engine.handle(CommandReceived(OLGA, "configurer", CHANNEL_B))
    assert setup_b.form is not None
    values = filled(setup_b) | {"name": "Équipe B", "k": "3"}
    await engine.handle(FormSubmitted(OLGA, "setup.save", setup_b.form.context, values, CHANNEL_B))
    await engine.handle(CommandReceived(emilie, "bilan maintenant"))
    await engine.handle(CommandReceived(OLGA, "bilan maintenant"))
    async with database.session() as session, session.begin():
        for slug, key in (("demo", "a"), ("equipe-b", "b")):
            team = await session.scalar(select(Team).where(Team.slug == slug))
            assert team is not None
            round_ = await rounds.open_round_of(session, team.id)
            assert round_ is not None
            tension = Tension(
                team_id=team.id,
                text=f"Tension de l’équipe {key}",
                status=tension_store.PENDING_REVIEW,
                created_on=START.date(),
                followup_hash=uuid.uuid4().hex,
                dedupe_key=uuid.uuid4().hex,
            )
            answer = OpenAnswer(
                round_id=round_.id,
                question_id="q",
                text="Réponse ouverte",
                status="pending_review",
                day=START.date(),
            )
            schedule = ReflexiveSchedule(
                team_id=team.id,
                prompt_id=engine.bank.reflexive_prompts[0].id,
                first_local=dt.datetime(2026, 12, 10, 13, 30),
                dedupe_key=uuid.uuid4().hex,
            )
            session.add_all([tension, answer, schedule])
            await session.flush()
            occurrence = ReflexiveOccurrence(
                schedule_id=schedule.id, occurs_at=START + dt.timedelta(days=2)
            )
            session.add(occurrence)
            await session.flush()
            world.ids |= {
                f"round_{key}": str(round_.id),
                f"tension_{key}": tension.id,
                f"answer_{key}": answer.id,
                f"occurrence_{key}": str(occurrence.id),
            }
        for user_ref in ("camille", "olga"):
            member = await session.scalar(select(Member).where(Member.user_ref == user_ref))
            assert member is not None
            world.ids[user_ref] = str(member.id)
    camille = ACTORS[MEMBER]
    a = {"team": "demo"}
    for who, action, context in (
        (camille, "profile.save", a),
        (camille, "checkin.submit", a | {"round": world.ids["round_a"]}),
        (camille, "tension.preview", a),
        (camille, "success.submit", a),
        (camille, "reflexive.pre", a | {"occurrence": world.ids["occurrence_a"]}),
        (emilie, "tension.reply", a | {"tension": world.ids["tension_a"]}),
        (emilie, "reflexive.save", a),
        (emilie, "settings.save", a),
        (emilie, "schedule.save", a),
        (emilie, "readers.save", a),
    ):
        world.values[action] = filled(await form_card(engine, who, None, action, context))
    world.values["readers.save"] |= {"member": world.ids["camille"], "reads": "yes"}
    world.values["tension.preview"] |= {"text": "Les rencontres commencent en retard."}
    world.values["setup.save"] = filled(team_admin.setup_card(Tr("fr"), CHANNEL_C, emilie, SEALER))
    return world


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


# --------------------------------------------------------------------------- copies of the world
@dataclass
class Matrix:
    """One database's world and its copies (tests/authz_copies.py), and what its cells did."""

    copies: Copies
    world: World
    ran: dict[str, int] = field(default_factory=lambda: {"allowed": 0, "refused": 0})


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_ok: bool
) -> AsyncIterator[Matrix]:
    copies: Copies
    if request.param == "sqlite":
        copies = SqliteCopies(tmp_path_factory.mktemp("authz"))
    else:
        if not postgres_ok:
            unavailable("PostgreSQL is not reachable at " + POSTGRES_ADMIN_URL)
        copies = PostgresCopies()
        await copies.create()
    try:
        made = Matrix(copies, await prepared(copies, build))
        MATRICES[copies.kind] = made
        yield made
        await copies.close()
    finally:
        if isinstance(copies, PostgresCopies):
            await copies.destroy()


# --------------------------------------------------------------------------- one cell
def outcome(cards: list[Card]) -> str:
    if not cards:
        return "silent"
    titles = {card.title for card in cards}
    if titles & ERROR_TITLES:
        return "error"
    if titles & (REFUSAL_TITLES | OUTSIDER_TITLES):
        return "refused"
    return "allowed"


FORBIDDEN_ALLOWED: list[str] = []
MATRICES: dict[str, Matrix] = {}  # per database, for the figures


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("case", "role"), CELLS, ids=[f"{c.name} | {r}" for c, r in CELLS])
async def test_cell(case: Case, role: str, matrix: Matrix) -> None:
    event = case.make(matrix.world, ACTORS[role])
    label = f"{case.name} | {role}"
    copies = matrix.copies
    if role in case.allowed:
        matrix.ran["allowed"] += 1
        async with copies.own() as database:  # a world of its own: allowed cells change it
            cards = await Engine(database, clock=lambda: START, sealer=SEALER).handle(event)
        assert outcome(cards) == "allowed", (label, [c.title for c in cards], cards)
        return
    # Refused: on the shared copy, right after the cell before, between two snapshots.
    matrix.ran["refused"] += 1
    database = copies.shared
    before = await copies.snapshot(database)
    cards = await Engine(database, clock=lambda: START, sealer=SEALER).handle(event)
    after = await copies.snapshot(database)
    got = outcome(cards)
    changed = changed_tables(before, after)
    if changed:
        await copies.renew()  # the cells after this one start from the world again
    if got != "refused" or changed:
        FORBIDDEN_ALLOWED.append(f"{copies.kind}: {label}: answered {got}, changed {changed}")
    assert got == "refused", (label, cards)
    assert not changed, (label, changed)


def test_forbidden_cells_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    """The matrix's figures, printed whatever pytest captures (run after the cells)."""
    forbidden = sum(1 for case, role in CELLS if role not in case.allowed)
    with capsys.disabled():
        print(
            f"\nauthorization matrix: {len(CASES)} cases x {len(ROLES)} roles = {len(CELLS)} "
            f"cells per database ({forbidden} forbidden, {len(CELLS) - forbidden} allowed)"
        )
        for kind, made in MATRICES.items():
            print(
                f"  {kind}: {made.ran['refused']} forbidden cells run on one copy, "
                f"{made.ran['allowed']} allowed cells each on a world of its own; "
                f"database copies made: {made.copies.copies_made}"
            )
        print(f"  forbidden cells allowed: {len(FORBIDDEN_ALLOWED)}")
        for line in FORBIDDEN_ALLOWED:
            print("  allowed:", line)
    assert FORBIDDEN_ALLOWED == []


def test_the_slack_bridge_refuses_forged_private_metadata() -> None:
    """Slack's `private_metadata` is signed for the person the modal is for: metadata naming
    another channel, or signed for someone else, never reaches the engine."""
    asker = Actor("slack", "T0", "U0ASKER")
    other = Actor("slack", "T0", "U0OTHER")
    card = team_admin.setup_card(Tr("fr"), Place("slack", "T0", "C0ONE", "un"), asker, SEALER)
    assert card.form is not None
    reference = form_metadata(card.form)

    def body(metadata: str) -> dict[str, Any]:
        return {"view": {"private_metadata": metadata, "state": {"values": {}}}}

    signed = slack_events.ModalMetadata(reference, "C0ONE", "un").signed(
        SEALER.tag, "T0", "U0ASKER"
    )
    event, _ = slack_events.submission(body(signed), asker, SEALER.tag)
    assert event.place is not None and event.place.channel_ref == "C0ONE"
    assert team_admin.setup_requested_by(SEALER, asker, event.place, event.context)
    forged = json.loads(signed) | {"ch": "C0TWO"}  # another channel, the signature kept
    with pytest.raises(slack_events.ForgedMetadata):
        slack_events.submission(body(json.dumps(forged)), asker, SEALER.tag)
    with pytest.raises(slack_events.ForgedMetadata):  # signed for the asker, sent by another
        slack_events.submission(body(signed), other, SEALER.tag)
    # Signed for the other person (the form re-opened by them) but bound to the asker's card:
    resigned = slack_events.ModalMetadata(reference, "C0ONE", "un").signed(
        SEALER.tag, "T0", "U0OTHER"
    )
    event, _ = slack_events.submission(body(resigned), other, SEALER.tag)
    assert event.place is not None
    assert not team_admin.setup_requested_by(SEALER, other, event.place, event.context)
    # ... and a card bound to channel one, re-signed for channel two, is not channel two's.
    moved = slack_events.ModalMetadata(reference, "C0TWO", "deux").signed(
        SEALER.tag, "T0", "U0ASKER"
    )
    event, _ = slack_events.submission(body(moved), asker, SEALER.tag)
    assert event.place is not None
    assert not team_admin.setup_requested_by(SEALER, asker, event.place, event.context)
    outside = [name for name, spec in registry().actions.items() if spec.outside_team]
    assert outside == ["setup.save"]  # the only action taken outside a team
