"""The summary in the sandbox, in real Chromium, as managers read it: two check-ins answered by
three people of each sector, closed; Nadia reads it in French, Luc in English. The tables are
real tables to assistive technology (caption, column and row headings, the bar named by its
answers), and the card fits a 390 px phone without scrolling sideways.

Screenshots of the card (desktop 1280 px and phone 390 px, fr and en) are written to the
directory named by PASSERELLE_SCREENSHOTS (docs/images for the documentation), else to the
test's temporary directory. PASSERELLE_SCREENSHOT_CSS names a stylesheet added to the page
before the screenshots, to preview a change to sandbox.css; the checks do not depend on it.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, ViewportSize, async_playwright, expect
from sqlalchemy import update

from bot.demo import seed
from bot.server import build_app
from bot.settings import Settings
from dialogs.engine import Engine
from storage import migrate
from storage.database import Database
from storage.models import Member
from tests.chromium import launch_chromium, require_chromium
from tests.conftest import Clock
from tests.loopback_app import on_loopback
from tests.test_sandbox_browser import PHONE, act_as, newest_card, run_job, submit

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SIDEWAYS = "() => document.scrollingElement.scrollWidth - window.innerWidth"
TABLE_OVERFLOW = """(card) => [...card.querySelectorAll('.table-scroll')]
    .map(box => box.scrollWidth - box.clientWidth)"""
PUBLIC = ("Camille Tremblay", "Jonathan Roy", "Daniel Wong")
COMMUNITY = ("Sophie Gagnon", "Marc-André Lavoie", "Aïsha Koné")


@pytest.fixture
async def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> AsyncIterator[str]:
    """The real app on a loopback port, the demo seeded, Luc reading in English."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'summary.db'}"
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", url)
    monkeypatch.setenv("PASSERELLE_HOST", "127.0.0.1")
    monkeypatch.setenv("PASSERELLE_SCHEDULER", "0")
    monkeypatch.setenv("PASSERELLE_SANDBOX", "1")
    settings = Settings()
    database = Database(url)
    await migrate.upgrade(database)
    engine = Engine(database, clock=clock)
    assert await seed(engine)
    async with database.session() as session, session.begin():
        await session.execute(update(Member).where(Member.user_ref == "luc").values(language="en"))
    async with on_loopback(build_app(settings, database, engine)) as address:
        yield address


@pytest.fixture
async def page(base: str) -> AsyncIterator[Page]:
    require_chromium()
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        context = await browser.new_context(viewport=DESKTOP)
        context.set_default_timeout(15_000)
        tab = await context.new_page()
        await tab.goto(f"{base}/sandbox")
        yield tab
        await browser.close()


async def answer_round(page: Page, shift: int) -> None:
    """Six people answer every statement, the public network a step higher than community
    organisations (a gap to show); `shift` moves every other statement up a step."""
    await act_as(page, "Émilie Côté")
    await run_job(page, "checkin")
    for n, name in enumerate(PUBLIC + COMMUNITY):
        await act_as(page, name)
        ballot = newest_card(page, re.compile("Bilan|Check-in"))
        scales = ballot.locator("fieldset.scale")
        for i in range(await scales.count()):
            public = 1 if name in PUBLIC else 0
            choice = min(4, public + (n + i) % 3 + (shift if i % 2 == 0 else 0))
            await scales.nth(i).locator("label.scale-option").nth(choice).click()
        await ballot.locator("textarea[name=open]").fill(
            ("Plus de temps ensemble pour préparer les rencontres.", "")[n % 2]
        )
        await submit(ballot)
    await act_as(page, "Émilie Côté")
    await run_job(page, "close")


def shots() -> Path | None:
    where = os.environ.get("PASSERELLE_SCREENSHOTS")
    return Path(where) if where else None


async def check_table_semantics(summary: Locator, language: str) -> None:
    fr = language == "fr"
    caption = "Résultats du bilan nᵒ\u00a02" if fr else "Results of check-in no. 2"
    table = summary.get_by_role("table", name=caption)
    await expect(table).to_be_visible()
    mean = "Moyenne sur 5" if fr else "Mean out of 5"
    await expect(table.get_by_role("columnheader", name=mean)).to_be_visible()
    vision = "Vision et finalités" if fr else "Vision and aims"
    row = table.get_by_role("row").filter(has=summary.page.get_by_role("rowheader", name=vision))
    await expect(row).to_have_count(1)
    # The mean uses the language's separator; the change has its arrow.
    cells = await row.get_by_role("cell").all_inner_texts()
    separator = "," if fr else "."
    assert re.fullmatch(rf"[1-5]\{separator}\d", cells[0]), cells
    assert cells[1][0] in "↑↓→", cells
    # The bar is an image named by the answers it draws, never by people.
    bar = row.get_by_role("img")
    name = await bar.get_attribute("aria-label")
    assert name and ("réponses" if fr else "answers") in name and "person" not in name
    gap = "Écarts de perception entre secteurs" if fr else "Perception gaps between sectors"
    await expect(summary.get_by_role("table", name=gap)).to_be_visible()


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_the_summary_reads_as_tables_on_a_computer_and_a_phone(
    page: Page, clock: Clock, tmp_path: Path, language: str
) -> None:
    await answer_round(page, shift=0)
    clock.advance(days=14)
    await answer_round(page, shift=1)
    reader = "Nadia Benali" if language == "fr" else "Luc Bergeron"
    await act_as(page, reader)
    summary = newest_card(page, re.compile("Sommaire|Partnership summary"))
    headline = "6 personnes sur 9 ont répondu" if language == "fr" else "6 of 9 people asked"
    await expect(summary).to_contain_text(headline)
    await check_table_semantics(summary, language)
    extra = os.environ.get("PASSERELLE_SCREENSHOT_CSS")
    if extra:
        await page.add_style_tag(path=extra)
    folder = shots() or tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await summary.scroll_into_view_if_needed()
    await summary.screenshot(path=str(folder / f"sandbox-summary-{language}-desktop.png"))
    await page.set_viewport_size(PHONE)
    assert await page.evaluate(SIDEWAYS) <= 0
    box = await summary.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    await summary.screenshot(path=str(folder / f"sandbox-summary-{language}-phone.png"))
    # Every table fits the card: none has to be scrolled sideways within it.
    assert max(await summary.evaluate(TABLE_OVERFLOW)) <= 0
