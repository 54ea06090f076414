"""Cards as Slack Block Kit: every card the engine makes fits Slack, forms survive the round
trip through a modal, and nothing a person writes can ping, link or format when re-posted (on
SQLite). Escaping: tests/test_slack_mrkdwn.py; limits: tests/test_slack_block_limits.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.slack import block_values as bv
from adapters.slack import blocks as sb
from adapters.slack.mrkdwn import escape
from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card, ChoiceInput, Paragraph
from dialogs.checkins import rounds as checkins
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from tests.block_kit_checks import (
    HOSTILE,
    assert_inert,
    check_card,
    check_view,
    submission,
    texts,
    through_modal,
)
from tests.conftest import RecordingSender
from tests.helpers import lead, paragraphs, say, scale_names, seeded, submit, text_of


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """These tests exercise rendering, not SQL: SQLite alone keeps them quick."""
    return f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}"


# --------------------------------------------------------------------------- every card
async def press(engine: Engine, who: str, card: Card, action: str) -> list[Card]:
    """What the Slack adapter does with a click on a card's button in a message."""
    elements = [
        e
        for _, blocks in sb.messages_for(card)
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    element = next(e for e in elements if bv.button_action(e["action_id"]) == action)
    pressed = bv.button_action(element["action_id"])
    assert pressed is not None
    return await submit(engine, who, pressed, bv.decode_context(element["value"]))


async def journey(engine: Engine, worker: OutboxWorker, sender: RecordingSender) -> list[Card]:
    """Every kind of card the engine sends or answers with, through one demo team's life;
    forms are answered through their modal and buttons pressed from their message."""
    cards: list[Card] = []

    async def said(who: str, text: str) -> list[Card]:
        got = await say(engine, who, text)
        cards.extend(got)
        return got

    def ok(replies: list[Card]) -> list[Card]:
        assert "⚠" not in text_of(replies), text_of(replies)
        cards.extend(replies)
        return replies

    await seeded(engine)
    for who, text in [
        ("emilie", "aide"),
        ("aisha", "help"),
        ("nadia", "aide"),
        ("camille", "profil"),
        ("emilie", "horaire"),
        ("camille", "danse"),
        ("camille", "sommaire"),
        ("camille", "bilan"),
    ]:
        await said(who, text)
    founder = Actor("sandbox", "", "zoe", "Zoé Martin", "America/Montreal", "fr-CA")
    place = Place("sandbox", "", "autre-canal", "projet <!channel> *jeunesse*")
    cards += await engine.handle(CommandReceived(founder, "configurer", place))
    settings = (await said("emilie", "paramètres"))[0]
    reviews = {"review_tensions": "yes", "review_open_answers": "yes"}
    ok(await through_modal(engine, "emilie", settings, reviews))
    reflexive_form = (await said("emilie", "réflexif"))[0]
    (prompts,) = [b for b in reflexive_form.inputs() if b.name == "prompt"]
    assert isinstance(prompts, ChoiceInput)  # its first option asks to choose: take a question
    chosen = {"time": "10:00", "prompt": next(o.value for o in prompts.options if o.value)}
    ok(await through_modal(engine, "emilie", reflexive_form, chosen))

    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    for n, who in enumerate(["camille", "sophie", "luc", "nadia", "aisha"]):
        card = (await said(who, "bilan"))[0]
        answers = {name: str(n % 5 + 1) for name in scale_names(card)}
        answers["open"] = f"{HOSTILE[n]} {HOSTILE[-n - 1]}"
        ok(await through_modal(engine, who, card, answers))

    form = (await said("sophie", "tension"))[0]
    preview = ok(await through_modal(engine, "sophie", form, {"text": " ".join(HOSTILE[:12])}))
    sent = ok(await press(engine, "sophie", preview[0], "tension.confirm"))
    code = next(t for t in paragraphs(sent[0]) if "code" in t.lower()).split(": ")[-1]
    success = (await said("aisha", "success"))[0]
    ok(await through_modal(engine, "aisha", success, {"text": " ".join(HOSTILE[12:])}))

    await engine.jobs.run("review", "demo")
    await worker.drain()
    review = sender.to("emilie")[-1].card
    ok(await press(engine, "emilie", review, "tension.approve"))
    for job in JOBS:
        await engine.jobs.run(job, "demo")
    await worker.drain()
    published = next(
        d.card
        for d in sender.to("equipe", "channel")
        if any(b.action == "tension.reply_form" for b in d.card.buttons)
    )
    reply = ok(await press(engine, "emilie", published, "tension.reply_form"))[0]
    ok(await through_modal(engine, "emilie", reply, {"text": "Merci <!here> *vraiment*"}))
    open_review = next(
        d.card
        for d in sender.to("emilie")
        if any(b.action.startswith("open") for b in d.card.buttons)
    )
    ok(await press(engine, "emilie", open_review, open_review.buttons[0].action))
    await said("sophie", f"tension {code}")
    await said("emilie", "sommaire csv")
    await worker.drain()
    cards += [d.card for d in sender.deliveries]
    return cards


JOBS: tuple[str, ...] = ("batch", "reminders", "close", "summary", "success", "tension-prompt")

JOBS += ("reflexive-invite", "reflexive")


async def test_every_engine_card_fits_slack(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    cards = await journey(engine, worker, sender)
    titles = {c.title for c in cards}
    assert len(cards) > 40 and len(titles) > 25, titles
    kinds = {type(b).__name__ for c in cards for b in c.blocks}
    assert kinds == {"Paragraph", "Table", "ScaleInput", "ChoiceInput", "TextInput"}
    assert any(c.attachments for c in cards) and any(c.buttons for c in cards)
    assert any(b.from_user for c in cards for b in c.blocks if isinstance(b, Paragraph))
    for card in cards:
        check_card(card)


def _without_row_labels(text: str) -> str:
    """A table row's field starts with its label in bold, the adapter's own markup
    (adapters/slack/block_tables.py): what is checked is the text inside it."""
    first, newline, rest = text.partition("\n")
    if len(first) > 2 and first.startswith("*") and first.endswith("*"):
        first = first[1:-1]
    return first + newline + rest


async def test_people_text_in_engine_cards_is_inert(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    cards = await journey(engine, worker, sender)
    posted = [d.card for d in sender.to("equipe", "channel")]
    assert posted, "the batch posted the tension to the team channel"
    for card in [*cards, *posted]:
        for _, blocks in sb.messages_for(card, spill=lambda payload: "stored:1"):
            rendered = "\n".join(_without_row_labels(text) for text in texts(blocks))
            assert_inert(rendered.replace("\n&gt; ", "\n"))
            for hostile in ("<!channel>", "<@U123>", "@here", "https://evil.example", "*bold*"):
                assert hostile not in rendered
    batch = "\n".join(t for card in posted for _, b in sb.messages_for(card) for t in texts(b))
    # The tension, quoted. The engine already turned <!channel> into ‹!channel›; a link token
    # is left for the adapter, whose escaping makes it text.
    assert "&gt; ‹!channel›" in batch
    assert "&lt;https:\u2060//evil|click&gt;" in batch


# --------------------------------------------------------------------------- round trips
async def test_checkin_round_trip_through_the_modal(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    card = (await say(engine, "camille", "bilan"))[0]
    items = scale_names(card)
    (fallback, blocks) = sb.message_blocks(card, open_label="Répondre")
    assert fallback == escape(card.title)
    opener, skip = blocks[-1]["elements"]
    assert opener["text"]["text"] == "Répondre" and opener["style"] == "primary"
    assert bv.button_action(skip["action_id"]) == "checkin.skip"
    assert bv.decode_context(skip["value"]) == card.buttons[0].context
    action, context = bv.decode_form_reference(opener["value"])
    assert card.form is not None
    assert (action, context) == (card.form.action, card.form.context)

    view = sb.modal_view(card, private_metadata=sb.form_metadata(card.form))
    scale = next(b for b in view["blocks"] if b["block_id"] == items[0])
    assert [o["value"] for o in scale["element"]["options"]] == [*"12345", checkins.SKIP]
    assert scale["element"]["type"] == "radio_buttons" and scale["optional"] is False
    assert "initial_option" not in scale["element"]

    answers = {name: "4" for name in items} | {items[-1]: "skip", "open": "Mon idée <!here>"}
    values = bv.values_from_view_state(submission(view, answers))
    assert values == answers
    # One item missing: the engine sends the form back; the modal keeps every answer.
    partial = {name: "4" for name in items[:-1]} | {"open": "Mon idée"}
    again = (await through_modal(engine, "camille", card, {**partial, items[-1]: None}))[0]
    assert lead(again).startswith("⚠")
    assert again.form is not None
    view_again = sb.modal_view(again, private_metadata=sb.form_metadata(again.form))
    check_view(view_again)
    initial = {
        b["block_id"]: b["element"].get("initial_option", {}).get("value")
        or b["element"].get("initial_value")
        for b in view_again["blocks"]
        if b["type"] == "input"
    }
    assert initial == {**partial, items[-1]: None}
    assert "Merci" in text_of(await through_modal(engine, "camille", again, answers))


async def test_profile_settings_and_schedule_round_trip(engine: Engine) -> None:
    await seeded(engine)
    profile = (await say(engine, "camille", "profil"))[0]
    assert profile.form is not None
    view = sb.modal_view(profile, private_metadata=sb.form_metadata(profile.form))
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert kinds["sector"] == "radio_buttons" and kinds["quiet_start"] == "static_select"
    # The time zone is a menu of cities grouped by region, the pause a date picker.
    assert kinds["timezone"] == "static_select" and kinds["paused_until"] == "datepicker"
    zone = next(b for b in view["blocks"] if b["block_id"] == "timezone")["element"]
    assert zone["option_groups"][0]["label"]["text"] in ("Canada", "Fuseau actuel")
    saved = await through_modal(
        engine, "camille", profile, {"timezone": "America/Vancouver", "paused_until": "2099-01-31"}
    )
    assert "⚠" not in text_of(saved)
    again = (await say(engine, "camille", "profil"))[0]
    assert next(b for b in again.inputs() if b.name == "timezone").default == "America/Vancouver"
    assert next(b for b in again.inputs() if b.name == "paused_until").default == "2099-01-31"
    for command in ("paramètres", "horaire"):
        card = (await say(engine, "emilie", command))[0]
        assert "⚠" not in text_of(await through_modal(engine, "emilie", card)), command


async def test_setup_with_a_hostile_team_name(engine: Engine) -> None:
    founder = Actor("sandbox", "", "zoe", "Zoé Martin", "America/Montreal", "fr-CA")
    place = Place("sandbox", "", "autre-canal", "canal")
    form = (await engine.handle(CommandReceived(founder, "configurer", place)))[0]
    check_card(form)
    assert form.form is not None
    values = bv.values_from_view_state(
        submission(
            sb.modal_view(form, private_metadata=sb.form_metadata(form.form)),
            {"name": "<!channel> *Projet* @here https://evil.example", "k": "5"},
        )
    )
    done = await engine.handle(
        FormSubmitted(founder, "setup.save", form.form.context, values, place)
    )
    assert "Projet" in text_of(done)
    for card in done:
        check_card(card)
        for _, blocks in sb.messages_for(card):
            assert not any("<!channel>" in t or "@here" in t for t in texts(blocks))
