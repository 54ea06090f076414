"""A coordinator who does not publish a tension may say why (issue 13): an optional reason of
at most 500 characters, on the review card's form, that the tension's author reads with their
follow-up code. The author stays unknown: the reason is stored like any reply, with no one's
name, and nothing is sent to anyone. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, select, update

from adapters.sandbox.render import CardView, card_html
from adapters.teams.cards import adaptive_card
from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card, TextInput
from dialogs.engine import Engine
from dialogs.i18n import Tr
from dialogs.tensions import store
from dialogs.tensions.models import Tension, TensionReply
from storage.models import Team
from tests.block_kit_checks import check_card
from tests.conftest import RecordingSender
from tests.helpers import lead, paragraphs, say, seeded, submit, submit_card, text_of

REASON = "Ce sujet relève du comité des ressources humaines; parlons-en jeudi."


async def write_tension(engine: Engine, who: str, text: str) -> str:
    """`who` writes and confirms a tension; its follow-up code."""
    form = (await say(engine, who, "tension"))[0]
    preview = (await submit_card(engine, who, form, {"text": text, "theme": "workload"}))[0]
    confirm = next(b for b in preview.buttons if b.action == "tension.confirm")
    sent = (await submit(engine, who, confirm.action, confirm.context))[0]
    return next(t for t in paragraphs(sent) if "code" in t.lower()).split(": ")[-1].strip()


async def reviews_for(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, who: str
) -> list[Card]:
    await engine.jobs.run("review", "demo")
    await worker.drain()
    return [d.card for d in sender.to(who) if d.card.title.startswith("Tension à relire")]


async def test_a_rejection_with_a_reason_reaches_the_author_by_their_code(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    async with engine.database.session() as session:
        await session.execute(update(Team).values(review_tensions=True))
        await session.commit()
    code = await write_tension(engine, "marc-andre", "Trop de réunions le vendredi")
    other_code = await write_tension(engine, "luc", "Le financement arrive en retard")
    reviews = await reviews_for(engine, worker, sender, "emilie")
    assert len(reviews) == 2
    review = next(c for c in reviews if "vendredi" in text_of([c]))
    other = next(c for c in reviews if "financement" in text_of([c]))

    # The review card: a reason field on the reject form, the approve button beside it.
    assert review.form is not None and review.form.action == "tension.reject"
    reason_field = next(b for b in review.blocks if isinstance(b, TextInput))
    assert (reason_field.name, reason_field.max_length, reason_field.required) == (
        "reason",
        500,
        False,
    )
    assert [b.action for b in review.buttons] == ["tension.approve"]
    check_card(review)  # Slack: the message, its "open the form" button and the modal
    teams_inputs = [e for e in adaptive_card(review)["body"] if e.get("id") == "reason"]
    assert teams_inputs and teams_inputs[0]["maxLength"] == 500
    html = card_html(review, number=1, view=CardView("emilie", Tr("fr")))
    assert 'name="reason"' in html and 'maxlength="500"' in html

    # Only a coordinator rejects; a member is refused and nothing changes.
    refused = await submit_card(engine, "camille", review, {"reason": "non"})
    assert "coordination" in text_of(refused)

    # Past 500 characters: said first, the form back with the reason kept, nothing rejected.
    too_long = (await submit_card(engine, "emilie", review, {"reason": "x" * 501}))[0]
    assert lead(too_long).startswith("⚠") and "501" in lead(too_long)
    kept = next(b for b in too_long.blocks if isinstance(b, TextInput) and b.name == "reason")
    assert kept.default == "x" * 501
    assert too_long.form is not None and too_long.form.action == "tension.reject"
    async with engine.database.session() as session:
        statuses = set((await session.scalars(select(Tension.status))).all())
        assert statuses == {store.PENDING_REVIEW}

    sent_before = len(sender.deliveries)
    done = await submit_card(engine, "emilie", review, {"reason": REASON})
    assert "lira votre raison" in text_of(done)
    assert "Marc" not in text_of(done)
    again = await submit_card(engine, "emilie", review, {"reason": REASON})
    assert "déjà été relue" in text_of(again)
    # Rejected without a reason (an old card's bare button sends no values): said as before.
    assert "le verra avec son code" in text_of(await submit_card(engine, "emilie", other, {}))
    await worker.drain()
    assert len(sender.deliveries) == sent_before  # nobody is sent anything: the author is unknown

    # The author reads the reason with their code; the other author reads only the status.
    followup = text_of(await say(engine, "marc-andre", f"tension {code}"))
    assert "non publiée par la coordination" in followup
    assert "Pourquoi la coordination ne l’a pas publiée" in followup and REASON in followup
    other_followup = text_of(await say(engine, "luc", f"tension {other_code}"))
    assert "non publiée" in other_followup and REASON not in other_followup
    assert "Pourquoi" not in other_followup

    # Neither is posted, and the reason is stored as the tension's reply: no author anywhere.
    await engine.jobs.run("batch", "demo")
    await worker.drain()
    assert not sender.to("equipe", "channel")
    async with engine.database.session() as session:
        replies = (await session.scalars(select(TensionReply))).all()
        assert [r.text for r in replies] == [REASON]
        columns = {c.name for c in inspect(TensionReply).columns}
        assert columns == {"id", "tension_id", "text", "created_on", "dedupe_key"}
