"""Commands, roles, forms and the errors people see, through the engine. Reviews, limits and
retention: tests/test_engine_safeguards.py."""

from __future__ import annotations

import pytest

from bot.demo import DEMO_CHANNEL
from bot.outbox_worker import OutboxWorker
from dialogs.cards import ChoiceInput, ScaleInput, TextInput
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, MemberJoined, MemberLeft, Place
from storage import teams
from tests.conftest import SQLITE_ONLY, Clock, RecordingSender
from tests.helpers import field_names, lead, say, seeded, submit, submit_card, text_of

# These tests exercise dialogs, not SQL: SQLite alone keeps them quick.
pytestmark = SQLITE_ONLY


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("help", "aide"),
        ("checkin", "bilan"),
        ("success", "réussite"),
        ("profile", "profil"),
        ("summary", "sommaire"),
        ("schedule", "horaire"),
        ("settings", "paramètres"),
        ("reflexive", "réflexif"),
    ],
)
async def test_commands_exist_in_both_languages(engine: Engine, english: str, french: str) -> None:
    await seeded(engine)
    assert [c.title for c in await say(engine, "emilie", english)] == [
        c.title for c in await say(engine, "emilie", french)
    ]


async def test_help_lists_what_each_person_may_do(engine: Engine) -> None:
    await seeded(engine)
    member = text_of(await say(engine, "sophie", "aide"))
    manager = text_of(await say(engine, "nadia", "aide"))
    coordinator = text_of(await say(engine, "emilie", "/passerelle aide"))
    assert "tension" in member and "sommaire" not in member and "horaire" not in member
    assert "sommaire" in manager and "horaire" not in manager
    assert "horaire" in coordinator and "bilan maintenant" in coordinator
    english = text_of(await say(engine, "aisha", "help"))
    assert "share a success" in english


async def test_unknown_command_and_stranger(engine: Engine) -> None:
    await seeded(engine)
    assert "« danse »" in text_of(await say(engine, "camille", "danse"))
    stranger = await engine.handle(CommandReceived(Actor("sandbox", "", "nobody"), "checkin"))
    assert "pas encore partie d’une équipe" in text_of(stranger)


async def test_roles_are_enforced(engine: Engine) -> None:
    await seeded(engine)
    assert "coordination" in text_of(await say(engine, "camille", "settings"))
    assert "coordination" in text_of(await say(engine, "camille", "checkin now"))
    assert "choisies pour le lire" in text_of(await say(engine, "camille", "summary"))
    card = (await say(engine, "emilie", "settings"))[0]
    refused = await submit_card(engine, "camille", card, {"k": "3"})
    assert "coordination" in text_of(refused)


async def test_bad_profile_input_is_explained_and_kept(engine: Engine) -> None:
    await seeded(engine)
    card = (await say(engine, "camille", "profil"))[0]
    values = {
        "sector": "community",
        "position": "manager",
        "language": "fr",
        "timezone": "Mars/Olympus",
        "paused_until": "",
        "quiet_start": "21",
        "quiet_end": "7",
    }
    again = (await submit_card(engine, "camille", card, values))[0]
    assert "Mars/Olympus" in lead(again)  # the reason, first
    kept = {b.name: b.default for b in again.blocks if isinstance(b, ChoiceInput | TextInput)}
    assert kept["timezone"] == "Mars/Olympus" and kept["sector"] == "community"
    async with engine.database.session() as session:
        member = await teams.member_in(session, 1, "sandbox", "", "camille")
        assert member is not None and member.sector == "public"  # nothing changed
    values["paused_until"] = "2020-01-01"
    values["timezone"] = "America/Montreal"
    assert "futur" in text_of(await submit_card(engine, "camille", card, values))


async def test_check_in_needs_every_item_and_keeps_what_was_typed(engine: Engine) -> None:
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    card = (await say(engine, "camille", "bilan"))[0]
    names = [n for n in field_names(card) if n.startswith("item:")]
    values = {n: "4" for n in names[:-1]} | {"open": "Mon idée"}
    again = (await submit_card(engine, "camille", card, values))[0]
    assert lead(again).startswith("⚠")
    assert next(b for b in again.blocks if isinstance(b, TextInput)).default == "Mon idée"
    values[names[-1]] = "skip"
    assert "Merci" in text_of(await submit_card(engine, "camille", card, values))
    tampered = dict(values)
    tampered[names[0]] = "9"
    assert "⚠" in text_of(await submit_card(engine, "sophie", card, tampered))  # 9 is no answer


