"""Every write a retry or a double click can repeat is recorded once, on each database.

Concurrent cases use `asyncio.gather` on two engine events: each runs in its own session and
connection, so on PostgreSQL they really interleave, and on SQLite they queue on the write lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text

from dialogs.calendar import week_key, zone
from dialogs.checkins import results
from dialogs.i18n import Tr
from dialogs.tensions.rate_limit import WeeklyLimiter
from storage import ballots, outbox, rounds, teams
from storage.database import Database
from tests.helpers import PEOPLE, seeded, submit, text_of


async def fetch(database: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        result = await connection.execute(text(sql), params)
        return [dict(row) for row in result.mappings().all()]


async def count(database: Database, table: str, where: str = "1 = 1", **params: Any) -> int:
    [row] = await fetch(database, f"SELECT count(*) AS n FROM {table} WHERE {where}", **params)
    return int(row["n"])


async def state(database: Database) -> dict[str, list[Any]]:
    """What a repeated write could have changed."""
    tables = {
        "outbox": "idem_key, member_id, status, not_before",
        "rounds": "id, seq, occurrence, reminded, closed, asked_count, answered_count",
        "participation": "round_id, member_id, status, sealed_with",
        "unit_cells": "*",
        "open_answers": "round_id, text, status",
        "tensions": "text, status, published_on",
        "tension_replies": "tension_id, text",
        "successes": "text, consent, status",
        "reflexive_schedules": "id, first_local, recurrence",
        "reflexive_occurrences": "schedule_id, occurs_at, invited, posted",
        "summary_units": "*",
        "sealed": "id, team_id, kind, batch",
        "tension_tokens": "*",
        "success_tallies": "*",
    }
    snapshot = {}
    for table, columns in tables.items():
        rows = await fetch(database, f"SELECT {columns} FROM {table}")
        snapshot[table] = sorted(
            (tuple(str(v) for v in row.values()) for row in rows), key=lambda r: r
        )
    return snapshot


def title(who: str, key: str) -> str:
    return Tr(PEOPLE[who].language)(key)


async def open_round(engine, database) -> tuple[dict[str, str], list[str]]:
    await seeded(engine)
    result = await engine.jobs.run("checkin", "demo")
    assert result.count == 9
    [row] = await fetch(database, "SELECT id, items FROM rounds")
    items = json.loads(row["items"]) if isinstance(row["items"], str) else list(row["items"])
    return {"team": "demo", "round": str(row["id"])}, items


OPEN_TEXT = "Plus de temps ensemble"


def ballot(items: list[str], value: str) -> dict[str, str]:
    return {**{f"item:{i}": value for i in items}, "open": OPEN_TEXT}


async def sealed_ballots(database: Database) -> int:
    """Check-in ballots waiting sealed: one row per ballot, never one per item."""
    return await count(database, "sealed", "kind = 'ballot'")


async def opened_ballots(engine, database: Database) -> list[ballots.OpenedBallot]:
    """The sealed ballots of the demo team's rounds, opened with the engine's key (read-only:
    nothing is deleted); every one of them must open."""
    async with database.session() as session:
        team = await teams.team_by_slug(session, "demo")
        assert team is not None
        round_ids = [r.id for r in await rounds.rounds_of(session, team.id)]
        opened, unopenable = await ballots.open_ballots(session, engine.sealer, team.id, round_ids)
    assert unopenable == 0
    return opened


def values_of(opened: ballots.OpenedBallot) -> dict[str, int | None]:
    return {v.item_id: v.value for v in opened.values}


# ---------------------------------------------------------------------------------- check-ins


async def test_the_same_checkin_twice_is_one_ballot(engine, database):
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


async def test_the_same_checkin_twice_at_once_is_one_ballot(engine, database):
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


async def test_many_members_at_once_each_count_once(engine, database):
    context, items = await open_round(engine, database)
    people = ["sophie", "camille", "luc", "nadia", "aisha", "daniel"]
    replies = await asyncio.gather(
        *(submit(engine, who, "checkin.submit", context, ballot(items, "3")) for who in people),
        *(submit(engine, who, "checkin.submit", context, ballot(items, "3")) for who in people),
    )
    thanks = [r for r in replies if r[0].title in ("Merci!", "Thank you!")]
    assert len(thanks) == len(people)
    assert await sealed_ballots(database) == len(people)
    opened = await opened_ballots(engine, database)
    assert [values_of(b) for b in opened] == [dict.fromkeys(items, 3)] * len(people)
    assert await count(database, "participation", "status = 'answered'") == len(people)
    assert await count(database, "participation", "status = 'asked'") == 9 - len(people)


async def test_skip_then_submit_records_nothing(engine, database):
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


async def test_ledger_marks_are_guarded_in_storage(engine, database):
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


async def test_closing_twice_at_once_keeps_the_counts(engine, database):
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


# ---------------------------------------------------------------------------------- tensions


def tension(words: str = "Les décisions arrivent sans nous.") -> dict[str, str]:
    return {"team": "demo", "text": words, "theme": "decisions", "prompt": ""}


async def this_week(database, clock) -> str:
    [team] = await fetch(database, "SELECT timezone FROM teams WHERE slug = 'demo'")
    return week_key(clock(), zone(team["timezone"]))


async def used(engine, database, clock, week: str | None = None) -> dict[str, int]:
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


async def sealed(database, kind: str) -> int:
    """Submissions of `kind` waiting sealed for their batch."""
    return await count(database, "sealed", "kind = :k", k=kind)


async def test_tension_confirm_clicked_twice_is_one_tension(engine, clock, database):
    await seeded(engine)
    first = text_of(await submit(engine, "sophie", "tension.confirm", tension()))
    again = text_of(await submit(engine, "sophie", "tension.confirm", tension()))
    assert first.startswith(title("sophie", "tension.sent_title"))
    assert again.startswith(title("sophie", "tension.duplicate_title"))
    assert await sealed(database, "tension") == 1
    assert await used(engine, database, clock) == {"sophie": 1}  # the repeat used no quota


async def test_tension_confirm_clicked_twice_at_once_is_one_tension(engine, clock, database):
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


async def test_tensions_from_two_members_at_once_count_for_each(engine, clock, database):
    await seeded(engine)
    await asyncio.gather(
        submit(engine, "sophie", "tension.confirm", tension("Premier sujet.")),
        submit(engine, "aisha", "tension.confirm", tension("Second topic.")),
    )
    assert await sealed(database, "tension") == 2
    assert await used(engine, database, clock) == {"sophie": 1, "aisha": 1}


async def test_the_same_words_another_day_are_a_new_tension(engine, clock, database):
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


async def test_the_same_words_the_next_day_are_a_new_tension_and_success(engine, clock, database):
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


async def test_a_repeated_or_refused_tension_uses_no_quota(engine, clock, database):
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


async def test_the_same_reply_twice_is_one_reply_and_one_post(engine, database):
    await seeded(engine)
    await submit(engine, "sophie", "tension.confirm", tension())
    await engine.jobs.run("batch", "demo")
    [row] = await fetch(database, "SELECT id FROM tensions")
    context = {"team": "demo", "tension": row["id"]}
    values = {"text": "On en parle jeudi.", "post": "yes"}
    first = text_of(await submit(engine, "emilie", "tension.reply", context, values))
    again = text_of(await submit(engine, "emilie", "tension.reply", context, values))
    assert first.startswith(title("emilie", "reply.saved_title"))
    assert again.startswith(title("emilie", "reply.duplicate_title"))
    await asyncio.gather(
        *(submit(engine, "emilie", "tension.reply", context, values) for _ in "ab")
    )
    assert await count(database, "tension_replies") == 1
    assert await count(database, "outbox", "idem_key LIKE 'reply:%'") == 1


# ---------------------------------------------------------------------------------- successes


@pytest.mark.parametrize("consent", ["anonymous", "named", "summary_only"])
async def test_the_same_success_twice_is_one_success(engine, database, consent):
    await seeded(engine)
    before = await count(database, "outbox")
    context = {"team": "demo", "prompt": ""}
    values = {"text": "Une famille enfin accompagnée ensemble.", "consent": consent}
    first = text_of(await submit(engine, "luc", "success.submit", context, values))
    again = text_of(await submit(engine, "luc", "success.submit", context, values))
    assert first.startswith(title("luc", "success.thanks_title"))
    assert again.startswith(title("luc", "success.duplicate_title"))
    await asyncio.gather(*(submit(engine, "luc", "success.submit", context, values) for _ in "ab"))
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


# ---------------------------------------------------------------------------------- reflexive


SCHEDULE = {
    "prompt": "X1",
    "custom": "",
    "date": "2026-12-03",
    "time": "13:30",
    "recurrence": "weekly",
    "lead": "24",
    "channel": "all",
}


async def test_the_same_schedule_twice_is_one_schedule(engine, database):
    await seeded(engine)
    context = {"team": "demo"}
    first = text_of(await submit(engine, "emilie", "reflexive.save", context, SCHEDULE))
    again = text_of(await submit(engine, "emilie", "reflexive.save", context, SCHEDULE))
    assert first.startswith(title("emilie", "reflexive.saved_title")), first
    assert again.startswith(title("emilie", "reflexive.duplicate_title")), again
    await asyncio.gather(
        *(submit(engine, "emilie", "reflexive.save", context, SCHEDULE) for _ in "ab")
    )
    assert await count(database, "reflexive_schedules") == 1


async def test_the_same_pre_reflection_twice_is_one_note(engine, database):
    await seeded(engine)
    await submit(engine, "emilie", "reflexive.save", {"team": "demo"}, SCHEDULE)
    assert (await engine.jobs.run("reflexive-invite", "demo")).count == 9
    [occurrence] = await fetch(database, "SELECT id FROM reflexive_occurrences")
    context = {"team": "demo", "occurrence": str(occurrence["id"])}
    values = {"text": "On n'ose pas parler du financement."}
    first = text_of(await submit(engine, "marc-andre", "reflexive.pre", context, values))
    again = text_of(await submit(engine, "marc-andre", "reflexive.pre", context, values))
    assert first.startswith(title("marc-andre", "reflexive.pre_thanks_title"))
    assert again.startswith(title("marc-andre", "reflexive.pre_duplicate_title"))
    await asyncio.gather(
        *(submit(engine, "marc-andre", "reflexive.pre", context, values) for _ in "ab")
    )
    assert await sealed(database, "pre_reflection") == 1


# ---------------------------------------------------------------------------------- jobs


async def twice(engine, database, name: str) -> str:
    """Fire a scheduled job twice at the same time; the second must change nothing."""
    first = await engine.jobs.run(name, "demo", forced=False)
    after_first = await state(database)
    second = await engine.jobs.run(name, "demo", forced=False)
    assert await state(database) == after_first, name
    assert second.count == 0, (name, first, second)
    return first.message


async def test_every_job_fired_twice_for_one_occurrence_acts_once(engine, clock, database):
    await seeded(engine)
    await submit(engine, "emilie", "reflexive.save", {"team": "demo"}, SCHEDULE)
    await submit(engine, "sophie", "tension.confirm", tension())
    success = {"text": "Belle rencontre.", "consent": "anonymous"}
    await submit(engine, "luc", "success.submit", {"team": "demo", "prompt": ""}, success)
    assert await twice(engine, database, "checkin") == "jobs.checkin"
    assert await count(database, "rounds") == 1
    assert await count(database, "outbox", "idem_key LIKE 'checkin:%'") == 9
    assert await twice(engine, database, "success") == "jobs.sent"
    assert await twice(engine, database, "tension-prompt") == "jobs.sent"
    assert await twice(engine, database, "batch") == "jobs.batch"
    assert await count(database, "outbox", "kind = 'channel' AND idem_key LIKE 'tensions:%'") == 1
    clock.advance(hours=48)
    assert await twice(engine, database, "reminders") == "jobs.reminders"
    clock.advance(hours=24)
    assert await twice(engine, database, "close") == "jobs.closed"
    assert await count(database, "outbox", "idem_key LIKE 'checkin:%'") == 0
    # 2026-12-03 13:30 Toronto, invitations 24 h before.
    clock.now = dt.datetime(2026, 12, 2, 19, 0, tzinfo=dt.UTC)
    assert await twice(engine, database, "reflexive-invite") == "jobs.sent"
    assert await count(database, "outbox", "idem_key LIKE 'reflexive-invite:%'") == 9
    clock.now = dt.datetime(2026, 12, 3, 18, 31, tzinfo=dt.UTC)
    assert await twice(engine, database, "reflexive") == "jobs.reflexive_posted"
    assert await count(database, "outbox", "idem_key LIKE 'reflexive:%'") == 1


async def test_the_checkin_job_fired_twice_at_once_opens_one_round(engine, database):
    await seeded(engine)
    results = await asyncio.gather(
        engine.jobs.run("checkin", "demo", forced=False),
        engine.jobs.run("checkin", "demo", forced=False),
    )
    assert sorted(r.message for r in results) == ["jobs.checkin", "jobs.checkin_exists"]
    assert await count(database, "rounds") == 1
    assert await count(database, "participation") == 9
    assert await count(database, "outbox", "idem_key LIKE 'checkin:%'") == 9


async def test_the_review_job_fired_twice_asks_each_coordinator_once(engine, clock, database):
    await seeded(engine)
    async with database.session() as session, session.begin():
        await session.execute(text("UPDATE teams SET review_tensions = :yes"), {"yes": True})
    await submit(engine, "sophie", "tension.confirm", tension())
    await submit(engine, "aisha", "tension.confirm", tension("Second topic."))
    assert await count(database, "outbox", "idem_key LIKE 'review:%'") == 0  # not at writing
    clock.advance(hours=20)
    assert await twice(engine, database, "review") == "jobs.review"
    coordinators = await count(database, "members", "is_coordinator = :y", y=True)
    assert await count(database, "outbox", "idem_key LIKE 'review:%'") == 2 * coordinators
    # At once, from two processes, the next day: still nothing new.
    clock.advance(days=1)
    results = await asyncio.gather(*(engine.jobs.run("review", "demo") for _ in "ab"))
    assert [r.count for r in results] == [0, 0]
    assert await count(database, "outbox", "idem_key LIKE 'review:%'") == 2 * coordinators


# ---------------------------------------------------------------------------------- outbox


async def test_outbox_enqueue_with_the_same_key_queues_once(engine, clock, database):
    await seeded(engine)
    envelope = outbox.Envelope("sandbox", "", "direct", "camille")

    async def enqueue(payload: dict[str, str]) -> bool:
        async with database.session() as session, session.begin():
            return await outbox.enqueue(
                session,
                idem_key="test:once",
                envelope=envelope,
                payload=payload,
                not_before=clock(),
            )

    assert await enqueue({"title": "first"})
    assert not await enqueue({"title": "second"})
    assert sorted(await asyncio.gather(enqueue({"title": "a"}), enqueue({"title": "b"}))) == [
        False,
        False,
    ]
    rows = await fetch(database, "SELECT payload FROM outbox WHERE idem_key = 'test:once'")
    assert len(rows) == 1
    payload = rows[0]["payload"]
    assert (json.loads(payload) if isinstance(payload, str) else payload) == {"title": "first"}
    assert await asyncio.gather(
        *(
            _enqueue_fresh(database, envelope, clock(), key)
            for key in ("test:a", "test:b", "test:a")
        )
    ) in ([True, True, False], [False, True, True])
    assert await count(database, "outbox", "idem_key LIKE 'test:%'") == 3


async def _enqueue_fresh(database, envelope, when, key: str) -> bool:
    async with database.session() as session, session.begin():
        return await outbox.enqueue(
            session, idem_key=key, envelope=envelope, payload={"k": key}, not_before=when
        )
