"""Every time shown to a person is on their own clock (their zone, else their team's), with
the zone's abbreviation in their language: HNE/HNP in French, EST/PST in English, the UTC
offset where French has no letters for it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialogs import times
from dialogs.cards import Card, ChoiceInput
from dialogs.checkins import round_store
from dialogs.engine import Engine
from dialogs.events import FormSubmitted
from dialogs.i18n import Tr
from storage import teams
from storage.models import Member, OutboxMessage, Team
from tests.helpers import actor, lead, paragraphs, say, seeded

UTC = dt.UTC


def at(zone: str, year: int, month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC).astimezone(ZoneInfo(zone))


@pytest.mark.parametrize(
    ("zone", "when", "fr", "en"),
    [
        ("America/Toronto", (2026, 11, 27, 15), "HNE", "EST"),
        ("America/Toronto", (2026, 7, 3, 15), "HAE", "EDT"),
        ("America/Vancouver", (2026, 11, 27, 15), "HNP", "PST"),
        ("America/Vancouver", (2026, 7, 3, 15), "HAP", "PDT"),
        ("America/Halifax", (2026, 11, 27, 15), "HNA", "AST"),
        ("America/St_Johns", (2026, 11, 27, 15), "HNT", "NST"),
        ("America/Edmonton", (2026, 11, 27, 15), "HNR", "MST"),
        ("America/Winnipeg", (2026, 7, 3, 15), "HAC", "CDT"),
        ("Europe/Paris", (2026, 11, 27, 15), "UTC+1", "CET"),
        ("Asia/Kolkata", (2026, 11, 27, 15), "UTC+5:30", "IST"),
        ("America/Sao_Paulo", (2026, 11, 27, 15), "UTC\u22123", "UTC\u22123"),
        ("UTC", (2026, 11, 27, 15), "UTC", "UTC"),
    ],
)
def test_zone_labels(zone: str, when: tuple[int, int, int, int], fr: str, en: str) -> None:
    moment = at(zone, *when)
    assert (times.zone_label("fr", moment), times.zone_label("en", moment)) == (fr, en)


def test_an_unknown_french_abbreviation_is_an_offset_with_a_minus_sign() -> None:
    moment = at("America/Anchorage", 2026, 11, 27, 15)  # AKST: no French letters for it
    assert times.zone_label("fr", moment) == "UTC\u22129"
    assert times.zone_label("en", moment) == "AKST"


def test_shown_on_the_readers_clock() -> None:
    team = Team(name="t", slug="t", timezone="America/Toronto", language="fr")
    vancouver = Member(timezone="America/Vancouver", language="fr")
    unsaid = Member(timezone=None, language="en")
    when = dt.datetime(2026, 11, 27, 15, tzinfo=UTC)
    in_vancouver = "vendredi 27 novembre 2026 à 7\u00a0h\u00a000 (HNP)"
    assert times.shown(Tr("fr"), when, team, vancouver) == in_vancouver
    assert times.shown(Tr("en"), when, team, vancouver) == "Friday 27 November 2026 at 7:00 (PST)"
    # No zone of their own: the team's.
    assert times.shown(Tr("en"), when, team, unsaid) == "Friday 27 November 2026 at 10:00 (EST)"
    in_toronto = "vendredi 27 novembre 2026 à 10\u00a0h\u00a000 (HNE)"
    assert times.shown(Tr("fr"), when, team) == in_toronto


async def queued_checkin(engine: Engine, round_id: int, user_ref: str) -> Card:
    async with engine.database.session() as session:
        member = await teams.member_in(session, 1, "sandbox", "", user_ref)
        assert member is not None
        payload = await session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.idem_key == f"checkin:{round_id}:{member.id}"
            )
        )
    assert payload is not None, user_ref
    return Card.model_validate(payload)


async def set_language(engine: Engine, user_ref: str, language: str) -> None:
    async with engine.database.session() as session, session.begin():
        member = await teams.member_in(session, 1, "sandbox", "", user_ref)
        assert member is not None
        member.language = language


# The demo round opens Tuesday 24 November 2026 at 15:00 UTC and closes 72 hours later:
# Friday 27 November, 10:00 in Toronto, 7:00 in Vancouver.
CLOSES = {
    ("fr", "America/Toronto"): "vendredi 27 novembre 2026 à 10\u00a0h\u00a000 (HNE)",
    ("en", "America/Toronto"): "Friday 27 November 2026 at 10:00 (EST)",
    ("fr", "America/Vancouver"): "vendredi 27 novembre 2026 à 7\u00a0h\u00a000 (HNP)",
    ("en", "America/Vancouver"): "Friday 27 November 2026 at 7:00 (PST)",
}


async def test_the_checkin_deadline_on_each_persons_clock(engine: Engine) -> None:
    await seeded(engine)
    await engine.jobs.run("checkin", "demo")
    async with engine.database.session() as session:
        round_ = await round_store.open_round_of(session, 1)
    assert round_ is not None
    people = {
        "camille": ("fr", "America/Toronto"),
        "jonathan": ("en", "America/Toronto"),
        "daniel": ("en", "America/Vancouver"),  # asked when his quiet hours end
    }
    for who, (language, zone) in people.items():
        card = await queued_checkin(engine, round_.id, who)
        assert CLOSES[(language, zone)] in lead(card), (who, lead(card))
    # Daniel, in Vancouver, reads French now: Vancouver time, French letters.
    await set_language(engine, "daniel", "fr")
    (asked,) = await say(engine, "daniel", "checkin")
    assert CLOSES[("fr", "America/Vancouver")] in lead(asked)
    assert "(EST)" not in lead(asked) and "HNE" not in lead(asked)
    # The reminder is on his clock too.
    await engine.jobs.run("reminders", "demo")
    async with engine.database.session() as session:
        daniel = await teams.member_in(session, 1, "sandbox", "", "daniel")
        assert daniel is not None
        payload = await session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.idem_key == f"remind:{round_.id}:{daniel.id}"
            )
        )
    assert payload is not None
    assert CLOSES[("fr", "America/Vancouver")] in lead(Card.model_validate(payload))


async def test_a_tension_s_publication_on_the_writers_clock(engine: Engine) -> None:
    """Daniel, in Vancouver, previews a tension: the batch's time is on his clock, with the
    zone's letters in his language (the team is in Toronto)."""
    await seeded(engine)
    await set_language(engine, "daniel", "fr")
    (form,) = await say(engine, "daniel", "tension")
    assert form.form is not None
    (theme,) = [b for b in form.inputs() if isinstance(b, ChoiceInput) and b.name == "theme"]
    values = {"text": "Les rencontres commencent en retard.", "theme": theme.options[-1].value}
    cards = await engine.handle(
        FormSubmitted(actor("daniel"), form.form.action, form.form.context, values)
    )
    text = "\n".join(p for card in cards for p in paragraphs(card))
    assert "(HNP)" in text and "(HNE)" not in text, text