async def test_paused_member_is_not_asked_and_can_resume(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    card = (await say(engine, "camille", "profil"))[0]
    await submit_card(
        engine,
        "camille",
        card,
        {
            "sector": "public",
            "position": "front_line",
            "language": "fr",
            "timezone": "America/Toronto",
            "paused_until": "2026-12-31",
            "quiet_start": "20",
            "quiet_end": "8",
        },
    )
    result = await engine.jobs.run("checkin", "demo")
    assert result.count == 8
    assert "pas été envoyé" in text_of(await say(engine, "camille", "bilan"))
    assert "recevrez de nouveau" in text_of(await say(engine, "camille", "bilan reprendre"))


async def test_setup_in_a_new_channel_creates_a_team(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    place = Place("sandbox", "", "autre-canal", "projet-jeunesse")
    founder = Actor("sandbox", "", "zoe", "Zoé Martin", "America/Montreal", "fr-CA")
    assert "configurer" in text_of(await engine.handle(CommandReceived(founder, "configurer")))
    form = (await engine.handle(CommandReceived(founder, "configurer", place)))[0]
    assert form.form is not None and form.form.action == "setup.save"
    values = {
        "name": "Projet jeunesse",
        "language": "fr",
        "timezone": "America/Montreal",
        "checkin_weekday": "2",
        "checkin_hour": "9",
        "checkin_every_weeks": "2",
        "k": "2",
    }
    low_k = await engine.handle(
        FormSubmitted(founder, "setup.save", form.form.context, values, place)
    )
    assert "entre 3 et 50" in text_of(low_k)
    values["k"] = "4"
    done = await engine.handle(
        FormSubmitted(founder, "setup.save", form.form.context, values, place)
    )
    assert "Projet jeunesse" in text_of(done)
    again = await engine.handle(
        FormSubmitted(founder, "setup.save", form.form.context, values, place)
    )
    assert "déjà relié" in text_of(again)
    newcomer = Actor("sandbox", "", "yves", "Yves", None, "en-US")
    await engine.handle(MemberJoined(newcomer, place))
    await worker.drain()
    assert sender.titles("yves") == ["Welcome to Passerelle — Projet jeunesse"]
    assert sender.titles("zoe") == ["Bienvenue dans Passerelle — Projet jeunesse"]
    await engine.handle(MemberLeft(newcomer, place))
    assert "not in a Passerelle" in text_of(await engine.handle(CommandReceived(newcomer, "help")))


async def test_joining_during_a_round_is_asked_too(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    await engine.handle(
        MemberJoined(Actor("sandbox", "", "paul", "Paul", None, "fr"), DEMO_CHANNEL)
    )
    await worker.drain()
    assert [t.split(" —")[0] for t in sender.titles("paul")] == [
        "Bienvenue dans Passerelle",
        "Bilan nᵒ 1",
    ]


async def test_stale_and_forged_buttons(engine: Engine) -> None:
    await seeded(engine)
    assert "plus valide" in text_of(await submit(engine, "camille", "nope.action", {}))
    assert "plus valide" in text_of(
        await submit(engine, "camille", "checkin.submit", {"round": "999"})
    )
    assert "plus valide" in text_of(
        await submit(engine, "emilie", "tension.approve", {"tension": "forged"})
    )


async def test_home_shows_each_persons_options(engine: Engine) -> None:
    from dialogs.engine import home
    from tests.helpers import actor

    await seeded(engine)
    member = await home(engine, actor("sophie"))
    coordinator = await home(engine, actor("emilie"))
    manager = await home(engine, actor("aisha"))
    assert [b.context["text"] for b in member.buttons] == [
        "checkin",
        "tension",
        "success",
        "profile",
        "thanks",
    ]
    assert [b.context["text"] for b in coordinator.buttons][5:] == [
        "summary",  # a coordinator reads the summaries
        "checkin now",
        "reflexive",
        "schedule",
        "settings",
        "readers",
    ]
    assert manager.buttons[0].label == "Answer the check-in"  # in her language
    stranger = await home(engine, Actor("sandbox", "", "nobody", "", None, "en"))
    assert not stranger.buttons and "not in a Passerelle" in text_of([stranger])
    pressed = member.buttons[1]
    assert (await submit(engine, "sophie", pressed.action, pressed.context))[0].form is not None


async def test_a_form_can_be_rebuilt_from_its_reference(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    from dialogs.engine import form_card
    from tests.helpers import actor

    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    card = (await say(engine, "camille", "bilan"))[0]
    assert card.form is not None
    again = await form_card(engine, actor("camille"), None, card.form.action, card.form.context)
    assert again is not None and field_names(again) == field_names(card)
    assert (
        await form_card(engine, actor("camille"), None, "settings.save", {"team": "demo"}) is None
    )
    assert await form_card(engine, actor("emilie"), None, "settings.save", {"team": "demo"})
    assert (
        await form_card(engine, actor("camille"), None, "checkin.submit", {"round": "99"}) is None
    )
    await engine.jobs.run("close", "demo")
    assert (
        await form_card(engine, actor("camille"), None, card.form.action, card.form.context) is None
    )


async def test_a_too_long_open_answer_keeps_every_chosen_value(engine: Engine) -> None:
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    card = (await say(engine, "camille", "bilan"))[0]
    items = [n for n in field_names(card) if n.startswith("item:")]
    values = {n: "2" for n in items} | {"open": "x" * 501}
    again = (await submit_card(engine, "camille", card, values))[0]
    assert "501" in lead(again)
    kept = {
        b.name: b.default
        for b in again.blocks
        if isinstance(b, ScaleInput | ChoiceInput | TextInput) and b.name in items
    }
    assert kept == {n: "2" for n in items}
