"""Coordinators list, edit and cancel the reflexive questions they scheduled (issue 13); the
question bank is shown by its text, and picking one while typing another is refused. On SQLite
and PostgreSQL.

Pre-reflections are sealed without an author: when a question is cancelled or changed, every
invited member is told, and the sealed notes are deleted unread."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.outbox_worker import OutboxWorker
from dialogs.cards import Button, Card, ChoiceInput, Paragraph, TextInput
from dialogs.content import ContentBank
from dialogs.engine import Engine
from dialogs.reflexive.models import ReflexiveSchedule
from storage.models import Sealed
from tests.conftest import Clock, RecordingSender
from tests.helpers import (
    lead,
    reflexive_schedule,
    say,
    seeded,
    submit,
    submit_card,
    text_of,
)


def filled(card: Card, **changes: str) -> dict[str, str]:
    """The card's fields as offered, with `changes`."""
    values = {
        b.name: b.default or "" for b in card.blocks if isinstance(b, ChoiceInput | TextInput)
    }
    return values | changes


def button(card: Card, label: str) -> Button:
    return next(b for b in card.buttons if b.label == label)


async def sealed_notes(engine: Engine) -> int:
    async with engine.database.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Sealed).where(Sealed.kind == "pre_reflection")
        )
        return int(count or 0)


async def test_the_bank_is_shown_by_its_text_and_one_question_is_asked_for(
    engine: Engine,
) -> None:
    await seeded(engine)
    bank: ContentBank = engine.bank
    form = (await say(engine, "emilie", "reflexif"))[0]
    prompt = next(b for b in form.blocks if isinstance(b, ChoiceInput) and b.name == "prompt")
    assert (prompt.options[0].value, prompt.options[0].label) == ("", "— Choisir —")
    assert prompt.default == ""
    texts = {p.id: p.text.get("fr") for p in bank.reflexive_prompts}
    offered = {o.value: o.label for o in prompt.options}
    for prompt_id, text in texts.items():
        assert offered[prompt_id] == text  # the question in full, not its code
    assert not any(re.match(r"X\d+\b", o.label) for o in prompt.options)
    long = [t for t in texts.values() if len(t) > 75]
    assert long, "the bank has questions longer than Slack's 75-character options"
    shown = "\n".join(b.text for b in form.blocks if isinstance(b, Paragraph))
    assert all(t in shown for t in long)  # in full in the card, whatever a platform cuts

    both = filled(form, **reflexive_schedule("once")) | {"custom": "Que change-t-on?"}
    again = (await submit_card(engine, "emilie", form, both))[0]
    assert lead(again).startswith("⚠") and "gardez l’une des deux" in lead(again)
    kept = {b.name: b.default for b in again.blocks if isinstance(b, ChoiceInput | TextInput)}
    assert kept["custom"] == "Que change-t-on?" and kept["prompt"] == "X1"
    nothing = (await submit_card(engine, "emilie", form, both | {"prompt": "", "custom": ""}))[0]
    assert lead(nothing).startswith("⚠") and "propre question" in lead(nothing)
    async with engine.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(ReflexiveSchedule)) == 0
    # Their own question alone, with "— Choose —" left as it was: it is the one they mean.
    own = both | {"prompt": "", "custom": "Que change-t-on?"}
    assert (await submit_card(engine, "emilie", form, own))[0].title == "Question planifiée"


