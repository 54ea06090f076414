"""The whole journey in a real browser: headless Chromium drives the sandbox page like a person.

The real aiohttp app (scheduler off, the test's clock) serves /sandbox on 127.0.0.1; every step
is a click, a choice or a typed text, and every card is the engine's own, rendered as HTML.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, ViewportSize, async_playwright, expect

from bot.demo import seed
from bot.server import build_app
from bot.settings import Settings
from dialogs.content import default_bank
from dialogs.engine import Engine
from storage import migrate
from storage.database import Database
from tests.chromium import launch_chromium, require_chromium
from tests.conftest import Clock
from tests.loopback_app import on_loopback

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/sandbox.png")
# Every control a person can reach has a label; every id is unique (labels and skip links work).
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')].filter(e => e.labels.length === 0)
    .map(e => e.name || e.id)"""
DUPLICATE_IDS = """() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
    return ids.filter((id, i) => ids.indexOf(id) !== i); }"""


@pytest.fixture
async def sandbox_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> AsyncIterator[str]:
    """The real app on a free loopback port, on a migrated SQLite file with the demo seeded."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}"
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", url)
    monkeypatch.setenv("PASSERELLE_HOST", "127.0.0.1")
    monkeypatch.setenv("PASSERELLE_SCHEDULER", "0")
    monkeypatch.setenv("PASSERELLE_SANDBOX", "1")
    settings = Settings()
    assert not settings.scheduler_enabled
    database = Database(url)
    await migrate.upgrade(database)
    engine = Engine(database, clock=clock)
    assert await seed(engine)
    async with on_loopback(build_app(settings, database, engine)) as base:
        yield base  # the app's cleanup, at the end, disposes the database


@pytest.fixture
def chromium() -> Path:
    return require_chromium()  # before the sandbox starts: skipped early where it is missing


@pytest.fixture
async def page(chromium: Path, sandbox_url: str) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        context = await browser.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(10_000)
        tab = await context.new_page()
        await tab.goto(f"{sandbox_url}/sandbox")
        yield tab
        await browser.close()


# ----------------------------------------------------------------- what a person does
async def act_as(page: Page, name: str) -> None:
    switcher = page.get_by_role("navigation", name=re.compile("Personnes|People"))
    await switcher.get_by_role("link", name=name).click()
    await expect(switcher.locator("a[aria-current=page]")).to_contain_text(name)
    await expect(page.locator("#conversation h2")).to_contain_text(name)


async def say(page: Page, text: str) -> None:
    before = page.url
    await page.locator("#command").fill(text)
    await page.locator(".composer button[type=submit]").click()
    await page.wait_for_url(lambda url: url != before)


async def submit(form: Locator) -> None:
    before = form.page.url
    await form.locator("form.card-form button[type=submit]").click()
    await form.page.wait_for_url(lambda url: url != before)


async def run_job(page: Page, job: str) -> str:
    before = page.url
    await page.locator("#job").select_option(job)
    await page.locator("#jobs button[type=submit]").click()
    await page.wait_for_url(lambda url: url != before and f"job={job}&" in url)
    return await page.get_by_role("status").inner_text()


async def choose_zone(field: Locator, zone: str) -> None:
    """A time zone, typed or picked from a menu, whichever the form offers."""
    if await field.evaluate("e => e.tagName") == "SELECT":
        await field.select_option(zone)
    else:
        await field.fill(zone)


def newest_card(page: Page, heading: str | re.Pattern[str]) -> Locator:
    """The newest card in the person's conversation whose title matches."""
    title = page.get_by_role("heading", level=3, name=heading)
    return page.locator("#conversation article.card").filter(has=title).first


def newest_entry(page: Page) -> Locator:
    return page.locator("#conversation li.entry").first


def channel(page: Page) -> Locator:
    return page.locator("section.channel")


