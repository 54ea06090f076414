"""What the engine holds back or keeps, through it: the review before publication, the tension
limit and text rules, figures under k, outbox retention, unreachable and suspended members."""

from __future__ import annotations

from typing import cast

from bot.outbox_worker import OutboxWorker
from dialogs.cards import TextInput
from dialogs.engine import Engine
from storage import teams
from tests.conftest import SQLITE_ONLY, Clock, RecordingSender
from tests.helpers import field_names, lead, say, seeded, submit, submit_card, text_of

# These tests exercise dialogs, not SQL: SQLite alone keeps them quick.
pytestmark = SQLITE_ONLY


async def save_settings(engine: Engine, *, review_tensions: str, tension_weekly_limit: str) -> None:
    """Émilie saves the team's settings: reviews of tensions and their weekly limit as given."""
    settings = (await say(engine, "emilie", "parametres"))[0]
    saved = await submit_card(
        engine,
        "emilie",
        settings,
        {
            "k": "3",
            "language": "fr",
            "timezone": "America/Toronto",
            "review_tensions": review_tensions,
            "review_open_answers": "no",
            "open_question": "yes",
            "pool_small_rounds": "no",
            "tension_weekly_limit": tension_weekly_limit,
        },
    )
    assert saved[0].title == "Enregistré"


async def test_review_before_publication(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    await save_settings(engine, review_tensions="yes", tension_weekly_limit="2")
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


async def test_tension_rate_limit_keeps_the_text(engine: Engine) -> None:
    await seeded(engine)
    await save_settings(engine, review_tensions="no", tension_weekly_limit="1")
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


async def test_tension_text_rules(engine: Engine) -> None:
    await seeded(engine)
    form = (await say(engine, "luc", "tension"))[0]
    empty = (await submit_card(engine, "luc", form, {"text": "   ", "theme": "funding"}))[0]
    assert "vide" in lead(empty)
    long = (await submit_card(engine, "luc", form, {"text": "x" * 1001, "theme": "funding"}))[0]
    assert "1001" in lead(long)
    bad_theme = (await submit_card(engine, "luc", form, {"text": "ok", "theme": "gossip"}))[0]
    assert lead(bad_theme).startswith("⚠")
    preview = (
        await submit_card(
            engine, "luc", form, {"text": "Hi <@U123> @here <!channel>", "theme": "other"}
        )
    )[0]
    shown = text_of([preview])
    assert "<@U123>" not in shown and "<!channel>" not in shown and "@here" not in shown


async def test_summary_hides_figures_under_k(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
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
    assert "2 personnes sur 9 ont répondu" in summary and "Pas encore assez" in summary
    assert "Moyenne sur 5" not in summary  # no table of means
    assert sender.to("nadia")[-1].card.title == sender.to("luc")[-1].card.title  # both sectors
    assert not [
        d for d in sender.deliveries if d.address == "camille" and "Sommaire" in d.card.title
    ]


async def test_limit_counts_once_for_repeats_and_races(engine: Engine) -> None:
    import asyncio

    from dialogs.tensions import store as tension_store

    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        team.tension_weekly_limit = 1

    async def confirm(text: str) -> str:
        context = {"team": "demo", "text": text, "theme": "other", "prompt": ""}
        return (await submit(engine, "luc", "tension.confirm", context))[0].title

    assert await confirm("Premier") == "Tension reçue"
    assert await confirm("Premier") == "Déjà reçue"  # a repeat at the limit is not a refusal
    titles = await asyncio.gather(*(confirm(f"Course {n}") for n in range(3)))
    assert titles == ["Limite atteinte"] * 3
    cast(Clock, engine.clock).advance(days=7)  # a fresh week's allowance
    titles = await asyncio.gather(*(confirm(f"Course {n}") for n in range(3)))
    assert sorted(titles) == ["Limite atteinte", "Limite atteinte", "Tension reçue"]
    async with engine.database.session() as session:
        assert not await tension_store.tensions_of(session, 1)  # sealed until the batch
    assert (await engine.jobs.run("batch", "demo")).count == 2
    async with engine.database.session() as session:
        assert len(await tension_store.tensions_of(session, 1)) == 2


async def test_finished_outbox_rows_are_purged_after_their_retention(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    from sqlalchemy import func, select

    from storage.models import OutboxMessage

    await seeded(engine)
    await engine.jobs.run("checkin", "demo")  # Daniel's card waits for Vancouver's morning

    async def statuses() -> dict[str, int]:
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


async def test_an_unreachable_member_who_speaks_is_reachable_again(engine: Engine) -> None:
    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        sophie = await teams.member_in(session, 1, "sandbox", "", "sophie")
        assert sophie is not None
        sophie.unreachable = True
    await say(engine, "sophie", "aide")
    async with engine.database.session() as session:
        sophie = await teams.member_in(session, 1, "sandbox", "", "sophie")
        assert sophie is not None and not sophie.unreachable


async def test_a_suspended_workspace_keeps_its_messages_until_it_resumes(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, clock: Clock
) -> None:
    from storage import outbox

    await seeded(engine)
    async with engine.database.session() as session, session.begin():
        await outbox.suspend(session, "sandbox", "", clock.now)
    await engine.jobs.run("batch", "demo")
    assert await worker.drain() == 0  # nothing leaves, and nothing is marked failed
    async with engine.database.session() as session, session.begin():
        assert await outbox.resume(session, "sandbox", "")
    assert await worker.drain() == 9  # the welcomes, kept all along
