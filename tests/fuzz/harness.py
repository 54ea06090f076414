"""Run the fuzz: a real `passerelle serve` (through tests/fuzz/guard.py) with Slack pointing at
a FakeSlack, Teams in local mode answering a FakeConnector, the sandbox on; every target's
probes sent over HTTP, concurrently; the server's log read for tracebacks, ERROR lines and
outbound attempts; its RSS read from /proc.

    async with Fuzz(database_url, directory) as fuzz:
        outcomes = [await fuzz.run(target, count, seed) for target in fuzz.targets()]

Each target runs alone, and the next starts only when the work its probes left (Slack's
intake) is done, so that what the log says afterwards belongs to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from yarl import URL

from storage import intake, migrate
from storage.database import Database
from tests.cluster import free_port, serve_env, spawn, terminate, until_healthy
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.fuzz import world as worlds
from tests.fuzz.guard import OUTBOUND_MARK
from tests.fuzz.probe import SIGN_SLACK, Probe, Target
from tests.fuzz.slack_payloads import SlackPayloads
from tests.fuzz.teams_payloads import TeamsPayloads
from tests.fuzz.web_payloads import WebPayloads
from tests.lifecycle import Lifecycle
from tests.slack_signing import signature

CONCURRENCY = 24
POOL = 300  # payloads per target drawn by hypothesis; the rest are mutations of them
QUIET_WITHIN = 120.0  # seconds for the intake to be empty after a target
QUIET_POLLS = 5  # polls 0.2 s apart with the log unchanged: the server is done
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


@dataclass
class Outcome:
    name: str
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    dropped: int = 0  # no answer: the connection closed (oversized bodies), a timeout
    unsendable: int = 0  # refused by the HTTP client itself (a header it will not send)
    tracebacks: int = 0
    error_lines: int = 0
    outbound: int = 0
    fake_refused: int = 0  # requests from the server that the fakes could not even parse
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)  # the first 5xx, for the report
    log_excerpt: str = ""

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def line(self) -> str:
        growth = (self.rss_after_kb - self.rss_before_kb) / 1024
        top = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{self.name:<28} sent {self.sent:>6}  5xx {self.server_errors:>4}  "
            f"tracebacks {self.tracebacks:>4}  ERROR lines {self.error_lines:>4}  "
            f"outbound {self.outbound:>3}  dropped {self.dropped:>3}  "
            f"fakes refused {self.fake_refused:>3}  "
            f"RSS {self.rss_before_kb / 1024:.0f} -> {self.rss_after_kb / 1024:.0f} MB "
            f"({growth:+.1f})  {self.seconds:.1f} s  [{top}]"
        )


class _Refusals(logging.Handler):
    """Counts what the fakes' aiohttp servers (in this process) could not parse: a Web API
    call from the server whose URL is over 8 KB (a payload's value echoed into it)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Fuzz(Lifecycle):
    def __init__(
        self,
        database_url: str,
        directory: Path,
        *,
        concurrency: int = CONCURRENCY,
        pool: int = POOL,
    ) -> None:
        self.database_url = database_url
        self.directory = directory
        self.log = directory / "serve.log"
        self.concurrency = concurrency
        self.pool = pool
        self.database = Database(database_url)
        self.slack = FakeSlack()
        self.connector = FakeConnector()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.world: worlds.World | None = None
        self.refusals = _Refusals()

    # ----------------------------------------------------------------- lifecycle
    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fakes_log = logging.getLogger("aiohttp.server")
        fakes_log.addHandler(self.refusals)
        fakes_log.propagate = False  # counted, not printed
        await self.slack.start()
        self.connector.start()
        await migrate.upgrade(self.database)
        self.world = await worlds.build(self.database)
        worlds.prepare_fakes(self.world, self.slack, self.connector)
        extra = {
            "PASSERELLE_SANDBOX": "true",
            "PASSERELLE_SCHEDULER": "true",  # the outbox worker sends what the probes queued
            "MICROSOFT_APP_ID": "",  # Teams in local mode, on loopback
            **self.slack.env(),
        }
        env = serve_env(self.database_url, self.port, worlds.SECRET, extra)
        env = {k: v for k, v in env.items() if k not in PROXY_VARIABLES}
        self.process = await spawn(self.log, env, "-m", "tests.fuzz.guard", "serve")
        await until_healthy(f"{self.url}/healthz", self.process, self.log)

    async def close(self) -> None:
        await terminate(self.process)
        await self.slack.stop()
        self.connector.stop()
        logging.getLogger("aiohttp.server").removeHandler(self.refusals)
        logging.getLogger("aiohttp.server").propagate = True
        await self.database.dispose()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def targets(self) -> list[Target]:
        assert self.world is not None
        return [
            *SlackPayloads(self.world, self.slack).targets(),
            *TeamsPayloads(self.world, self.connector).targets(),
            *WebPayloads(self.world).targets(),
        ]

    # ----------------------------------------------------------------- one target
    async def run(self, target: Target, count: int, seed: int) -> Outcome:
        assert self.process is not None
        probes = target.make(count, seed, self.pool)
        outcome = Outcome(target.name, rss_before_kb=rss_kb(self.process.pid))
        offset = self.log.stat().st_size
        refused = self.refusals.count
        started = time.monotonic()
        gate = asyncio.Semaphore(self.concurrency)
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=self.concurrency, force_close=False)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:

            async def one(probe: Probe) -> None:
                async with gate:
                    await self._send(http, probe, outcome)

            await asyncio.gather(*(one(p) for p in probes))
        await self._quiet()
        outcome.seconds = time.monotonic() - started
        if self.alive:
            outcome.rss_after_kb = rss_kb(self.process.pid)
        self._read_log(offset, outcome)
        outcome.fake_refused = self.refusals.count - refused
        return outcome

    async def _send(self, http: aiohttp.ClientSession, probe: Probe, outcome: Outcome) -> None:
        headers = dict(probe.headers)
        if probe.sign == SIGN_SLACK:
            now = int(time.time())
            headers["X-Slack-Request-Timestamp"] = str(now)
            headers["X-Slack-Signature"] = signature(probe.body, self.slack.signing_secret, now)
        url = URL(
            f"{self.url}{probe.path}" + (f"?{probe.query}" if probe.query else ""), encoded=True
        )
        outcome.sent += 1
        try:
            async with http.request(
                probe.method, url, data=probe.body or None, headers=headers,
                allow_redirects=False, skip_auto_headers=("Content-Type",),
            ) as answer:  # fmt: skip
                text = await answer.text(errors="replace")
                outcome.statuses[answer.status] += 1
                if answer.status >= 500 and len(outcome.examples) < 10:
                    body = probe.body[:300].decode("utf-8", "replace")
                    outcome.examples.append(f"{answer.status} {probe.method} {probe.path} "
                                            f"{headers} {body!r} -> {text[:200]!r}")  # fmt: skip
        except (aiohttp.ClientError, TimeoutError):
            outcome.dropped += 1
        except ValueError:  # e.g. a header value the client refuses to write
            outcome.unsendable += 1

    async def _quiet(self) -> None:
        """Until the Slack intake is empty (what was acknowledged is recorded) and the server
        has written nothing for a second (the work after a slash command's or a button's ack
        goes through no table): its log lines then belong to this target. The server is
        another process: there is no event to await, only its state to read."""
        deadline = time.monotonic() + QUIET_WITHIN
        size, still = -1, 0
        while self.alive and time.monotonic() < deadline:
            async with self.database.session() as session:
                empty = await intake.count(session) == 0
            now = self.log.stat().st_size
            still = still + 1 if empty and now == size else 0
            if still >= QUIET_POLLS:
                return
            size = now
            await asyncio.sleep(0.2)

    def _read_log(self, offset: int, outcome: Outcome) -> None:
        with self.log.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
        lines = text.splitlines()
        outcome.tracebacks = sum(line.startswith("Traceback") for line in lines)
        outcome.error_lines = sum(" ERROR " in line for line in lines)
        outcome.outbound = sum(line.startswith(OUTBOUND_MARK) for line in lines)
        if outcome.tracebacks or outcome.error_lines or outcome.outbound:
            outcome.log_excerpt = text[:6000]
