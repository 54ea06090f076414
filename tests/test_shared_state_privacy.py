"""The tables that let several processes behave as one name nobody, and a copy of them opens
nothing: the adversary holds the database (rows, and on PostgreSQL every page of the tables,
dead row versions included) and the server's key, and looks for what passed through.

After a Slack journey that leaves a row in each of them (a repeated event and a closed view:
`marks`; a form sent back with what someone typed: `form_drafts`; a fan-out paced per
workspace and per conversation: `send_paces`; a calendar occurrence: `job_claims`), no Slack
id (person, DM, channel, workspace, event, view), and nothing typed, is in them; and the
server's key does not open a draft (its key is only in the person's Slack message). With the
server's key one can recompute the keyed hash of a conversation and find its pacing row: that
tells who was sent messages lately, which the outbox's addresses tell anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from adapters.slack.acks import RECORDING_CALLBACK_ID
from storage.database import Database
from storage.sealing import SealBroken
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    PEOPLE,
    Rig,
    last_with_button,
    onboarded,
    rig_fixture,
    shown,
    slack_fixture,
    submit_held,
    team_slug,
)
from tests.slack_signing import app_home_opened, event_callback

TABLES = ("marks", "form_drafts", "send_paces", "job_claims")
TYPED = "zq-7319"  # what the person typed, refused as a date, so sent back to them


async def rows(database: Database, table: str) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        result = await connection.execute(text(f"SELECT * FROM {table}"))
        return [dict(row) for row in result.mappings().all()]


async def pages(database: Database, table: str) -> bytes:
    """Every page of `table` as PostgreSQL stores it (dead row versions included)."""
    async with database.engine.connect() as connection:
        await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        await connection.commit()
        blocks = await connection.scalar(
            text(
                "SELECT pg_relation_size(CAST(:t AS text)::regclass) "
                "/ current_setting('block_size')::int"
            ),
            {"t": table},
        )
        found = b""
        for block in range(int(blocks or 0)):
            page = await connection.scalar(
                text("SELECT get_raw_page(:t, :b)"), {"t": table, "b": block}
            )
            found += bytes(page)
        return found


async def journey(rig: Rig) -> list[str]:
    """Leave a row in each shared table; returns the ids that passed through."""
    await onboarded(rig)  # setup, welcome fan-out (paced), profiles
    await rig.engine.jobs.run("checkin", await team_slug(rig))
    await rig.deliver()
    event_id = "Ev0SHARED0001"
    for _ in range(2):  # Slack's retry of one event: marked once
        await rig.post(event_callback(app_home_opened("U0ANNE", "D0HOME"), event_id=event_id))
    # A profile sent back by DM with what was typed (the person closed the "recording" view).
    await rig.command(COORDINATOR, "profile", channel=rig.slack.dm_id(COORDINATOR))
    view = rig.slack.last_view
    _, release = await submit_held(rig, view, COORDINATOR, paused_until=TYPED)
    recording = shown(rig.slack, view)
    assert recording["callback_id"] == RECORDING_CALLBACK_ID
    rig.slack.close_view(view["id"])
    release.set()
    await asyncio.wait_for(rig.bridge.settle(), timeout=60)
    last_with_button(rig.slack, COORDINATOR)  # the form came back by DM
    users = [COORDINATOR, *PEOPLE]
    return [
        *users,
        *(rig.slack.dm_id(user) for user in users),
        CHANNEL,  # (the workspace id is not sought: it names the installation, in the
        # clear in the outbox and Slack's installation tables, and scopes the workspace's pace)
        event_id,
        view["id"],
        TYPED,
    ]


async def test_the_shared_tables_name_no_one_and_open_nothing(rig: Rig) -> None:
    secrets = await journey(rig)
    database = rig.engine.database
    found = {table: await rows(database, table) for table in TABLES}
    assert all(found[table] for table in ("marks", "form_drafts", "send_paces")), found
    stored = repr(found).encode()
    if database.engine.dialect.name == "postgresql":
        stored += b"".join([await pages(database, table) for table in TABLES])
    for secret in secrets:
        for encoded in (secret.encode(), secret.encode("utf-16-le")):
            assert encoded not in stored, secret
    # The server's key opens no draft.
    sealer = rig.engine.sealer
    for draft in found["form_drafts"]:
        try:
            sealer.open(f"form draft {draft['key']}", bytes(draft["blob"]))
        except SealBroken:
            continue
        raise AssertionError("a draft opened with the server's key")
