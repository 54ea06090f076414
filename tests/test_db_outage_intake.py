"""A database outage seen by the intake worker and by Bolt: not counted against a row, and Slack
still answered.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
from typing import Any

from sqlalchemy import select

from adapters.intake import OUTAGE_RETRY, GroupCommit, IntakeWorker, utcnow
from adapters.slack.routes import _outage
from storage import intake
from storage.database import Database
from storage.models import Intake
from storage.sealing import Sealer
from tests.slack_signing import (
    event_callback,
    interaction,
    slash_command,
)


# --------------------------------------------------------------------------- the intake worker
async def test_a_database_outage_is_not_counted_against_a_row(database: Database) -> None:
    """A handler that fails because the database is away leaves its row uncounted and due
    again at once (not backed off, never pushed towards the hourly retry); a failure of the
    row's own is counted."""
    sealer = Sealer.ephemeral()
    outage = True
    seen: list[str] = []

    async def handler(intake_id: str, payload: Any) -> None:
        seen.append(intake_id)
        if outage:
            raise ConnectionRefusedError(111, "Connect call failed")
        raise ValueError("a bug of this row's own")

    worker = IntakeWorker(database, sealer, {"slack": handler}, concurrency=1)
    commit = GroupCommit(database, sealer)
    await commit.put("slack", {"n": 1})
    start, SECOND = utcnow(), dt.timedelta(seconds=1)
    for n in range(intake.MAX_ATTEMPTS + 2):  # more outages than attempts allowed
        # Each drain a little later than the last one's retry (OUTAGE_RETRY): due again.
        worker.clock = functools.partial(operator.add, start, n * (OUTAGE_RETRY + SECOND))
        assert await worker.drain_once() == 1
    assert worker.outages == intake.MAX_ATTEMPTS + 2 and worker.failed == 0
    async with database.session() as session:
        (row,) = (await session.scalars(select(Intake))).all()
    assert row.attempts == 0  # the outages were not the row's
    outage = False
    worker.clock = lambda: start + dt.timedelta(minutes=1)
    assert await worker.drain_once() == 1
    async with database.session() as session:
        (row,) = (await session.scalars(select(Intake))).all()
    assert worker.failed == 1 and row.attempts == 1


def test_slack_is_answered_when_bolt_fails_for_want_of_the_database() -> None:
    """With OAuth, Bolt reads the installation before any listener: when that fails (500),
    the route answers what Slack can show (adapters/slack/routes.py `_outage`)."""
    view = {"type": "modal", "blocks": [{"type": "input", "block_id": "q1", "element": {}}]}
    submitted = _outage(interaction({"type": "view_submission", "view": view}))
    assert submitted.status == 200
    errors = json.loads(submitted.text or "")["errors"]
    assert "base de données" in errors["q1"] and "database" in errors["q1"]
    command = _outage(slash_command("help", "U1", "C1"))
    assert json.loads(command.text or "")["response_type"] == "ephemeral"
    assert _outage(event_callback({"type": "app_home_opened", "user": "U1"})).status == 503
    assert _outage(b"\xff\xfe").status == 200
