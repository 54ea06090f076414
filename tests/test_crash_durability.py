"""Acknowledged means durable, with real processes: `passerelle serve` is killed with SIGKILL
as soon as the last acknowledgement of a burst arrives, started again, and every acknowledged
check-in is recorded (the participation ledger says 'answered' for each submitter; the intake
is empty). Slack (against the FakeSlack, over HTTP) and the sandbox, on SQLite and PostgreSQL.

The server is the real CLI (`python -m bot.cli serve`) with a fixed PASSERELLE_SECRET_KEY, so
that what one process sealed, the next one opens. In the Slack test, users.info answers the
first few recordings and then hangs until the kill, so that at that instant, on any machine,
acknowledged ballots are in the intake and not yet recorded (some claimed by the worker, the
others waiting; a few perhaps recorded already): all must survive.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.blocks import form_metadata, modal_view
from adapters.slack.events import ModalMetadata
from adapters.slack.replies import CALLBACK_ID
from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from storage import intake, teams
from storage.database import Database
from storage.models import Member
from storage.sealing import Sealer
from tests.checkin_rounds import open_checkin
from tests.cluster import free_port, serve_env, spawn, until_healthy
from tests.fake_slack import FakeSlack
from tests.slack_signing import TEAM_ID, interaction, post_signed, view_submission

SECRET = "crash-test-secret-0123456789-abcdefghijklmnop"  # the same across the restart
BURST = int(os.environ.get("PASSERELLE_CRASH_BURST", "60"))
ANSWERED_WITHIN = 25.0  # seconds, after the restart (a dead worker's lease is 10 s)
SLUG = "crash"


class Server:
    """`passerelle serve` in a child process."""

    def __init__(self, database_url: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = serve_env(
            database_url, self.port, SECRET, {"PASSERELLE_SCHEDULER": "false", **env}
        )
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await spawn(self.log, self.env, "-m", "bot.cli", "serve")
        await until_healthy(f"{self.url}/healthz", self.process, self.log, within=20)

    async def kill(self) -> None:
        assert self.process is not None and self.process.returncode is None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        await server.stop()


async def seed(
    engine: Engine, platform: str, workspace: str, refs: list[str], slug: str = SLUG
) -> tuple[int, Card]:
    """A team `slug` on `platform` (channel C0<SLUG>), `refs` its onboarded members, a
    check-in round open: (its id, the check-in card)."""
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug=slug, name=slug.capitalize(), now=engine.clock(), language="en",
            timezone="America/Toronto", quiet_start=0, quiet_end=0,
        )  # fmt: skip
        await teams.link_channel(session, team, platform, workspace, f"C0{slug.upper()}", slug)
        for n, ref in enumerate(refs):
            session.add(
                Member(
                    team_id=team.id, platform=platform, workspace=workspace, user_ref=ref,
                    display_name=ref.lower(), sector=("public", "community")[n % 2],
                    position="front_line", language="en", timezone="America/Toronto",
                    is_coordinator=n == 0, onboarded=True,
                )
            )  # fmt: skip
    return await open_checkin(engine, slug, team.id)


def answers_for(card: Card, n: int) -> dict[str, str]:
    return {i.name: str((n + k) % 5 + 1) for k, i in enumerate(card.inputs()) if i.kind == "scale"}


async def recorded(database: Database, round_id: int) -> tuple[int, int]:
    """(members who answered the round, rows in the intake)."""
    async with database.session() as session:
        answered = await rounds.members_with_status(session, round_id, rounds.ANSWERED)
        return len(answered), await intake.count(session)


async def until_recorded(database: Database, round_id: int, expected: int) -> None:
    """Poll the database (not a blind sleep) until every ballot is in and the intake empty."""
    deadline = time.monotonic() + ANSWERED_WITHIN
    while (found := await recorded(database, round_id)) != (expected, 0):
        assert time.monotonic() < deadline, f"(answered, in the intake) = {found}"
        await asyncio.sleep(0.1)


async def burst(calls: list[Callable[[], Awaitable[Any]]], at_once: int = 50) -> list[Any]:
    gate = asyncio.Semaphore(at_once)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


def hang_users_info_after(slack: FakeSlack, answered: int) -> asyncio.Event:
    """users.info answers `answered` calls, then hangs until the event is set: the worker
    records a few ballots, then holds the rows it claimed, as a process killed mid-work."""
    release = asyncio.Event()
    read = slack._read_params
    count = 0

    async def reading(request: Any) -> Any:
        nonlocal count
        if request.match_info.get("method") == "users.info":
            count += 1
            if count > answered:
                await release.wait()
        return await read(request)

    slack._read_params = reading  # type: ignore[method-assign]
    return release


async def test_slack_submissions_acked_before_a_sigkill_are_all_recorded(
    database: Database, database_url: str, tmp_path: Path, servers: list[Server]
) -> None:
    engine = Engine(database, sealer=Sealer(SECRET))
    refs = [f"U0C{n:05d}" for n in range(BURST)]
    async with FakeSlack() as slack:
        for ref in refs:
            slack.add_user(ref, tz="America/Toronto", locale="en-US")
        slack.add_channel("C0CRASH", "crash", members=refs)
        round_id, card = await seed(engine, "slack", TEAM_ID, refs)
        assert card.form is not None
        metadata = ModalMetadata(form_metadata(card.form))

        def view_for(ref: str) -> dict[str, Any]:  # its metadata signed for that person
            signed = metadata.signed(engine.sealer.tag, TEAM_ID, ref)
            return slack.add_view(
                modal_view(card, private_metadata=signed, callback_id=CALLBACK_ID)
            )

        bodies = [
            interaction(view_submission(view_for(ref), answers_for(card, n), user_id=ref))
            for n, ref in enumerate(refs)
        ]
        release = hang_users_info_after(slack, BURST // 6)
        first = Server(database_url, slack.env(), tmp_path / "serve.log")
        servers.append(first)
        await first.start()
        url = f"{first.url}/slack/events"
        secret = slack.signing_secret
        acks = await burst([functools.partial(post_signed, url, b, secret) for b in bodies])
        await first.kill()  # at once: no shutdown, nothing flushed
        for ack in acks:  # every one acknowledged as received...
            assert ack.status == 200, ack.text
            assert ack.json()["view"]["callback_id"] == RECORDING_CALLBACK_ID
        answered, waiting = await recorded(database, round_id)
        # ...some perhaps recorded already, the others only in the intake (sealed).
        assert waiting > 0 and answered + waiting == BURST, (answered, waiting)
        release.set()
        second = Server(database_url, slack.env(), tmp_path / "serve.log")
        servers.append(second)
        await second.start()
        await until_recorded(database, round_id, BURST)
        async with database.session() as session:
            answered_ids = set(await rounds.members_with_status(session, round_id, "answered"))
            members = (await session.scalars(select(Member).where(Member.user_ref.in_(refs)))).all()
        assert {m.id for m in members} == answered_ids  # each submitter, once
        assert "Traceback" not in (tmp_path / "serve.log").read_text()


async def test_sandbox_submissions_answered_before_a_sigkill_are_all_recorded(
    database: Database, database_url: str, tmp_path: Path, servers: list[Server]
) -> None:
    engine = Engine(database, sealer=Sealer(SECRET))
    refs = [f"person-{n:03d}" for n in range(BURST)]
    round_id, card = await seed(engine, "sandbox", "", refs)
    first = Server(database_url, {"PASSERELLE_SANDBOX": "true"}, tmp_path / "serve.log")
    servers.append(first)
    await first.start()

    async with aiohttp.ClientSession() as http:

        async def submit(n: int) -> int:
            form = {"as": refs[n], "action": "checkin.submit", "ctx.team": SLUG}
            form |= {"ctx.round": str(round_id), **answers_for(card, n)}
            url = f"{first.url}/sandbox/submit"
            async with http.post(url, data=form, allow_redirects=False) as answer:
                return answer.status

        statuses = await burst([functools.partial(submit, n) for n in range(BURST)], at_once=20)
    await first.kill()
    assert statuses == [303] * BURST  # every one answered ("see your page")...
    assert await recorded(database, round_id) == (BURST, 0)  # ...after its commit
    second = Server(database_url, {"PASSERELLE_SANDBOX": "true"}, tmp_path / "serve.log")
    servers.append(second)
    await second.start()
    await until_recorded(database, round_id, BURST)
