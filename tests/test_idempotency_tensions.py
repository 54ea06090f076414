"""A tension, a reply or a success repeated by a retry or a double click is recorded once, and a
repeat uses no quota, on each database.

Concurrent cases use `asyncio.gather` on two engine events: each runs in its own session and
connection, so on PostgreSQL they really interleave, and on SQLite they queue on the write lock.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from dialogs.calendar import week_key, zone
from dialogs.engine import Engine
from dialogs.tensions.rate_limit import WeeklyLimiter
from storage.database import Database
from tests.conftest import Clock
from tests.helpers import seeded, submit, text_of
from tests.idempotency_helpers import count, sealed, tension, title, twice_then_at_once
from tests.sql_reads import fetch


async def this_week(database: Database, clock: Clock) -> str:
    [team] = await fetch(database, "SELECT timezone FROM teams WHERE slug = 'demo'")
    return week_key(clock(), zone(team["timezone"]))


async def used(
    engine: Engine, database: Database, clock: Clock, week: str | None = None
) -> dict[str, int]:
    """Tensions counted against each member's weekly limit (slots in `tension_tokens`)."""
    week = week or await this_week(database, clock)
    members = await fetch(database, "SELECT id, team_id, user_ref FROM members")
    counts = {}
    async with database.session() as session:
        for r in members:
            counts[r["user_ref"]] = await WeeklyLimiter().used(
                session, engine.sealer, team_id=r["team_id"], member_id=r["id"], week=week, limit=5
            )
    return {who: n for who, n in counts.items() if n}


