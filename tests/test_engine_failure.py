"""A submission that fails inside `Engine.handle`: its transaction is rolled back, and its
author still gets the error card, in their own language, on SQLite and PostgreSQL.

The failure is raised after the turn wrote to the database, so the rollback expires the
member's row: the error card must not need it (reading it would raise `MissingGreenlet`).
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from dialogs.cards import Card
from dialogs.checkins import ballot_store
from dialogs.checkins.models import Participation
from dialogs.engine import Engine
from dialogs.events import Actor, FormSubmitted
from dialogs.i18n import Tr
from dialogs.registry import ActionSpec
from dialogs.turn import Turn
from storage import teams
from tests.checkin_rounds import open_checkin
from tests.helpers import actor, scale_names, seeded

ERROR = {
    lang: (Tr(lang)("errors.internal_title"), Tr(lang)("errors.internal")) for lang in ("fr", "en")
}


class Broken(RuntimeError):
    """The failure a test plants in the middle of a turn."""


def speaking_otherwise(user_ref: str, locale: str) -> Actor:
    """The person's actor, with a platform locale that is not the language they chose: the
    error card must follow their choice, not the client's."""
    return dataclasses.replace(actor(user_ref), locale=locale)


def error_of(cards: list[Card]) -> tuple[str, str]:
    (card,) = cards
    paragraph = card.blocks[0]
    return card.title, getattr(paragraph, "text", "")


@pytest.mark.parametrize(
    ("who", "locale", "language"), [("jonathan", "fr-CA", "en"), ("camille", "en-US", "fr")]
)
async def test_a_ballot_that_fails_while_recording_gets_the_error_card(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, who: str, locale: str, language: str
) -> None:
    """The check-in's own handler fails after writing (the ballot sealed, the ledger
    updated): nothing is kept, and the person gets the error card in their language."""
    await seeded(engine)
    round_id, card = await open_checkin(engine, "demo", 1)
    record = ballot_store.record_ballot

    async def record_then_fail(*args: object, **kwargs: object) -> bool:
        assert await record(*args, **kwargs)  # type: ignore[arg-type]
        raise Broken("after the ballot was written")

    monkeypatch.setattr(ballot_store, "record_ballot", record_then_fail)
    assert card.form is not None
    values = {name: "4" for name in scale_names(card)}
    event = FormSubmitted(
        speaking_otherwise(who, locale), "checkin.submit", card.form.context, values
    )
    assert error_of(await engine.handle(event)) == ERROR[language]
    async with engine.database.session() as session:
        answered = await session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.round_id == round_id, Participation.status != "asked")
        )
    assert answered == 0  # rolled back: they are still asked, and can answer again
    monkeypatch.setattr(ballot_store, "record_ballot", record)
    replies = await engine.handle(event)
    assert replies[0].title == Tr(language)("checkin.thanks_title")


@pytest.mark.parametrize(
    ("who", "locale", "language"), [("daniel", "fr", "en"), ("sophie", "en", "fr")]
)
async def test_a_handler_that_fails_before_it_spoke_gets_the_error_card(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, who: str, locale: str, language: str
) -> None:
    """A ritual's handler that writes, then fails before building any text: the error card
    still speaks the person's language (read before the failure, not from the expired row)."""
    await seeded(engine)

    async def write_then_fail(turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.member is not None and turn.team is not None
        turn.member.display_name = "changed, then rolled back"
        await turn.session.flush()
        raise Broken("in the middle of the transaction")

    monkeypatch.setitem(engine.rituals.actions, "checkin.skip", ActionSpec(write_then_fail))
    event = FormSubmitted(speaking_otherwise(who, locale), "checkin.skip", {"team": "demo"}, {})
    assert error_of(await engine.handle(event)) == ERROR[language]
    async with engine.database.session() as session:
        member = await teams.member_in(session, 1, "sandbox", "", who)
        assert member is not None and member.display_name != "changed, then rolled back"