# ----------------------------------------------------------------- the journey
async def test_the_journey_in_a_real_browser(page: Page) -> None:
    started = time.monotonic()
    await expect(page.locator("html")).to_have_attribute("lang", "fr")

    # Onboarding: people answer their own welcome card (sector, position, language, zone).
    # Their card was drawn before the demo filled in their sector: they choose it themselves.
    for name, sector, language in (
        ("Camille Tremblay", "public", "fr"),
        ("Jonathan Roy", "public", "en"),
        ("Sophie Gagnon", "community", "fr"),
        ("Aïsha Koné", "community", "en"),
    ):
        await act_as(page, name)
        welcome = newest_card(page, re.compile("Bienvenue|Welcome"))
        await welcome.locator("select[name=sector]").select_option(sector)
        await welcome.locator("select[name=position]").select_option("front_line")
        await welcome.get_by_label(re.compile("^(Langue|Language)$")).select_option(language)
        await choose_zone(welcome.locator("[name=timezone]"), "America/Toronto")  # Montréal
        await submit(welcome)
        await expect(newest_entry(page)).to_contain_text(
            re.compile("Profil enregistré|Profile saved")
        )
    # Jonathan chose English: his page follows him.
    await act_as(page, "Jonathan Roy")
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    # The coordinator opens a check-in from the jobs form.
    await act_as(page, "Émilie Côté")
    assert re.search(r"\b9\b", await run_job(page, "checkin"))  # nine people asked

    # Four people, from both sectors, answer every 1-5 item by clicking its labels.
    respondents = ("Camille Tremblay", "Jonathan Roy", "Sophie Gagnon", "Aïsha Koné")
    for n, name in enumerate(respondents):
        await act_as(page, name)
        ballot = newest_card(page, re.compile("Bilan nᵒ 1|Check-in no. 1"))
        scales = ballot.locator("fieldset.scale")
        assert 4 <= await scales.count() <= 6
        for i in range(await scales.count()):
            scale = scales.nth(i)
            assert (await scale.locator("legend").inner_text()).strip()
            await scale.locator("label.scale-option").nth((n + i) % 5).click()
            await expect(scale.locator("input:checked")).to_have_value(str((n + i) % 5 + 1))
        await ballot.locator("textarea[name=open]").fill(f"Plus de temps ensemble ({n})")
        if n == 0:
            await ballot.scroll_into_view_if_needed()
            await page.screenshot(path=str(SCREENSHOT))
            assert await page.evaluate(UNLABELLED_CONTROLS) == []
            assert await page.evaluate(DUPLICATE_IDS) == []
        await submit(ballot)
        await expect(newest_entry(page)).to_contain_text(re.compile("Merci\u00a0!|Thank you!"))

    # A tension: written, previewed (who, where, when), confirmed; a follow-up code comes back.
    await act_as(page, "Sophie Gagnon")
    await say(page, "tension")
    form = newest_card(page, "Nommer une tension, anonymement")
    await form.get_by_label("Votre message").fill("Les décisions arrivent sans nous.")
    await form.get_by_label("Thème").select_option("decisions")
    await form.get_by_role("button", name="Voir avant d’envoyer").click()
    preview = newest_card(page, "Avant d’envoyer")
    await expect(preview).to_contain_text("Les décisions arrivent sans nous.")
    shown = await preview.inner_text()
    assert "9 membres" in shown and "equipe-mixte" in shown and "jeudi" in shown, shown
    await preview.get_by_role("button", name="Envoyer anonymement").click()
    sent = newest_card(page, "Tension reçue")
    await expect(sent).to_contain_text(re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}"))
    await expect(channel(page)).not_to_contain_text("Les décisions arrivent sans nous.")

    # A success, shared without a name: it waits for the batch too.
    await act_as(page, "Aïsha Koné")
    await say(page, "success")
    share = newest_card(page, re.compile("success", re.I))
    await share.locator("textarea[name=text]").fill("Access unblocked for a family.")
    await share.locator("select[name=consent]").select_option("anonymous")
    await submit(share)
    await expect(newest_entry(page)).to_contain_text("Thank you!")
    await expect(channel(page)).not_to_contain_text("Access unblocked")

    # The coordinator publishes the batch: both appear in the team channel.
    await act_as(page, "Émilie Côté")
    assert re.search(r"\b2\b", await run_job(page, "batch"))  # a tension, a success
    await expect(channel(page)).to_contain_text("Les décisions arrivent sans nous.")
    await expect(channel(page)).to_contain_text("Access unblocked for a family.")

    # A reflexive prompt from the library, scheduled for a future date, then invited and posted.
    await say(page, "reflexif")
    plan = newest_card(page, "Planifier une question pour l’espace réflexif")
    await plan.locator("select[name=prompt]").select_option("X1")
    await plan.locator("input[name=date]").fill("2026-12-03")
    await plan.locator("input[name=time]").fill("13:30")
    await submit(plan)
    await expect(newest_card(page, "Question planifiée")).to_contain_text("3 décembre 2026")
    assert re.search(r"\b9\b", await run_job(page, "reflexive-invite"))
    await act_as(page, "Marc-André Lavoie")
    invite = newest_card(page, re.compile("pré-réflexion", re.I))
    await invite.locator("textarea[name=text]").fill("On n’ose pas parler du financement.")
    await submit(invite)
    await expect(newest_entry(page)).to_contain_text("Merci\u00a0!")
    await act_as(page, "Émilie Côté")
    assert re.search(r"\b1\b", await run_job(page, "reflexive"))
    prompt = default_bank().reflexive_prompt("X1").text.get("fr")
    await expect(channel(page)).to_contain_text(prompt)
    await expect(channel(page)).to_contain_text("On n’ose pas parler du financement.")

    # The round closes; a manager finds the summary in their own conversation.
    assert re.search(r"\b3\b", await run_job(page, "close"))  # three did not answer
    await act_as(page, "Nadia Benali")
    summary = newest_card(page, re.compile("Sommaire"))
    await expect(summary).to_contain_text(re.compile(r"\b4\b[^.]*\b9\b"))  # 4 of 9
    await expect(summary).to_contain_text(re.compile("moyenne", re.I))
    assert time.monotonic() - started < 60


