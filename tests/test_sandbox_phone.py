"""The sandbox on a 390 px phone, with the longest texts people can paste: no page scrolls sideways.

A 10,000-character message without a space and a long URL are typed in the channel; a tension,
a success, a thank-you and the check-in's open answers carry long unbroken text too. Then every
page a person can reach (each persona's page, in French and in English, with its conversation,
the team channel, the coordinator's forms, help and summary, and the error and outage pages) is
opened at 390 px, and the document must be no wider than the screen. Before the fix, such a
page was 535 px and 94,956 px wide. `tests/test_sandbox_axe.py` checks the same pages with axe.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from playwright.async_api import Page, async_playwright, expect

from bot.demo import PERSONAS
from tests.chromium import launch_chromium
from tests.test_sandbox_browser import (
    PHONE,
    act_as,
    newest_card,
    newest_entry,
    run_job,
    sandbox_url,
    say,
    submit,
)

pytestmark = pytest.mark.browser
__all__ = ["sandbox_url"]  # the fixture this module's own fixtures build on

LONG_URL = (
    "https://intranet.exemple.qc.ca/partage/equipes/equipe-mixte/documents/"
    "proces-verbaux/2026/rencontre-de-coordination-du-mois-de-decembre?version=3"
    "&telechargement=1&reference=" + "0123456789abcdef" * 8
)
# What a person pastes by mistake: 10,000 characters and not one space.
HUGE = "Passerelle" * 1000
LANGUAGES = ("fr", "en")
# document.scrollingElement is what scrolls the page; a page wider than the window scrolls sideways.
SIDEWAYS = "() => document.scrollingElement.scrollWidth - window.innerWidth"
# What pushes the page out: the innermost elements wider than the window (their content).
WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.scrollWidth > window.innerWidth
        && ![...e.children].some(c => c.scrollWidth > window.innerWidth))
    .slice(0, 3).map(e => `${e.tagName.toLowerCase()}.${e.className} (${e.scrollWidth} px)`)
    .join(', ')"""


def long_text(limit: int) -> str:
    """A text of `limit` characters at most: the long URL, then one unbroken word."""
    return (LONG_URL + " " + "Longuesphrasesansespace" * 60)[:limit]


@dataclass(frozen=True)
class Reachable:
    """A page a person can reach: its name (for failures) and how to open it."""

    name: str
    open: Callable[[Page], Awaitable[object]]


async def fill_the_sandbox(page: Page) -> None:
    """Long texts everywhere a person can write one, and every card a person can be shown."""
    await act_as(page, "Émilie Côté")
    for text in (HUGE, LONG_URL):  # typed in the team channel
        await page.locator("input[name=in_channel]").check()
        await say(page, text)

    # A tension, previewed and sent: it waits for the batch.
    await act_as(page, "Sophie Gagnon")
    await say(page, "tension")
    form = newest_entry(page).locator("article.card")
    await form.locator("textarea[name=text]").fill(long_text(1000))
    await form.locator("select[name=theme]").select_option(index=1)
    await submit(form)
    preview = newest_entry(page).locator("article.card")
    await expect(preview).to_contain_text(LONG_URL[:40])
    await preview.get_by_role("button", name=re.compile("Envoyer anonymement")).click()
    await expect(newest_entry(page)).to_contain_text(re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}"))

    # A success shared with a name (at once) and one without (with the batch).
    await act_as(page, "Aïsha Koné")
    for consent in ("named", "anonymous"):
        await say(page, "success")
        share = newest_entry(page).locator("article.card")
        await share.locator("textarea[name=text]").fill(long_text(800))
        await share.locator("select[name=consent]").select_option(consent)
        await submit(share)
        await expect(newest_entry(page)).to_contain_text("Thank you!")

    # A thank-you to a teammate, delivered privately.
    await act_as(page, "Marc-André Lavoie")
    await say(page, "merci")
    note = newest_entry(page).locator("article.card")
    await note.locator("select[name=member]").select_option(index=1)
    await note.locator("[name=message]").fill(long_text(500))
    await submit(note)

    # A check-in answered by three people with long open answers; closed: the summary.
    await act_as(page, "Émilie Côté")
    await run_job(page, "checkin")
    for name in ("Camille Tremblay", "Daniel Wong", "Luc Bergeron"):
        await act_as(page, name)
        ballot = newest_card(page, re.compile("Bilan|Check-in"))
        scales = ballot.locator("fieldset.scale")
        for i in range(await scales.count()):
            await scales.nth(i).locator("label.scale-option").nth(i % 5).click()
        await ballot.locator("textarea[name=open]").fill(long_text(500))
        await submit(ballot)
    await act_as(page, "Émilie Côté")
    await run_job(page, "close")
    await run_job(page, "batch")
    # The coordinator's own forms and cards, each in her conversation.
    for command in ("aide", "profil", "parametres", "horaire", "lecteurs", "reflexif", "sommaire"):
        await say(page, command)


