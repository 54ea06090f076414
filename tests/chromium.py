"""Debian's Chromium as the browser tests launch it: headless, and quiet on the network."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Playwright

from tests.conftest import unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Even with the flags above, Debian's Chromium resolves accounts.google.com and
    # update.googleapis.com at start (seen with strace); refuse every name but loopback.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        unavailable(f"Debian's Chromium is not installed at {CHROMIUM}")
    return CHROMIUM


async def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with no background traffic of its own."""
    return await playwright.chromium.launch(
        executable_path=str(require_chromium()), headless=True, args=CHROMIUM_ARGS
    )