# ----------------------------------------------------------------- issue 11's screens
PHONE: ViewportSize = {"width": 390, "height": 844}
PAGE_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


async def test_the_readers_form_and_settings_fit_a_phone(page: Page) -> None:
    """At 390 px, the readers form (a menu of members with their position and state) and the
    settings' readers rule: the page is never wider than the screen (a grid column used to
    grow to the menu's longest option: 41 px of sideways scrolling in French, 99 in English)."""
    await page.set_viewport_size(PHONE)
    await act_as(page, "Émilie Côté")
    for lang in ("fr", "en"):  # the page's own words in either language
        await page.goto(re.sub(r"&lang=\w+|#.*", "", page.url) + f"&lang={lang}")
        await say(page, "lecteurs")
        form = newest_card(page, re.compile("^Lecture des sommaires —"))
        await expect(form.locator("select[name=member] option")).to_have_count(8)
        assert await page.evaluate(PAGE_OVERFLOW) <= 0
        await say(page, "parametres")
        rule = newest_card(page, re.compile("^Paramètres —")).locator(
            "select[name=summary_readers]"
        )
        await expect(rule).to_be_visible()
        assert await page.evaluate(PAGE_OVERFLOW) <= 0
        box = await rule.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]


async def test_the_outage_page_speaks_both_languages_and_keeps_the_persona(
    page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the database is away, a person whose language the page cannot know (it is in
    the database) is told in French and in English, under the outage's own title, and the way
    back returns to their own conversation, not to the first persona's."""
    await act_as(page, "Jonathan Roy")
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    async def away(*args: object, **kwargs: object) -> object:
        raise ConnectionRefusedError("the database is away")

    monkeypatch.setattr("adapters.sandbox.app.directory", away)
    await page.locator("#command").fill("help")
    async with page.expect_response(lambda r: r.url.endswith("/sandbox/command")) as sent:
        await page.locator(".composer button[type=submit]").click()
    answer = await sent.value
    assert answer.status == 503 and answer.headers.get("retry-after") == "30"
    english = page.locator("main section[lang=en]")
    await expect(english).to_contain_text("Temporarily unavailable")
    await expect(english).to_contain_text("cannot reach its database")
    await expect(page.locator("main section[lang=fr]")).to_contain_text(
        "Service momentanément indisponible"
    )
    await expect(page.get_by_role("heading", level=1)).to_have_count(1)
    # Asked in English (the address says so): English only.
    await page.goto(page.url.split("/sandbox")[0] + "/sandbox?as=jonathan&lang=en")
    await expect(page.locator("main")).to_contain_text("Temporarily unavailable")
    await expect(page.locator("main section[lang=fr]")).to_have_count(0)
    # Back once the database is: Jonathan's own conversation.
    monkeypatch.undo()
    await page.get_by_role("link", name="Back to the sandbox").click()
    await expect(page.locator("#conversation h2")).to_contain_text("Jonathan Roy")
