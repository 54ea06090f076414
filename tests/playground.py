"""Drive the Microsoft 365 Agents Playground (a local stand-in for Teams) from tests.

Two halves:
- `run_playground(endpoint)` starts the pinned Playground from `.ci/playground` as a subprocess
  pointed at a bot's `/api/messages`, waits until its HTTP port answers, and kills its process
  group afterwards. It never downloads anything: without `npm ci --prefix .ci/playground` it
  calls `unavailable()` (skip on a laptop, failure in CI).
- Playwright helpers for its page, in Debian's Chromium: `playground_page(playground)` opens it
  (every request that would leave loopback is aborted: the page asks a CDN for web fonts), then
  `send_message`, `wait_for_text`, `newest_card`, `choose`, `fill_text` and `submit` act on it.

What the Playground sends and accepts is written down in docs/teams-playground-notes.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    Locator,
    Page,
    Route,
    async_playwright,
    expect,
)

from tests.chromium import launch_chromium
from tests.conftest import unavailable

REPO = Path(__file__).resolve().parents[1]
PLAYGROUND_DIR = REPO / ".ci" / "playground"
PLAYGROUND_BIN = PLAYGROUND_DIR / "node_modules" / ".bin" / "agentsplayground"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# The page: one rich-text composer; each chat message is a block whose first child is its header
# (a bot's header also names its author); Adaptive Cards are rendered by the adaptivecards SDK.
EDITOR = '[data-lexical-editor="true"]'
MESSAGE = "div:has(> [aria-label='Message header'])"
BOT_MESSAGE = "div:has(> [aria-label='Message header'] [aria-label='Message author'])"
USER_MESSAGE = f"{MESSAGE}:not({BOT_MESSAGE})"
CARD = ".ac-adaptiveCard"
_LISTENING = re.compile(r"Listening on (\d+)")
# Environment variables the Playground reads; the harness sets its own, never the caller's.
_PLAYGROUND_SETTINGS = (
    "TEAMSAPPTESTER_",
    "M365_AGENTS_PLAYGROUND_",
    "TEAMS_APP_TEST_TOOL_",
    "BOT_ENDPOINT",
    "AUTH_CLIENT_",
    "AUTH_TENANT_ID",
    "DEFAULT_CHANNEL_ID",
    "SEND_INSTALLATION_ACTIVITY",
)


# ----------------------------------------------------------------- availability
def require_playground() -> Path:
    """The installed Playground's launcher, or `unavailable()` (skip here, fail in CI)."""
    if not PLAYGROUND_BIN.exists():
        unavailable(
            f"the Agents Playground is not installed at {PLAYGROUND_BIN.relative_to(REPO)} "
            "(run: npm ci --prefix .ci/playground)"
        )
    if shutil.which("node") is None:
        unavailable("node is not on PATH (the Agents Playground is a Node program)")
    return PLAYGROUND_BIN


# ----------------------------------------------------------------- the Playground process
@dataclass
class Playground:
    """A running Playground: its page at `url`, its mock connector at `service_url`."""

    port: int
    process: asyncio.subprocess.Process
    workdir: Path
    endpoint: str
    url: str = field(init=False)
    service_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}/"
        # The serviceUrl it puts in every activity (it says localhost; it listens on all
        # interfaces, IPv4 and IPv6).
        self.service_url = f"http://localhost:{self.port}/_connector"

    def output(self) -> str:
        """Its stdout, stderr and log file so far (for failure messages)."""
        return _output(self.workdir)


def _output(workdir: Path) -> str:
    parts = []
    for name in ("stdout.txt", "stderr.txt", "playground.log"):
        path = workdir / name
        text = path.read_text(errors="replace") if path.exists() else ""
        parts.append(f"--- {name}\n{text[-4000:]}")
    return "\n".join(parts)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.asynccontextmanager
async def run_playground(
    endpoint: str,
    *,
    channel: str = "msteams",
    conversation_id: str | None = None,
    startup_seconds: float = 30.0,
) -> AsyncIterator[Playground]:
    """Start the Playground against `endpoint` (a bot's http://127.0.0.1:<port>/api/messages).

    It listens on a port the OS picks (`-p 0`; it prints `Listening on <port>`), runs in a
    temporary directory (it writes devTools/ and reads .m365agentsplayground.yml from its
    working directory), offline (`--dt` and `APPLICATION_INSIGHTS_NO_STATSBEAT=1`) and with no
    browser (`TEAMSAPPTESTER_BROWSER=none`, without which it exits on a missing xdg-open).
    `conversation_id` fixes the personal chat's id (otherwise a random uuid per process).
    The bot must already answer at `endpoint`: the page waits for it (up to 15 s) before it
    sends anything.
    """
    launcher = require_playground()
    host = urlsplit(endpoint).hostname
    assert host in LOOPBACK_HOSTS, f"the Playground must talk to a loopback bot, not {endpoint}"
    workdir = Path(tempfile.mkdtemp(prefix="playground-"))
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(_PLAYGROUND_SETTINGS)
    }
    env["TEAMSAPPTESTER_BROWSER"] = "none"
    # --dt stops its telemetry events, but not Application Insights' "statsbeat", which probes
    # the Azure metadata address 169.254.169.254 and resolves *.applicationinsights.azure.com
    # at start. With this variable it opens no connection beyond loopback (checked with strace).
    env["APPLICATION_INSIGHTS_NO_STATSBEAT"] = "1"
    env["TEAMSAPPTESTER_LOGFILE"] = str(workdir / "playground.log")
    args = [str(launcher), "-e", endpoint, "-c", channel, "--dt", "-p", "0"]
    if conversation_id:
        args += ["--conversation-id", conversation_id]
    with (workdir / "stdout.txt").open("wb") as out, (workdir / "stderr.txt").open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *args, cwd=workdir, env=env, stdout=out, stderr=err, start_new_session=True
        )
    try:
        port = await _wait_until_ready(process, workdir, startup_seconds)
        yield Playground(port=port, process=process, workdir=workdir, endpoint=endpoint)
    finally:
        await _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