def reachable_pages(base: str) -> list[Reachable]:
    """Every page of the sandbox a person can reach, in both languages."""

    def address(path: str) -> Reachable:
        async def go(page: Page) -> None:
            await page.goto(base + path)

        return Reachable(path, go)

    def posted(action: str, fields: dict[str, str]) -> Reachable:
        """A form's answer page (a refusal): posted from the page, as a browser would."""

        async def go(page: Page) -> None:
            await page.goto(base + "/sandbox")
            async with page.expect_navigation():
                await page.evaluate(
                    """([action, fields]) => { const f = document.createElement('form');
                    f.method = 'post'; f.action = action;
                    for (const [k, v] of Object.entries(fields)) {
                        const i = document.createElement('input');
                        i.type = 'hidden'; i.name = k; i.value = v; f.append(i);
                    }
                    document.body.append(f); f.submit(); }""",
                    [action, fields],
                )

        shown = {k: v[:20] for k, v in fields.items()}
        return Reachable(f"POST {action} {shown}", go)

    pages = [address("/sandbox")]
    for lang in LANGUAGES:
        pages += [address(f"/sandbox?as={p.user_ref}&lang={lang}") for p in PERSONAS]
        pages += [
            address(f"/sandbox?as=nobody-{'x' * 300}&lang={lang}"),
            address(f"/sandbox?as=emilie&lang={lang}&job=checkin&done=jobs.checkin&count=9"),
            posted("/sandbox/run", {"as": "emilie", "job": "x" * 3000, "lang": lang}),
            posted("/sandbox/run", {"as": "camille", "job": "checkin", "lang": lang}),
            posted("/sandbox/submit", {"as": "emilie", "lang": lang}),
        ]
    return pages


@pytest.fixture
async def filled(sandbox_url: str) -> AsyncIterator[tuple[Page, list[Reachable]]]:
    """A phone-sized Chromium tab on a sandbox full of long texts, and the pages to visit."""
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        context = await browser.new_context(viewport=PHONE)
        context.set_default_timeout(15_000)
        tab = await context.new_page()
        await tab.goto(f"{sandbox_url}/sandbox")
        await fill_the_sandbox(tab)
        yield tab, reachable_pages(sandbox_url)
        await browser.close()


async def outage(page: Page, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """The page shown while the database is away (the address keeps the language)."""

    async def away(*args: object, **kwargs: object) -> object:
        raise ConnectionRefusedError("the database is away")

    base = page.url.split("/sandbox")[0]
    with monkeypatch.context() as patch:
        patch.setattr("adapters.sandbox.app.directory", away)
        answer = await page.goto(f"{base}/sandbox?as=emilie&lang={lang}")
        assert answer is not None and answer.status == 503


async def test_no_sandbox_page_scrolls_sideways_on_a_phone(
    filled: tuple[Page, list[Reachable]], monkeypatch: pytest.MonkeyPatch
) -> None:
    page, pages = filled
    # The long texts are on the pages checked below (else the test would prove nothing).
    await page.goto(page.url.split("/sandbox")[0] + "/sandbox?as=emilie&lang=fr")
    coordinator = await page.locator("main").inner_text()
    for proof in (HUGE, LONG_URL, "Longuesphrasesansespace"):
        assert proof in coordinator, proof[:40]
    assert await page.locator("section.channel").inner_text() != ""
    wide: list[str] = []
    for reachable in pages:
        await reachable.open(page)
        wide += await sideways(page, reachable.name)
    for lang in LANGUAGES:
        await outage(page, monkeypatch, lang)
        wide += await sideways(page, f"the outage page ({lang})")
    assert not wide, "\n".join(wide)


async def sideways(page: Page, name: str) -> list[str]:
    """[] when the page fits the screen; else what overflows, and by how much."""
    extra = await page.evaluate(SIDEWAYS)
    if extra <= 0:
        return []
    return [f"{name[:100]}: {extra} px too wide, {await page.evaluate(WIDEST)}"]
