"""axe-core, the accessibility engine, finds nothing wrong on any sandbox page.

The pages are those of tests/test_sandbox_phone.py (every persona's page in French and in
English, full of long texts and of every card a person can be shown, the refusals, the unknown
persona and the outage page), checked at desktop width and at 390 px with every rule axe runs
by default: WCAG 2.0, 2.1 and 2.2 A and AA, and its best practices. axe-core is the npm package
pinned in .ci/axe; without it this test fails (it does not skip): `npm ci --prefix .ci/axe`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize, async_playwright

from tests.chromium import launch_chromium
from tests.conftest import unavailable
from tests.test_sandbox_browser import PHONE
from tests.test_sandbox_phone import (
    LANGUAGES,
    Reachable,
    fill_the_sandbox,
    outage,
    reachable_pages,
    sandbox_url,
)

pytestmark = pytest.mark.browser
__all__ = ["sandbox_url"]  # the fixture this module's own fixture builds on

AXE = (
    Path(__file__).resolve().parents[1] / ".ci" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
)
DESKTOP: ViewportSize = {"width": 1280, "height": 1000}
# Each violation as one line: the rule, its impact, and where (up to three elements).
VIOLATIONS = """async () => (await axe.run(document)).violations.map(v => `${v.id} (${v.impact}):
    ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`)"""


def axe_script() -> Path:
    if not AXE.exists():  # as for Chromium: skipped on a laptop without npm, failed in CI
        unavailable(f"axe-core is missing at {AXE}: run `make axe` (needs npm)")
    return AXE


@pytest.fixture
async def filled(sandbox_url: str) -> AsyncIterator[tuple[Page, list[Reachable]]]:
    script = axe_script()  # before the browser starts: a missing axe fails at once
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        context = await browser.new_context(viewport=DESKTOP)
        context.set_default_timeout(15_000)
        tab = await context.new_page()
        await tab.goto(f"{sandbox_url}/sandbox")
        await fill_the_sandbox(tab)
        await context.add_init_script(path=script)  # on every page opened from now on
        yield tab, reachable_pages(sandbox_url)
        await browser.close()


async def violations(page: Page, name: str) -> list[str]:
    """What axe finds on the page as shown at desktop width, then on a phone."""
    found = [f"{name[:100]}: {line}" for line in await page.evaluate(VIOLATIONS)]
    await page.set_viewport_size(PHONE)
    found += [f"{name[:100]} (phone): {line}" for line in await page.evaluate(VIOLATIONS)]
    await page.set_viewport_size(DESKTOP)
    return found


async def test_axe_finds_no_violation_on_any_sandbox_page(
    filled: tuple[Page, list[Reachable]], monkeypatch: pytest.MonkeyPatch
) -> None:
    page, pages = filled
    found: list[str] = []
    for reachable in pages:
        await reachable.open(page)
        found += await violations(page, reachable.name)
    for lang in LANGUAGES:
        await outage(page, monkeypatch, lang)
        found += await violations(page, f"the outage page ({lang})")
    assert not found, "\n".join(found)
    # axe does run on these pages: an input without a label, added to the last one, is seen.
    await page.evaluate(
        "() => document.querySelector('main').append(document.createElement('input'))"
    )
    assert any(line.startswith("label ") for line in await page.evaluate(VIOLATIONS))