async def _wait_until_ready(
    process: asyncio.subprocess.Process, workdir: Path, seconds: float
) -> int:
    """Its port, once it has announced it and its page answers 200."""
    port: int | None = None
    try:
        async with asyncio.timeout(seconds):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(
                        f"the Agents Playground exited with {process.returncode}\n"
                        + _output(workdir)
                    )
                if port is None:
                    announced = (workdir / "stdout.txt").read_text(errors="replace")
                    found = _LISTENING.search(announced)
                    port = int(found.group(1)) if found else None
                if port is not None and await asyncio.to_thread(
                    _answers, f"http://127.0.0.1:{port}/"
                ):
                    return port
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise RuntimeError(
            f"the Agents Playground did not answer within {seconds:.0f} s "
            f"(port {port or 'not announced'})\n{_output(workdir)}"
        ) from None


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)  # start_new_session: its pid is its group's id
        try:
            await asyncio.wait_for(process.wait(), grace)
            return
        except TimeoutError:
            continue


# ----------------------------------------------------------------- the browser
async def open_playground(
    browser: Browser, playground: Playground, *, timeout_ms: int = 10_000
) -> Page:
    """A new tab on the Playground's page, ready to type into.

    Requests that would leave loopback are aborted and listed in `page.blocked_urls`
    (the page asks res-1.cdn.office.net for Segoe UI fonts; it works without them).
    """
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(timeout_ms)
    blocked: list[str] = []

    async def loopback_only(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK_HOSTS:
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort()

    await context.route("**/*", loopback_only)
    page = await context.new_page()
    page.blocked_urls = blocked  # type: ignore[attr-defined]
    await page.goto(playground.url)
    await expect(page.locator(EDITOR)).to_be_visible()
    return page


@contextlib.asynccontextmanager
async def playground_page(
    playground: Playground, *, timeout_ms: int = 10_000, screenshot: Path | None = None
) -> AsyncIterator[Page]:
    """Chromium + a tab on the Playground; on the way out, optionally a screenshot."""
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            page = await open_playground(browser, playground, timeout_ms=timeout_ms)
            try:
                yield page
            finally:
                if screenshot is not None:
                    with contextlib.suppress(Exception):
                        await page.screenshot(path=str(screenshot))
        finally:
            await browser.close()


# ----------------------------------------------------------------- what a person does
def messages(page: Page) -> Locator:
    """Every message of the open conversation, oldest first (the log panel is not included)."""
    return page.locator(MESSAGE)


def bot_messages(page: Page) -> Locator:
    return page.locator(BOT_MESSAGE)


def user_messages(page: Page) -> Locator:
    return page.locator(USER_MESSAGE)


async def send_message(page: Page, text: str) -> None:
    """Type `text` in the composer (a Lexical editor, not a textarea), press Enter, and wait
    until it shows as the person's newest message."""
    mine = user_messages(page)
    before = await mine.count()
    editor = page.locator(EDITOR)
    await editor.click()
    await page.keyboard.insert_text(text)
    await expect(editor).to_have_text(text)
    await page.keyboard.press("Enter")
    await expect(mine.nth(before)).to_contain_text(text)


async def wait_for_text(
    page: Page, text: str | re.Pattern[str], *, from_bot: bool = True
) -> Locator:
    """The newest message (the bot's, unless `from_bot=False`) containing `text`, once visible."""
    pool = bot_messages(page) if from_bot else messages(page)
    found = pool.filter(has_text=text).last
    await expect(found).to_be_visible()
    return found


def newest_card(page: Page, text: str | re.Pattern[str] | None = None) -> Locator:
    """The newest Adaptive Card on the page (containing `text`, if given)."""
    cards = page.locator(CARD)
    return (cards.filter(has_text=text) if text is not None else cards).last


async def choose(card: Locator, option: str, *, group: str | None = None) -> None:
    """Pick the radio labelled `option` of an expanded Input.ChoiceSet (the one labelled
    `group`, when the card has several)."""
    scope = card.get_by_role("radiogroup", name=group, exact=True) if group else card
    await scope.get_by_role("radio", name=option, exact=True).check()


async def fill_text(card: Locator, label: str, value: str) -> None:
    """Type into the Input.Text whose `label` is `label`."""
    await card.get_by_label(label, exact=True).fill(value)


async def submit(card: Locator, title: str) -> None:
    """Click the Action.Submit button whose title is `title`."""
    await card.get_by_role("button", name=title, exact=True).click()
