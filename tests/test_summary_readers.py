"""Who reads summaries is decided by the team, never by the person (issue 13, issue 11).

- "confirmed" (the default): a member who declares a management position in their profile is
  told their access awaits a coordinator, who gets a notice with a button to confirm them; until
  then the `summary` command, home, the summaries sent at a close and the CSV export refuse them.
- "managers": the declared position is trusted (the team's choice); "everyone": every member.
- Coordinators confirm and withdraw readers with the `readers` form; a forged member id (another
  team's, a coordinator, nonsense) is refused and changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from bot.demo import DEMO_CHANNEL
from bot.outbox_worker import OutboxWorker
from dialogs.administration import team_forms as team_admin
from dialogs.engine import Engine, home
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from dialogs.i18n import Tr
from dialogs.summaries import card as summary
from storage import teams
from storage.database import Database
from storage.models import Member, OutboxMessage, Team
from storage.sealing import Sealer
from tests.conftest import RecordingSender
from tests.helpers import actor, say, seeded, submit, submit_card, text_of

PROFILE = {
    "sector": "public",
    "language": "fr",
    "timezone": "America/Toronto",
    "paused_until": "",
    "quiet_start": "20",
    "quiet_end": "8",
}


async def trust_declared_positions(database: Database) -> None:
    """Every team chooses "managers": whoever declares a management position reads summaries
    (for journeys whose managers declare themselves in the welcome form)."""
    async with database.session() as session, session.begin():
        await session.execute(update(Team).values(summary_readers="managers"))


async def member(engine: Engine, user_ref: str) -> Member:
    async with engine.database.session() as session:
        found = await session.scalar(select(Member).where(Member.user_ref == user_ref))
        assert found is not None
        return found


async def recipients(engine: Engine) -> set[str]:
    """Who the summary sent at a close reaches (`send_to_readers`, queued then rolled back)."""
    async with engine.database.session() as session, session.begin():
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        now = engine.clock() + dt.timedelta(days=1)
        await summary.send_to_readers(session, engine.bank, team, now, occasion="probe")
        rows = await session.execute(
            select(Member.user_ref)
            .join(OutboxMessage, OutboxMessage.member_id == Member.id)
            .where(OutboxMessage.idem_key.like("summary:%:probe:%"))
        )
        found = set(rows.scalars())
        await session.rollback()
    return found


async def reads(engine: Engine, user_ref: str) -> bool:
    """Whether the person gets the summary from the command, and sees its button at home."""
    cards = await say(engine, user_ref, "sommaire")
    allowed = "choisies pour le lire" not in text_of(cards)
    buttons = [b.context.get("text") for b in (await home(engine, actor(user_ref))).buttons]
    assert allowed == ("summary" in buttons), (user_ref, buttons)
    return allowed


async def declare(engine: Engine, user_ref: str, position: str) -> str:
    cards = await submit(
        engine, user_ref, "profile.save", {"team": "demo"}, PROFILE | {"position": position}
    )
    return text_of(cards)


async def test_a_self_declared_manager_waits_for_a_coordinator(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    await worker.drain()
    sender.deliveries.clear()
    assert not await reads(engine, "camille")
    said = await declare(engine, "camille", "manager")
    assert "attend la confirmation de la coordination" in said
    assert not await reads(engine, "camille")
    assert "camille" not in await recipients(engine)
    csv = await say(engine, "camille", "sommaire csv")
    assert "choisies pour le lire" in text_of(csv)
    # The coordinator is told, with a button that confirms Camille.
    await worker.drain()
    (notice,) = [d.card for d in sender.to("emilie")]
    assert "Camille Tremblay" in text_of([notice]) and "Gestion" in text_of([notice])
    confirm = notice.buttons[0]
    assert confirm.action == "readers.confirm"
    # Pressing it as Camille herself does nothing: coordinators only.
    refused = await submit(engine, "camille", confirm.action, confirm.context)
    assert "coordination" in text_of(refused)
    assert not (await member(engine, "camille")).reads_summaries
    done = await submit(engine, "emilie", confirm.action, confirm.context)
    assert "lit désormais" in text_of(done)
    assert await reads(engine, "camille")
    assert "camille" in await recipients(engine)
    await worker.drain()
    assert any("confirmé" in text_of([d.card]) for d in sender.to("camille"))
    # Saving the profile again with the same position asks nobody again.
    sender.deliveries.clear()
    assert "attend" not in await declare(engine, "camille", "manager")
    await worker.drain()
    assert sender.to("emilie") == []


async def test_the_team_may_trust_positions_or_open_summaries_to_everyone(
    engine: Engine,
) -> None:
    await seeded(engine)
    await declare(engine, "jonathan", "manager")
    assert not await reads(engine, "jonathan")
    settings = (await say(engine, "emilie", "parametres"))[0]
    rule = next(b for b in settings.blocks if getattr(b, "name", "") == "summary_readers")
    assert rule.default == "confirmed"  # type: ignore[union-attr]
    defaults = {i.name: str(i.default or "") for i in settings.inputs()}
    # A member cannot change the rule.
    refused = await submit_card(
        engine, "camille", settings, defaults | {"summary_readers": "everyone"}
    )
    assert "coordination" in text_of(refused)
    assert not await reads(engine, "camille")
    await submit_card(engine, "emilie", settings, defaults | {"summary_readers": "managers"})
    assert await reads(engine, "jonathan") and await reads(engine, "nadia")
    assert not await reads(engine, "camille")
    assert {"jonathan", "nadia", "luc", "emilie"} <= await recipients(engine)
    assert "camille" not in await recipients(engine)
    # Under "managers" a declared position needs no confirmation: nobody is asked.
    assert "attend" not in await declare(engine, "daniel", "coordinator")
    await submit_card(engine, "emilie", settings, defaults | {"summary_readers": "everyone"})
    assert await reads(engine, "camille")
    assert "camille" in await recipients(engine)
    forged = await submit_card(engine, "emilie", settings, defaults | {"summary_readers": "all"})
    assert "⚠" in text_of(forged)
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, "demo")
        assert team is not None and team.summary_readers == "everyone"


async def test_coordinators_confirm_and_withdraw_readers_with_a_form(engine: Engine) -> None:
    await seeded(engine)
    await declare(engine, "jonathan", "manager")
    (card,) = await say(engine, "emilie", "lecteurs")
    assert card.form is not None and card.form.action == "readers.save"
    assert "Jonathan Roy" in text_of([card])  # awaiting, listed first
    people = next(b for b in card.blocks if getattr(b, "name", "") == "member")
    labels = [o.label for o in people.options]  # type: ignore[union-attr]
    assert labels[0] == "Jonathan Roy — ne lit pas les sommaires — Gestion"
    assert not any(label.startswith("Émilie") for label in labels)  # coordinators always read
    jonathan = await member(engine, "jonathan")
    nadia = await member(engine, "nadia")
    await submit_card(engine, "emilie", card, {"member": str(jonathan.id), "reads": "yes"})
    await submit_card(engine, "emilie", card, {"member": str(nadia.id), "reads": "no"})
    assert await reads(engine, "jonathan") and not await reads(engine, "nadia")
    # Members do not get the form, and cannot submit it.
    assert "coordination" in text_of(await say(engine, "nadia", "lecteurs"))
    denied = await submit_card(engine, "nadia", card, {"member": str(nadia.id), "reads": "yes"})
    assert "coordination" in text_of(denied)
    assert not await reads(engine, "nadia")
    # Forged ids: nonsense, a coordinator, past 32 bits.
    emilie = await member(engine, "emilie")
    for forged in ("abc", str(emilie.id), str(2**40), "-1", "99999"):
        answer = await submit_card(engine, "emilie", card, {"member": forged, "reads": "no"})
        assert "pas membre de l’équipe" in text_of(answer), forged
    assert await reads(engine, "emilie")


async def test_another_teams_member_cannot_be_confirmed_from_here(engine: Engine) -> None:
    """A coordinator of team A naming team B's member in A's form changes nothing."""
    await seeded(engine)
    other = Actor("sandbox", "", "olga", "Olga", None, "fr-CA")
    place = Place("sandbox", "", "canal-b", "canal-b")
    (form,) = await engine.handle(CommandReceived(other, "configurer", place))
    assert form.form is not None
    values = {i.name: str(i.default or "") for i in form.inputs()} | {"name": "Équipe B"}
    await engine.handle(FormSubmitted(other, "setup.save", form.form.context, values, place))
    await engine.handle(
        FormSubmitted(
            other, "profile.save", {"team": "equipe-b"}, PROFILE | {"position": "manager"}
        )
    )
    olga = await member(engine, "olga")
    assert DEMO_CHANNEL.channel_ref != place.channel_ref
    (card,) = await say(engine, "emilie", "lecteurs")
    answer = await submit_card(engine, "emilie", card, {"member": str(olga.id), "reads": "no"})
    assert "pas membre de l’équipe" in text_of(answer)
    confirm = await submit(
        engine, "emilie", "readers.confirm", {"team": "demo", "member": str(olga.id)}
    )
    assert "pas membre de l’équipe" in text_of(confirm)
    assert (await member(engine, "olga")).is_coordinator


def test_the_setup_card_says_who_will_read_the_summaries() -> None:
    """Before a team exists, its future coordinator learns that declaring a position is not
    enough: the summaries go to the coordination and to the readers it confirms."""
    place = Place("slack", "T0", "C0NEW", "partenaires")
    asker = Actor("slack", "T0", "U0COORD", "Émilie")
    for language in ("fr", "en"):
        card = team_admin.setup_card(Tr(language), place, asker, Sealer.ephemeral())
        assert Tr(language)("setup.readers") in text_of([card])
