"""A check-in repeated by a retry or a double click is recorded once, on each database.

Concurrent cases use `asyncio.gather` on two engine events: each runs in its own session and
connection, so on PostgreSQL they really interleave, and on SQLite they queue on the write lock.
"""

from __future__ import annotations

import asyncio

from dialogs.checkins import ballot_store as ballots
from dialogs.checkins import results
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from storage import teams
from storage.database import Database
from tests.helpers import submit, text_of
from tests.idempotency_helpers import (
    OPEN_TEXT,
    ballot,
    count,
    open_round,
    opened_ballots,
    sealed_ballots,
    title,
    values_of,
)
from tests.sql_reads import fetch


async def test_the_same_checkin_twice_is_one_ballot(engine: Engine, database: Database) -> None:
    context, items = await open_round(engine, database)
    first = text_of(await submit(engine, "sophie", "checkin.submit", context, ballot(items, "4")))
    again = text_of(await submit(engine, "sophie", "checkin.submit", context, ballot(items, "2")))
    assert first.startswith(title("sophie", "checkin.thanks_title"))
    assert again.startswith(title("sophie", "checkin.already_title"))
    assert await sealed_ballots(database) == 1
    [opened] = await opened_ballots(engine, database)
    assert values_of(opened) == dict.fromkeys(items, 4)  # the first one counts
    assert opened.open_answer is not None and opened.open_answer[1] == OPEN_TEXT
    assert await count(database, "open_answers") == 0  # sealed in the ballot until the freeze
    assert await count(database, "participation", "status = 'answered'") == 1


async def test_the_same_checkin_twice_at_once_is_one_ballot(
    engine: Engine, database: Database
) -> None:
    context, items = await open_round(engine, database)
    replies = await asyncio.gather(
        *(submit(engine, "sophie", "checkin.submit", context, ballot(items, v)) for v in ("4", "2"))
    )
    titles = sorted(r[0].title for r in replies)
    assert titles == sorted(
        [title("sophie", "checkin.thanks_title"), title("sophie", "checkin.already_title")]
    ), [text_of(r) for r in replies]
    assert await sealed_ballots(database) == 1
    [opened] = await opened_ballots(engine, database)
    # One submission's values, whole: never a mix of the two.
    assert values_of(opened) in (dict.fromkeys(items, 4), dict.fromkeys(items, 2))
    assert opened.open_answer is not None and opened.open_answer[1] == OPEN_TEXT
    assert await count(database, "open_answers") == 0
    assert await count(database, "participation", "status = 'answered'") == 1


async def test_many_members_at_once_each_count_once(engine: Engine, database: Database) -> None:
    context, items = await open_round(engine, database)
    people = ["sophie", "camille", "luc", "nadia", "aisha", "daniel"]
    replies = await asyncio.gather(
        *(submit(engine, who, "checkin.submit", context, ballot(items, "3")) for who in people),
        *(submit(engine, who, "checkin.submit", context, ballot(items, "3")) for who in people),
    )
    thanks = [r for r in replies if r[0].title in ("Merci\u00a0!", "Thank you!")]
    assert len(thanks) == len(people)
    assert await sealed_ballots(database) == len(people)
    opened = await opened_ballots(engine, database)
    assert [values_of(b) for b in opened] == [dict.fromkeys(items, 3)] * len(people)
    assert await count(database, "participation", "status = 'answered'") == len(people)
    assert await count(database, "participation", "status = 'asked'") == 9 - len(people)


async def test_skip_then_submit_records_nothing(engine: Engine, database: Database) -> None:
    context, items = await open_round(engine, database)
    skipped = text_of(await submit(engine, "luc", "checkin.skip", context))
    assert skipped.startswith(title("luc", "checkin.skipped_title"))
    again = text_of(await submit(engine, "luc", "checkin.skip", context))
    assert again.startswith(title("luc", "checkin.already_title"))
    late = text_of(await submit(engine, "luc", "checkin.submit", context, ballot(items, "5")))
    assert late.startswith(title("luc", "checkin.already_title"))
    assert await sealed_ballots(database) == 0
    assert await count(database, "open_answers") == 0
    assert [r["status"] for r in await fetch(database, "SELECT status FROM participation")].count(
        "skipped"
    ) == 1
    # And the other way round: an answer cannot be skipped afterwards.
    await submit(engine, "aisha", "checkin.submit", context, ballot(items, "5"))
    assert (await submit(engine, "aisha", "checkin.skip", context))[0].title.startswith(
        title("aisha", "checkin.already_title")
    )
    statuses = {r["status"] for r in await fetch(database, "SELECT status FROM participation")}
    assert statuses == {"asked", "answered", "skipped"}
    assert await sealed_ballots(database) == 1  # aisha's, once


