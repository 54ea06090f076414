"""The minute tick runs each team in its own transaction: one failing team is rolled back,
logged by id, retried with backoff, and blocks no other team's reminders and closes."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import text

from dialogs.engine import Engine
from dialogs.jobs import TickBackoff
from dialogs.registry import Occasion
from storage.database import Database
from tests.conftest import Clock
from tests.test_scheduler import create_team


async def closed_slugs(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT t.slug FROM rounds r JOIN teams t ON t.id = r.team_id WHERE r.closed")
        )
        return {row[0] for row in rows}


async def test_a_failing_team_blocks_nobody_and_is_tried_again(
    engine: Engine,
    database: Database,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for slug in ("broken", "fine"):  # a team's short name is also its name here
        await create_team(engine, slug, "America/Toronto")
        await engine.jobs.run("checkin", slug)
    real_close = engine.jobs.runners["close"]
    failing = {"broken"}

    async def close(occasion: Occasion) -> tuple[str, int]:
        if occasion.team.slug in failing:
            await occasion.session.execute(text("UPDATE rounds SET reminded = true"))  # undone
            raise RuntimeError("the database refused something")
        return await real_close(occasion)

    monkeypatch.setitem(engine.jobs.runners, "close", close)
    caplog.set_level(logging.ERROR)
    clock.advance(hours=80)
    results = await engine.jobs.tick()
    assert {(r.team, r.message) for r in results if r.job == "close"} == {("fine", "jobs.closed")}
    assert await closed_slugs(database) == {"fine"}
    async with database.engine.connect() as connection:
        reminded = await connection.execute(
            text("SELECT t.slug, r.reminded FROM rounds r JOIN teams t ON t.id = r.team_id")
        )
        # The failing team's transaction was rolled back whole, its reminder step included.
        assert dict(reminded.tuples().all())["broken"] in (False, 0)
    [record] = [r for r in caplog.records if "tick: team" in r.getMessage()]
    assert "broken" not in record.getMessage()  # the team's id, never its name

    clock.advance(seconds=30)  # before the next try: skipped
    assert not [r for r in await engine.jobs.tick() if r.team == "broken"]
    failing.clear()
    clock.advance(seconds=40)  # a minute after the failure: tried again, and it closes
    results = await engine.jobs.tick()
    assert ("broken", "jobs.closed") in {(r.team, r.message) for r in results}
    assert await closed_slugs(database) == {"fine", "broken"}


def test_the_backoff_doubles_up_to_an_hour_and_resets() -> None:
    backoff, now = TickBackoff(), dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    delays = [backoff.failed(7, now) for _ in range(9)]
    assert [d.total_seconds() / 60 for d in delays] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert not backoff.due(7, now + dt.timedelta(minutes=59))
    assert backoff.due(7, now + dt.timedelta(minutes=60))
    assert backoff.due(8, now)  # other teams are not concerned
    backoff.succeeded(7)
    assert backoff.due(7, now)
