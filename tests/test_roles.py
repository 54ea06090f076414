"""`passerelle serve --role web|worker|all` (PASSERELLE_ROLE): HTTP and the calendar/outbox scale
apart (bot/server.py).

- What each role serves: `web` Slack's and Teams' endpoints, /healthz and /metrics; `worker`
  /healthz and /metrics only; `all` everything, and only `all` the sandbox.
- Real processes on one PostgreSQL: one `web`, one `worker`. A Slack submission through the web
  process, running alone, is acknowledged there (committed to the intake, the "recording"
  view) and waits; the worker, started then, records it and replaces the modal with the
  engine's answer, and sends the check-in fan-out (every outbox row claimed by its pid) while
  the web process sends nothing; the worker answers 404 on Slack's endpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack.acks import RECORDING_CALLBACK_ID
from adapters.slack.blocks import form_metadata, modal_view
from adapters.slack.events import ModalMetadata
from adapters.slack.replies import CALLBACK_ID
from bot import cli, cli_args
from bot.server import build_app
from bot.settings import Settings
from dialogs.engine import Engine
from storage.database import Database
from storage.models import OutboxMessage
from storage.sealing import Sealer
from tests.cluster import SECRET, Process
from tests.fake_slack import FakeSlack
from tests.slack_signing import TEAM_ID, interaction, post_signed, view_submission
from tests.test_crash_durability import answers_for, recorded, seed

WITHIN = 60.0  # seconds for what is awaited (polled, never slept blindly)
PEOPLE = 6


def settings(role: str, **env: str) -> Settings:
    return Settings(_env_file=None, PASSERELLE_ROLE=role, PASSERELLE_SCHEDULER=False, **env)  # type: ignore[arg-type]


def paths(app: Any) -> set[str]:
    return {route.resource.canonical for route in app.router.routes()}


SLACK_ENV = {"SLACK_SIGNING_SECRET": "s" * 32, "SLACK_BOT_TOKEN": "xoxb-test"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_role_serves_its_endpoints(engine: Engine, database: Database) -> None:
    web = paths(build_app(settings("web", **SLACK_ENV), database, engine))
    assert {"/slack/events", "/api/messages", "/healthz", "/metrics"} <= web
    assert "/sandbox" not in web  # its conversations live in one process: `all` only
    worker = paths(build_app(settings("worker", **SLACK_ENV), database, engine))
    assert worker == {"/healthz", "/metrics"}
    everything = paths(build_app(settings("all", **SLACK_ENV), database, engine))
    assert {"/slack/events", "/api/messages", "/healthz", "/metrics"} <= everything
    sandbox = paths(build_app(settings("all", PASSERELLE_SANDBOX="true"), database, engine))
    assert "/sandbox" in sandbox
    for role in ("web", "worker"):
        assert "/sandbox" not in paths(
            build_app(settings(role, PASSERELLE_SANDBOX="true"), database, engine)
        )


def test_the_role_comes_from_the_command_line_or_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_args.parser().parse_args(["serve", "--role", "worker"]).role == "worker"
    assert cli_args.parser().parse_args(["serve"]).role is None  # then PASSERELLE_ROLE, else all
    assert Settings(_env_file=None).role == "all"
    monkeypatch.setenv("PASSERELLE_ROLE", "web")
    assert Settings(_env_file=None).role == "web"
    with pytest.raises(SystemExit):
        cli_args.parser().parse_args(["serve", "--role", "scheduler"])
    monkeypatch.setenv("PASSERELLE_ROLE", "calendar")
    assert cli.main(["serve"]) == 2  # a clear error, before anything starts
    assert "PASSERELLE_ROLE" in capsys.readouterr().err


# ------------------------------------------------------------------ real processes
@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WITHIN
    while not (found := await check()):
        assert time.monotonic() < deadline, f"not within {WITHIN} s: {what}"
        await asyncio.sleep(0.05)
    return found


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_web_process_acks_and_a_worker_process_records_and_sends(
    database: Database, database_url: str, tmp_path: Path, slack: FakeSlack
) -> None:
    engine = Engine(database, sealer=Sealer(SECRET))
    refs = [f"U0R{n:05d}" for n in range(PEOPLE)]
    for ref in refs:
        slack.add_user(ref, tz="America/Toronto", locale="en-US")
    slack.add_channel("C0CRASH", "crash", members=refs)
    round_id, card = await seed(engine, "slack", TEAM_ID, refs)  # check-ins queued
    assert card.form is not None
    env = {
        **slack.env(),
        "PASSERELLE_SANDBOX": "false",
        "PASSERELLE_OUTBOX_INTERVAL": "0.2",
        "PASSERELLE_TICK_SECONDS": "1",
        "PASSERELLE_LOG_LEVEL": "INFO",
    }
    web = Process(0, database_url, env, tmp_path / "web.log", "web")
    worker = Process(1, database_url, env, tmp_path / "worker.log", "worker")
    try:
        # A submission through the web process, alone: acknowledged once in the intake.
        await web.start()
        metadata = ModalMetadata(form_metadata(card.form))
        signed = metadata.signed(engine.sealer.tag, TEAM_ID, refs[0])
        view = slack.add_view(modal_view(card, private_metadata=signed, callback_id=CALLBACK_ID))
        body = interaction(view_submission(view, answers_for(card, 0), user_id=refs[0]))
        ack = await post_signed(f"{web.url}/slack/events", body, slack.signing_secret)
        assert ack.status == 200, ack.text
        assert ack.json()["view"]["callback_id"] == RECORDING_CALLBACK_ID
        assert await recorded(database, round_id) == (0, 1)  # durable, for a worker
        assert slack.calls_to("chat.postMessage") == []  # the web process sends nothing

        # The worker records it and answers in the modal, and sends the fan-out, alone.
        await worker.start()

        async def answered() -> bool:
            return await recorded(database, round_id) == (1, 0)  # and the intake empty

        await until(answered, "the submission recorded by the worker")

        async def replaced() -> bool:
            return bool(slack.calls_to("views.update"))

        await until(replaced, "the worker's answer in the modal")

        async def fanned_out() -> bool:
            return len(slack.calls_to("chat.postMessage")) >= PEOPLE

        await until(fanned_out, "the check-ins sent")
        async with database.session() as session:
            senders = set((await session.scalars(select(OutboxMessage.claimed_by))).all())
        assert senders and all(f":{worker.pid}:" in str(s) for s in senders), senders

        # The worker serves health and metrics only; the web process sent nothing.
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{worker.url}/slack/events", data=body) as answer:
                assert answer.status == 404
            for process in (web, worker):
                async with http.get(f"{process.url}/healthz") as answer:
                    assert answer.status == 200
            async with http.get(f"{web.url}/metrics") as answer:
                assert "passerelle_sent_total 0" in await answer.text()
        assert "role: web" in web.log.read_text()
        assert "role: worker" in worker.log.read_text()
        for log in (web.log, worker.log):
            assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    finally:
        for process in (web, worker):
            await process.stop()