async def test_ledger_marks_are_guarded_in_storage(engine: Engine, database: Database) -> None:
    """The storage calls themselves, without the engine's earlier status check."""
    _, items = await open_round(engine, database)
    async with database.session() as session, session.begin():
        round_ = await rounds.open_round_of(session, 1)
        assert round_ is not None
        question = round_.open_question_id
        member = 5
        values = [rounds.ItemValue(i, "vision", 3) for i in items]
        kwargs = {"sector": None, "position": None, "open_text": "x"}
        assert await ballots.record_ballot(
            session, engine.sealer, round_=round_, member_id=member, values=values, **kwargs
        )
        other = [rounds.ItemValue(i, "vision", 1) for i in items]
        assert not await ballots.record_ballot(
            session, engine.sealer, round_=round_, member_id=member, values=other, **kwargs
        )
        assert not await rounds.skip(session, round_.id, member)
        assert not await rounds.skip(session, round_.id, 999)  # never asked
        assert await rounds.skip(session, round_.id, 6)
        assert not await rounds.skip(session, round_.id, 6)
    assert await sealed_ballots(database) == 1
    [opened] = await opened_ballots(engine, database)
    assert opened.values == values  # the first one, not the refused second
    assert opened.open_answer == ((question, "x") if question else None)
    ledger = {
        r["member_id"]: r["status"] for r in await fetch(database, "SELECT * FROM participation")
    }
    assert ledger[5] == "answered" and ledger[6] == "skipped"
    assert sorted(ledger.values()).count("asked") == 7


async def test_closing_twice_at_once_keeps_the_counts(engine: Engine, database: Database) -> None:
    context, items = await open_round(engine, database)
    for who in ("sophie", "camille", "luc"):
        await submit(engine, who, "checkin.submit", context, ballot(items, "3"))
    await submit(engine, "nadia", "checkin.skip", context)
    round_id = int(context["round"])
    loaded = [asyncio.Event(), asyncio.Event()]
    go = [asyncio.Event(), asyncio.Event()]

    async def closer(i: int) -> None:
        async with database.session() as session, session.begin():
            round_ = await rounds.round_by_id(session, round_id)
            assert round_ is not None and not round_.closed
            loaded[i].set()
            await go[i].wait()
            await rounds.close_round(session, round_)

    first, second = asyncio.create_task(closer(0)), asyncio.create_task(closer(1))
    await loaded[0].wait()
    await loaded[1].wait()  # both saw the round open
    go[0].set()
    await first
    go[1].set()
    await second
    [row] = await fetch(database, "SELECT * FROM rounds")
    assert row["closed"]
    assert (row["asked_count"], row["answered_count"], row["skipped_count"]) == (9, 3, 1)
    assert await count(database, "participation") == 0
    # The close neither drops nor repeats a ballot: they wait sealed for the freeze.
    assert await sealed_ballots(database) == 3
    # Frozen (twice: the second finds the unit frozen and changes nothing), the three ballots
    # are counted once in the unit's cells, their open answers are written, and they are gone.
    for _ in range(2):
        async with database.session() as session, session.begin():
            team = await teams.team_by_slug(session, "demo")
            assert team is not None
            await results.freeze_new_units(session, engine.sealer, team)
    assert await sealed_ballots(database) == 0
    [unit] = await fetch(database, "SELECT * FROM summary_units")
    assert (unit["first_seq"], unit["last_seq"], unit["asked"], unit["answered"]) == (1, 1, 9, 3)
    cells = await fetch(database, "SELECT * FROM unit_cells WHERE unit_id = :u", u=unit["id"])
    by_dimension: dict[str, list[int]] = {}
    for cell in cells:
        sums = by_dimension.setdefault(cell["dimension"], [0, 0, 0, 0])
        sums[0] += cell["respondents"]
        sums[1] += cell["answers"]
        sums[2] += cell["total"]
        sums[3] += cell["count_3"]
        assert cell["count_1"] == cell["count_2"] == cell["count_4"] == cell["count_5"] == 0
    for respondents, answers, total, threes in by_dimension.values():
        assert respondents == 3 and total == 3 * answers and threes == answers
    assert sum(answers for _, answers, _, _ in by_dimension.values()) == 3 * len(items)
    assert await count(database, "open_answers", "text = :t", t=OPEN_TEXT) == 3
