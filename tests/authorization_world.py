"""The world the authorization matrix (tests/test_authorization.py) runs in: two teams, a
reader, their coordinators, an outsider, and the things each could forge an id of."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from dialogs.administration import team_forms as team_admin
from dialogs.cards import Card, ChoiceInput, ScaleInput, TextInput
from dialogs.checkins import round_store as rounds
from dialogs.checkins.models import OpenAnswer
from dialogs.engine import Engine, form_card
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from dialogs.i18n import Tr
from dialogs.reflexive.models import ReflexiveOccurrence, ReflexiveSchedule
from dialogs.tensions import store as tension_store
from dialogs.tensions.models import Tension
from storage.database import Database
from storage.models import Member, Team
from storage.sealing import Sealer
from tests.conftest import START
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
            values[block.name] = block.default or next(o.value for o in block.options if o.value)
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
                f"schedule_{key}": str(schedule.id),
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
