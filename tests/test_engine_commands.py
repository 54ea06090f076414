"""Commands, roles, forms and the errors people see, through the engine."""

from __future__ import annotations

import pytest

from bot.demo import DEMO_CHANNEL
from dialogs.cards import ChoiceInput, TextInput
from dialogs.events import Actor, CommandReceived, FormSubmitted, MemberJoined, MemberLeft, Place
from storage import teams
from tests.helpers import field_names, say, seeded, submit, submit_card, text_of


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    """These tests exercise dialogs, not SQL: SQLite alone keeps them quick."""
    return f"sqlite+aiosqlite:///{tmp_path / 'commands.db'}"


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
async def test_commands_exist_in_both_languages(engine, english, french):
    await seeded(engine)
    assert [c.title for c in await say(engine, "emilie", english)] == [
        c.title for c in await say(engine, "emilie", french)
    ]


async def test_help_lists_what_each_person_may_do(engine):
    await seeded(engine)
    member = text_of(await say(engine, "sophie", "aide"))
    manager = text_of(await say(engine, "nadia", "aide"))
    coordinator = text_of(await say(engine, "emilie", "/passerelle aide"))
    assert "tension" in member and "sommaire" not in member and "horaire" not in member
    assert "sommaire" in manager and "horaire" not in manager
    assert "horaire" in coordinator and "bilan maintenant" in coordinator
    english = text_of(await say(engine, "aisha", "help"))
    assert "share a success" in english


async def test_unknown_command_and_stranger(engine):
    await seeded(engine)
    assert "« danse »" in text_of(await say(engine, "camille", "danse"))
    stranger = await engine.handle(CommandReceived(Actor("sandbox", "", "nobody"), "checkin"))
    assert "pas encore partie d’une équipe" in text_of(stranger)


async def test_roles_are_enforced(engine):
    await seeded(engine)
    assert "coordination" in text_of(await say(engine, "camille", "settings"))
    assert "coordination" in text_of(await say(engine, "camille", "checkin now"))
    assert "choisies pour le lire" in text_of(await say(engine, "camille", "summary"))
    card = (await say(engine, "emilie", "settings"))[0]
    refused = await submit_card(engine, "camille", card, {"k": "3"})
    assert "coordination" in text_of(refused)


async def test_bad_profile_input_is_explained_and_kept(engine):
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
    assert "Mars/Olympus" in again.blocks[0].text  # the reason, first
    kept = {b.name: b.default for b in again.blocks if isinstance(b, ChoiceInput | TextInput)}
    assert kept["timezone"] == "Mars/Olympus" and kept["sector"] == "community"
    async with engine.database.session() as session:
        member = await teams.member_in(session, 1, "sandbox", "", "camille")
        assert member.sector == "public"  # nothing changed
    values["paused_until"] = "2020-01-01"
    values["timezone"] = "America/Montreal"
    assert "futur" in text_of(await submit_card(engine, "camille", card, values))


async def test_check_in_needs_every_item_and_keeps_what_was_typed(engine):
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    card = (await say(engine, "camille", "bilan"))[0]
    names = [n for n in field_names(card) if n.startswith("item:")]
    values = {n: "4" for n in names[:-1]} | {"open": "Mon idée"}
    again = (await submit_card(engine, "camille", card, values))[0]
    assert again.blocks[0].text.startswith("⚠")
    assert next(b for b in again.blocks if isinstance(b, TextInput)).default == "Mon idée"
    values[names[-1]] = "skip"
    assert "Merci" in text_of(await submit_card(engine, "camille", card, values))
    tampered = dict(values)
    tampered[names[0]] = "9"
    assert "⚠" in text_of(await submit_card(engine, "sophie", card, tampered))  # 9 is no answer


async def test_paused_member_is_not_asked_and_can_resume(engine, worker, sender, clock):
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


async def test_setup_in_a_new_channel_creates_a_team(engine, worker, sender):
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


async def test_joining_during_a_round_is_asked_too(engine, worker, sender):
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