async def test_tension_confirm_clicked_twice_is_one_tension(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    first = text_of(await submit(engine, "sophie", "tension.confirm", tension()))
    again = text_of(await submit(engine, "sophie", "tension.confirm", tension()))
    assert first.startswith(title("sophie", "tension.sent_title"))
    assert again.startswith(title("sophie", "tension.duplicate_title"))
    assert await sealed(database, "tension") == 1
    assert await used(engine, database, clock) == {"sophie": 1}  # the repeat used no quota


async def test_tension_confirm_clicked_twice_at_once_is_one_tension(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    replies = await asyncio.gather(
        submit(engine, "sophie", "tension.confirm", tension()),
        submit(engine, "sophie", "tension.confirm", tension()),
    )
    titles = sorted(r[0].title for r in replies)
    assert titles == sorted(
        [title("sophie", "tension.sent_title"), title("sophie", "tension.duplicate_title")]
    ), [text_of(r) for r in replies]
    assert await sealed(database, "tension") == 1
    assert await used(engine, database, clock) == {"sophie": 1}


async def test_tensions_from_two_members_at_once_count_for_each(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    await asyncio.gather(
        submit(engine, "sophie", "tension.confirm", tension("Premier sujet.")),
        submit(engine, "aisha", "tension.confirm", tension("Second topic.")),
    )
    assert await sealed(database, "tension") == 2
    assert await used(engine, database, clock) == {"sophie": 1, "aisha": 1}


async def test_the_same_words_another_day_are_a_new_tension(
    engine: Engine, clock: Clock, database: Database
) -> None:
    """A retry repeats within seconds; the same concern raised next week is not a retry."""
    await seeded(engine)
    await submit(engine, "sophie", "tension.confirm", tension())
    last_week = await this_week(database, clock)
    clock.advance(days=8)
    later = text_of(await submit(engine, "aisha", "tension.confirm", tension()))
    assert later.startswith(title("aisha", "tension.sent_title")), later
    assert await sealed(database, "tension") == 2
    assert await used(engine, database, clock) == {"aisha": 1}
    # Last week's slots are forgotten by the weekly batch.
    assert await used(engine, database, clock, last_week) == {"sophie": 1}
    await engine.jobs.run("batch", "demo")
    assert await used(engine, database, clock, last_week) == {}
    assert await used(engine, database, clock) == {"aisha": 1}


async def test_the_same_words_the_next_day_are_a_new_tension_and_success(
    engine: Engine, clock: Clock, database: Database
) -> None:
    """The day is part of both dedupe keys: the same member, the same words, the next day."""
    await seeded(engine)
    success = {"team": "demo", "prompt": ""}
    values = {"text": "Une famille enfin accompagnée ensemble.", "consent": "anonymous"}
    await submit(engine, "sophie", "tension.confirm", tension())
    await submit(engine, "luc", "success.submit", success, values)
    clock.advance(days=1)
    again = text_of(await submit(engine, "sophie", "tension.confirm", tension()))
    assert again.startswith(title("sophie", "tension.sent_title")), again
    again = text_of(await submit(engine, "luc", "success.submit", success, values))
    assert again.startswith(title("luc", "success.thanks_title")), again
    assert await sealed(database, "tension") == await sealed(database, "success") == 2
    assert await used(engine, database, clock) == {"sophie": 2}


async def test_a_repeated_or_refused_tension_uses_no_quota(
    engine: Engine, clock: Clock, database: Database
) -> None:
    await seeded(engine)
    async with database.session() as session, session.begin():
        await session.execute(text("UPDATE teams SET tension_weekly_limit = 3"))
    replies = []
    for words in ("Un.", "Un.", "Deux.", "Deux.", "Trois.", "Quatre."):
        clock.advance(minutes=5)
        replies.append((await submit(engine, "sophie", "tension.confirm", tension(words)))[0].title)
    sent, dup, limit = (
        title("sophie", key)
        for key in ("tension.sent_title", "tension.duplicate_title", "tension.limit_title")
    )
    assert replies == [sent, dup, sent, dup, sent, limit]
    assert await sealed(database, "tension") == 3
    assert await used(engine, database, clock) == {"sophie": 3}
    # Refused at the limit, the same words are refused again, not taken for a duplicate.
    assert (await submit(engine, "sophie", "tension.confirm", tension("Quatre.")))[0].title == limit
    assert await sealed(database, "tension") == 3
    assert await count(database, "tensions") == 0  # nothing is readable before the batch
    assert (await engine.jobs.run("batch", "demo")).count == 3
    assert await count(database, "tensions") == 3 and await sealed(database, "tension") == 0


async def test_the_same_reply_twice_is_one_reply_and_one_post(
    engine: Engine, database: Database
) -> None:
    await seeded(engine)
    await submit(engine, "sophie", "tension.confirm", tension())
    await engine.jobs.run("batch", "demo")
    [row] = await fetch(database, "SELECT id FROM tensions")
    context = {"team": "demo", "tension": row["id"]}
    values = {"text": "On en parle jeudi.", "post": "yes"}
    first, again = await twice_then_at_once(engine, "emilie", "tension.reply", context, values)
    assert first.startswith(title("emilie", "reply.saved_title"))
    assert again.startswith(title("emilie", "reply.duplicate_title"))
    assert await count(database, "tension_replies") == 1
    assert await count(database, "outbox", "idem_key LIKE 'reply:%'") == 1


@pytest.mark.parametrize("consent", ["anonymous", "named", "summary_only"])
async def test_the_same_success_twice_is_one_success(
    engine: Engine, database: Database, consent: str
) -> None:
    await seeded(engine)
    before = await count(database, "outbox")
    context = {"team": "demo", "prompt": ""}
    values = {"text": "Une famille enfin accompagnée ensemble.", "consent": consent}
    first, again = await twice_then_at_once(engine, "luc", "success.submit", context, values)
    assert first.startswith(title("luc", "success.thanks_title"))
    assert again.startswith(title("luc", "success.duplicate_title"))
    named = consent == "named"
    # A named success is stored, and posted, at once; the others wait sealed for the batch.
    assert (await count(database, "successes"), await sealed(database, "success")) == (
        (1, 0) if named else (0, 1)
    )
    assert await count(database, "outbox") - before == (1 if named else 0)
    await engine.jobs.run("batch", "demo")
    assert await sealed(database, "success") == 0
    assert await count(database, "successes") == (0 if consent == "summary_only" else 1)
    assert await count(database, "success_tallies", "count = 1") == (
        1 if consent == "summary_only" else 0
    )