async def test_a_question_is_listed_moved_changed_and_cancelled(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    bank: ContentBank = engine.bank
    x1, x2 = (bank.reflexive_prompt(i).text.get("fr") for i in ("X1", "X2"))
    form = (await say(engine, "emilie", "reflexif"))[0]
    await submit_card(engine, "emilie", form, filled(form, **reflexive_schedule("weekly")))
    own = reflexive_schedule("once") | {
        "prompt": "custom",
        "custom": "Notre plus belle erreur?",
        "date": "2026-12-10",
    }
    form = (await submit(engine, "emilie", "reflexive.new", {"team": "demo"}))[0]
    await submit_card(engine, "emilie", form, filled(form, **own))

    # The list: each question in full, its next meeting, Edit and Cancel, and a new one.
    listing = (await say(engine, "emilie", "reflexif"))[0]
    assert listing.title == "Questions prévues pour l’espace réflexif"
    shown = text_of([listing])
    assert x1 in shown and "Notre plus belle erreur?" in shown
    assert "jeudi 3 décembre 2026" in shown and "chaque semaine" in shown
    assert [b.label for b in listing.buttons] == [
        "Modifier la question 1",
        "Annuler la question 1",
        "Modifier la question 2",
        "Annuler la question 2",
        "Planifier une autre question",
    ]
    edit_1 = button(listing, "Modifier la question 1")
    cancel_2 = button(listing, "Annuler la question 2")
    # Coordinators only; a forged id is no schedule.
    for action in (edit_1, cancel_2):
        assert "coordination" in text_of(
            await submit(engine, "camille", action.action, action.context)
        )
    forged = await submit(engine, "emilie", "reflexive.edit", {"team": "demo", "schedule": "999"})
    assert "n’est plus prévue" in text_of(forged)

    # Both are invited; Marc-André pre-reflects on the first, Luc on the second.
    await engine.jobs.run("reflexive-invite", "demo")
    await worker.drain()
    for who, words in (("marc-andre", "Le financement"), ("luc", "Trop de réunions")):
        invites = [d.card for d in sender.to(who) if d.card.form is not None]
        question = x1 if who == "marc-andre" else "Notre plus belle erreur?"
        invite = next(c for c in invites if question in text_of([c]))
        assert "Merci" in text_of(await submit_card(engine, who, invite, {"text": words}))
    assert await sealed_notes(engine) == 2

    # Only the time of the first moves: its note is kept, the members are told the new time.
    edit_form = (await submit(engine, "emilie", edit_1.action, edit_1.context))[0]
    assert edit_form.title == "Modifier une question de l’espace réflexif"
    values = filled(edit_form)
    assert (values["prompt"], values["date"], values["time"]) == ("X1", "2026-12-03", "13:30")
    saved = await submit_card(engine, "emilie", edit_form, values | {"time": "15:00"})
    assert saved[0].title == "Question modifiée" and "15\u00a0h\u00a000" in text_of(saved)
    await worker.drain()
    moved = sender.to("marc-andre")[-1].card
    assert "déplacée" in moved.title and x1 in text_of([moved])
    assert "15\u00a0h\u00a000" in text_of([moved])
    assert await sealed_notes(engine) == 2

    # Then its question changes: the note for the former one is deleted unread, members told.
    saved = await submit_card(
        engine, "emilie", edit_form, values | {"prompt": "X2", "time": "15:00"}
    )
    assert saved[0].title == "Question modifiée"
    await worker.drain()
    changed = sender.to("marc-andre")[-1].card
    assert "question changée" in changed.title and "supprimée sans être lue" in text_of([changed])
    assert await sealed_notes(engine) == 1

    # Cancelling asks first, then tells every invited member and deletes the notes unread.
    confirm_card = (await submit(engine, "emilie", cancel_2.action, cancel_2.context))[0]
    assert confirm_card.title == "Annuler cette question\u00a0?"
    assert "supprimées sans être lues" in text_of([confirm_card])
    confirm = button(confirm_card, "Oui, annuler la question")
    assert "coordination" in text_of(
        await submit(engine, "sophie", confirm.action, confirm.context)
    )
    done = (await submit(engine, "emilie", confirm.action, confirm.context))[0]
    assert done.title == "Question annulée" and "membres invités en ont été avisés" in lead(done)
    assert await sealed_notes(engine) == 0
    await worker.drain()
    told = sender.to("luc")[-1].card
    assert "question annulée" in told.title and "Notre plus belle erreur?" in text_of([told])
    # Cancelled twice, or a note sent on the old invitation: refused, nothing sealed.
    assert "n’est plus prévue" in text_of(
        await submit(engine, "emilie", confirm.action, confirm.context)
    )
    old_invite = next(
        d.card for d in sender.to("luc") if d.card.form and "Notre plus belle" in text_of([d.card])
    )
    late = await submit_card(engine, "luc", old_invite, {"text": "Encore un mot"})
    assert "n’est plus prévue" in text_of(late)
    assert await sealed_notes(engine) == 0

    # The list keeps the first question, now X2; the meeting posts X2, without the old note.
    listing = (await say(engine, "emilie", "reflexif"))[0]
    assert x2 in text_of([listing]) and "Notre plus belle" not in text_of([listing])
    assert len(listing.buttons) == 3
    clock.now = clock.now.replace(month=12, day=3, hour=20, minute=0)  # 15:00 in Toronto
    await engine.jobs.run("reflexive", "demo", forced=False)
    await worker.drain()
    posted = text_of([d.card for d in sender.to("equipe", "channel")])
    assert x2 in posted and "Le financement" not in posted and "Notre plus belle" not in posted