async def test_review_before_publication(engine, worker, sender):
    await seeded(engine)
    settings = (await say(engine, "emilie", "parametres"))[0]
    saved = await submit_card(
        engine,
        "emilie",
        settings,
        {
            "k": "3",
            "language": "fr",
            "timezone": "America/Toronto",
            "review_tensions": "yes",
            "review_open_answers": "no",
            "open_question": "yes",
            "pool_small_rounds": "no",
            "tension_weekly_limit": "2",
        },
    )
    assert saved[0].title == "Enregistré"
    form = (await say(engine, "marc-andre", "tension"))[0]
    preview = (
        await submit_card(
            engine, "marc-andre", form, {"text": "Trop de réunions", "theme": "workload"}
        )
    )[0]
    assert "Émilie Côté" in text_of([preview])
    confirm = next(b for b in preview.buttons if b.action == "tension.confirm")
    await submit(engine, "marc-andre", confirm.action, confirm.context)
    await worker.drain()
    # Nothing is queued as the tension is written: not even the coordinator's review request.
    assert not [d for d in sender.to("emilie") if d.card.title.startswith("Tension à relire")]
    await engine.jobs.run("batch", "demo")
    await worker.drain()
    assert not sender.to("equipe", "channel")  # waiting for review
    assert (await engine.jobs.run("review", "demo")).count == 1
    await worker.drain()
    review = sender.to("emilie")[-1].card
    assert review.title.startswith("Tension à relire")
    approve = next(b for b in review.buttons if b.action == "tension.approve")
    assert "coordination" in text_of(
        await submit(engine, "camille", approve.action, approve.context)
    )
    assert "prochain lot" in text_of(
        await submit(engine, "emilie", approve.action, approve.context)
    )
    assert "déjà été relue" in text_of(
        await submit(engine, "emilie", approve.action, approve.context)
    )
    await engine.jobs.run("batch", "demo")
    await worker.drain()
    assert "Trop de réunions" in text_of([sender.to("equipe", "channel")[-1].card])


async def test_tension_rate_limit_keeps_the_text(engine):
    await seeded(engine)
    settings = (await say(engine, "emilie", "parametres"))[0]
    saved = await submit_card(
        engine,
        "emilie",
        settings,
        {
            "k": "3",
            "language": "fr",
            "timezone": "America/Toronto",
            "review_tensions": "no",
            "review_open_answers": "no",
            "open_question": "yes",
            "pool_small_rounds": "no",
            "tension_weekly_limit": "1",
        },
    )
    assert saved[0].title == "Enregistré"
    for n, expected in ((1, "Tension reçue"), (2, "Limite atteinte")):
        form = (await say(engine, "luc", "tension"))[0]
        preview = (
            await submit_card(engine, "luc", form, {"text": f"Sujet {n}", "theme": "funding"})
        )[0]
        confirm = next(b for b in preview.buttons if b.action == "tension.confirm")
        reply = (await submit(engine, "luc", confirm.action, confirm.context))[0]
        assert reply.title == expected
    kept = next(b for b in reply.blocks if isinstance(b, TextInput))
    assert kept.default == "Sujet 2"


async def test_tension_text_rules(engine):
    await seeded(engine)
    form = (await say(engine, "luc", "tension"))[0]
    empty = (await submit_card(engine, "luc", form, {"text": "   ", "theme": "funding"}))[0]
    assert "vide" in empty.blocks[0].text
    long = (await submit_card(engine, "luc", form, {"text": "x" * 1001, "theme": "funding"}))[0]
    assert "1001" in long.blocks[0].text
    bad_theme = (await submit_card(engine, "luc", form, {"text": "ok", "theme": "gossip"}))[0]
    assert bad_theme.blocks[0].text.startswith("⚠")
    preview = (
        await submit_card(
            engine, "luc", form, {"text": "Hi <@U123> @here <!channel>", "theme": "other"}
        )
    )[0]
    shown = text_of([preview])
    assert "<@U123>" not in shown and "<!channel>" not in shown and "@here" not in shown


async def test_stale_and_forged_buttons(engine):
    await seeded(engine)
    assert "plus valide" in text_of(await submit(engine, "camille", "nope.action", {}))
    assert "plus valide" in text_of(
        await submit(engine, "camille", "checkin.submit", {"round": "999"})
    )
    assert "plus valide" in text_of(
        await submit(engine, "emilie", "tension.approve", {"tension": "forged"})
    )


async def test_summary_hides_figures_under_k(engine, worker, sender):
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    for who in ("camille", "sophie"):
        card = sender.to(who)[-1].card
        await submit_card(
            engine, who, card, {n: "5" for n in field_names(card) if n.startswith("item:")}
        )
    await engine.jobs.run("close", "demo")
    await worker.drain()
    summary = text_of([sender.to("luc")[-1].card])
    assert "2 réponse(s) sur 9" in summary and "Pas encore assez" in summary
    assert "moyenne" not in summary
    assert sender.to("nadia")[-1].card.title == sender.to("luc")[-1].card.title  # both sectors
    assert not [
        d for d in sender.deliveries if d.address == "camille" and "Sommaire" in d.card.title
    ]


