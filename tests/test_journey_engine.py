"""The whole journey through the engine, the outbox and a real worker, on each database."""

from __future__ import annotations

from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from tests.conftest import Clock, RecordingSender
from tests.helpers import (
    paragraphs,
    reflexive_schedule,
    say,
    scale_names,
    seeded,
    submit,
    submit_card,
    text_of,
)


async def test_checkin_round_answered_by_several(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    await worker.drain()
    assert len(sender.titles("camille")) == 1  # the welcome
    result = await engine.jobs.run("checkin", "demo")
    assert result.count == 9
    await worker.drain()
    card: Card = sender.to("camille")[-1].card
    items = scale_names(card)
    assert 4 <= len(items) <= 6
    for i, who in enumerate(["camille", "sophie", "luc", "nadia"]):
        their_card = sender.to(who)[-1].card
        values = {name: str((i + n) % 5 + 1) for n, name in enumerate(items)}
        values["open"] = "Plus de temps ensemble @channel"
        replies = await submit_card(engine, who, their_card, values)
        assert replies[0].title in ("Merci\u00a0!", "Thank you!"), text_of(replies)
    again = await submit_card(
        engine, "camille", sender.to("camille")[-1].card, {n: "3" for n in items}
    )
    assert "déjà répondu" in text_of(again)
    await say(engine, "jonathan", "checkin skip")
    # One reminder, only to those who neither answered nor skipped.
    await engine.jobs.run("reminders", "demo")
    await worker.drain()

    def reminded() -> set[str]:
        return {
            d.address
            for d in sender.deliveries
            if "rappel" in text_of([d.card]).lower() or "reminder" in text_of([d.card]).lower()
        }

    # Daniel is in Vancouver, where it is 7:00: his reminder waits for the end of quiet hours.
    assert reminded() == {"marc-andre", "aisha", "emilie"}
    clock.advance(hours=1)
    await worker.drain()
    assert reminded() == {"daniel", "marc-andre", "aisha", "emilie"}
    await engine.jobs.run("close", "demo")
    await worker.drain()
    summary = sender.to("nadia")[-1].card
    assert "4" in text_of([summary]) and "9" in text_of([summary])
    async with engine.database.session() as session:
        closed = (await rounds.rounds_of(session, 1))[0]
        assert (closed.asked_count, closed.answered_count, closed.skipped_count) == (9, 4, 1)


async def test_tension_preview_confirm_batch_and_followup(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    form = (await say(engine, "sophie", "tension"))[0]
    preview = (
        await submit_card(
            engine,
            "sophie",
            form,
            {"text": "Les décisions arrivent sans nous <!here>", "theme": "decisions"},
        )
    )[0]
    shown = text_of([preview])
    assert "9 membres" in shown and "equipe-mixte" in shown and "jeudi" in shown
    confirm = next(b for b in preview.buttons if b.action == "tension.confirm")
    sent = await submit(engine, "sophie", confirm.action, confirm.context)
    code = next(t for t in paragraphs(sent[0]) if "code" in t.lower()).split(": ")[-1]
    twice = await submit(engine, "sophie", confirm.action, confirm.context)
    assert "Déjà reçue" in text_of(twice)
    await worker.drain()
    assert not sender.to("equipe", "channel")  # never at the moment of writing
    await engine.jobs.run("batch", "demo")
    await worker.drain()
    posted = sender.to("equipe", "channel")
    assert len(posted) == 1
    assert "Les décisions arrivent sans nous" in text_of([posted[0].card])
    assert "<!here>" not in text_of([posted[0].card])
    reply_button = posted[0].card.buttons[0]
    refused = await submit(engine, "sophie", reply_button.action, reply_button.context)
    assert "coordination" in text_of(refused)
    reply_form = (await submit(engine, "emilie", reply_button.action, reply_button.context))[0]
    await submit_card(engine, "emilie", reply_form, {"text": "On en parle jeudi.", "post": "no"})
    followup = await say(engine, "camille", f"tension {code.lower()}")
    assert "On en parle jeudi." in text_of(followup)


async def test_success_and_reflexive_prompt(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    await seeded(engine)
    form = (await say(engine, "aisha", "success"))[0]
    await submit_card(
        engine, "aisha", form, {"text": "Access unblocked for a family", "consent": "anonymous"}
    )
    form = (await say(engine, "luc", "réussite"))[0]
    await submit_card(engine, "luc", form, {"text": "Belle rencontre", "consent": "named"})
    await worker.drain()
    channel = text_of([d.card for d in sender.to("equipe", "channel")])
    assert "Luc Bergeron" in channel and "Access unblocked" not in channel
    await engine.jobs.run("batch", "demo")
    await worker.drain()
    channel = text_of([d.card for d in sender.to("equipe", "channel")])
    assert "Access unblocked" in channel
    form = (await say(engine, "emilie", "reflexif"))[0]
    saved = await submit_card(
        engine,
        "emilie",
        form,
        reflexive_schedule("weekly"),
    )
    assert "3 décembre 2026" in text_of(saved), text_of(saved)
    await engine.jobs.run("reflexive-invite", "demo")
    await worker.drain()
    invite = sender.to("marc-andre")[-1].card
    await submit_card(engine, "marc-andre", invite, {"text": "On n'ose pas parler du financement."})
    await engine.jobs.run("reflexive", "demo")
    await worker.drain()
    channel = text_of([d.card for d in sender.to("equipe", "channel")])
    assert "On n'ose pas parler du financement." in channel