async def test_limit_counts_once_for_repeats_and_races(engine):
    import asyncio

    from dialogs.tensions import store as tension_store

    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        (await teams.team_by_slug(session, "demo")).tension_weekly_limit = 1

    async def confirm(text: str):
        context = {"team": "demo", "text": text, "theme": "other", "prompt": ""}
        return (await submit(engine, "luc", "tension.confirm", context))[0].title

    assert await confirm("Premier") == "Tension reçue"
    assert await confirm("Premier") == "Déjà reçue"  # a repeat at the limit is not a refusal
    titles = await asyncio.gather(*(confirm(f"Course {n}") for n in range(3)))
    assert titles == ["Limite atteinte"] * 3
    engine.clock.advance(days=7)  # a fresh week's allowance
    titles = await asyncio.gather(*(confirm(f"Course {n}") for n in range(3)))
    assert sorted(titles) == ["Limite atteinte", "Limite atteinte", "Tension reçue"]
    async with engine.database.session() as session:
        assert not await tension_store.tensions_of(session, 1)  # sealed until the batch
    assert (await engine.jobs.run("batch", "demo")).count == 2
    async with engine.database.session() as session:
        assert len(await tension_store.tensions_of(session, 1)) == 2


async def test_finished_outbox_rows_are_purged_after_their_retention(engine, worker, sender, clock):
    from sqlalchemy import func, select

    from storage.models import OutboxMessage

    await seeded(engine)
    await engine.jobs.run("checkin", "demo")  # Daniel's card waits for Vancouver's morning

    async def statuses():
        async with engine.database.session() as session:
            rows = await session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            return {status: n for status, n in rows.tuples()}

    await worker.drain()
    before = await statuses()
    assert before["sent"] >= 9 and before["pending"] == 1
    clock.advance(days=13)
    await engine.jobs.tick()  # closes the round: its asks (sent or not) go with it
    after_close = await statuses()
    assert after_close["sent"] == 9  # the welcomes, within the retention
    assert after_close["pending"] == 3  # the summaries queued for the three readers
    clock.advance(days=2)
    await engine.jobs.tick()
    assert "sent" not in await statuses()  # everything sent 15 days ago is gone


async def test_an_unreachable_member_who_speaks_is_reachable_again(engine):
    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        (await teams.member_in(session, 1, "sandbox", "", "sophie")).unreachable = True
    await say(engine, "sophie", "aide")
    async with engine.database.session() as session:
        assert not (await teams.member_in(session, 1, "sandbox", "", "sophie")).unreachable


async def test_home_shows_each_persons_options(engine):
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
    assert "settings" in [b.context["text"] for b in coordinator.buttons]
    assert manager.buttons[0].label == "Answer the check-in"  # in her language
    stranger = await home(engine, Actor("sandbox", "", "nobody", "", None, "en"))
    assert not stranger.buttons and "not in a Passerelle" in text_of([stranger])
    pressed = member.buttons[1]
    assert (await submit(engine, "sophie", pressed.action, pressed.context))[0].form is not None


async def test_a_suspended_workspace_keeps_its_messages_until_it_resumes(
    engine, worker, sender, clock
):
    from storage import outbox

    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        await outbox.suspend(session, "sandbox", "", clock.now)
    await engine.jobs.run("batch", "demo")
    assert await worker.drain() == 0  # nothing leaves, and nothing is marked failed
    async with engine.database.session() as session, session.begin():
        assert await outbox.resume(session, "sandbox", "")
    assert await worker.drain() == 9  # the welcomes, kept all along


async def test_a_form_can_be_rebuilt_from_its_reference(engine, worker, sender):
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


async def test_a_too_long_open_answer_keeps_every_chosen_value(engine):
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    card = (await say(engine, "camille", "bilan"))[0]
    items = [n for n in field_names(card) if n.startswith("item:")]
    values = {n: "2" for n in items} | {"open": "x" * 501}
    again = (await submit_card(engine, "camille", card, values))[0]
    assert "501" in again.blocks[0].text
    kept = {b.name: b.default for b in again.blocks if hasattr(b, "default") and b.name in items}
    assert kept == {n: "2" for n in items}
