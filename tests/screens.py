"""What people see, regenerated: `python -m tests.screens docs/images`.

Four views, in French and in English, as the sandbox draws them in Debian's Chromium (1280 px
desktop and 390 px phone), as Slack is sent them (Block Kit Builder's JSON), and in the
Microsoft 365 Agents Playground (tests/screens_playground.py):

- checkin: the check-in card a member answers (Camille in French, Jonathan in English);
- tension-preview: a tension written, shown back before it is confirmed (Sophie, Aïsha);
- settings: the coordinator's settings form (Émilie, then Émilie reading in English);
- summary: the summary a manager receives when a round closes (Nadia, Luc), after two rounds
  of six answers each, so that the changes have arrows.

The sandbox runs on a free loopback port, on a temporary SQLite file with the demo seeded
(bot/demo.py) and the tests' clock; everything it starts is stopped before the script ends.
The summary screenshots are taken exactly as tests/test_summary_layout_browser.py takes them
(the same rounds, the card alone), under the same file names. `slack-summary-*.json` is the
known sample card (tests/summary_layout_sample.py) that test_summary_layout_render.py pins;
the other Slack files are the very cards the sandbox showed, rendered by the Slack adapter.
Forms are filled through their own defaults: only the texts a person must type are typed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, async_playwright, expect
from sqlalchemy import update

from adapters.sandbox.transcript import Transcripts
from adapters.slack import blocks as sb
from bot.demo import seed
from bot.server import MOUNTS, build_app
from bot.settings import Settings
from dialogs.cards import Card
from dialogs.engine import Engine
from storage import migrate
from storage.database import Database
from storage.models import Member
from tests.block_kit_checks import check_message, check_view
from tests.chromium import launch_chromium
from tests.conftest import Clock
from tests.loopback_app import on_loopback
from tests.summary_layout_sample import sample_card
from tests.test_sandbox_browser import (
    PHONE,
    act_as,
    newest_card,
    newest_entry,
    run_job,
    say,
    submit,
)
from tests.test_summary_layout_browser import DESKTOP, answer_round

LANGUAGES = ("fr", "en")
TENSION = {
    "fr": "Les décisions sur l’horaire des rencontres arrivent sans nous.",
    "en": "Decisions about the meeting schedule are made without us.",
}
# Who shows each view in each language (bot/demo.py's personas).
CHECKIN = {"fr": ("camille", "Camille Tremblay"), "en": ("jonathan", "Jonathan Roy")}
WRITER = {"fr": ("sophie", "Sophie Gagnon"), "en": ("aisha", "Aïsha Koné")}
READER = {"fr": ("nadia", "Nadia Benali"), "en": ("luc", "Luc Bergeron")}
COORDINATOR = ("emilie", "Émilie Côté")
Json = dict[str, Any]


@dataclass
class Sandbox:
    """The running sandbox: its address, its clock, its database and what it showed people."""

    base: str
    clock: Clock
    database: Database
    transcripts: Transcripts

    def newest_card(self, user_ref: str) -> Card:
        cards = [e.card for e in self.transcripts.of("direct", user_ref) if e.card is not None]
        assert cards, f"{user_ref} was shown no card"
        return cards[-1]

    async def speaks(self, user_ref: str, language: str) -> None:
        async with self.database.session() as session, session.begin():
            await session.execute(
                update(Member).where(Member.user_ref == user_ref).values(language=language)
            )


@contextlib.asynccontextmanager
async def sandbox() -> AsyncIterator[Sandbox]:
    """The real app on 127.0.0.1, scheduler off, the demo seeded, Luc reading in English."""
    with tempfile.TemporaryDirectory(prefix="screens-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'screens.db'}"
        settings = Settings(
            PASSERELLE_DATABASE_URL=url,
            PASSERELLE_HOST="127.0.0.1",
            PASSERELLE_SCHEDULER=False,
            PASSERELLE_SANDBOX=True,
        )
        database = Database(url)
        await migrate.upgrade(database)
        clock = Clock()
        engine = Engine(database, clock=clock)
        assert await seed(engine), "the demo was already there"
        app = build_app(settings, database, engine)
        transcripts = app[MOUNTS]["sandbox"].sender
        assert isinstance(transcripts, Transcripts)
        running = Sandbox("", clock, database, transcripts)
        await running.speaks("luc", "en")
        async with on_loopback(app) as base:
            running.base = base
            yield running


async def both_sizes(card: Locator, folder: Path, name: str) -> list[Path]:
    """The card alone, at 1280 px then at 390 px; the window is put back to 1280 px."""
    page = card.page
    written = []
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await card.scroll_into_view_if_needed()
        path = folder / f"{name}-{size}.png"
        await card.screenshot(path=str(path))
        written.append(path)
    await page.set_viewport_size(DESKTOP)
    return written


def block_kit(card: Card) -> Json:
    """The card as Slack shows it: a form as its modal, anything else as a message."""
    if card.form is not None:
        # The bridge signs this metadata for the person (adapters/slack/replies.py); unsigned
        # here, as Block Kit Builder ignores it.
        view = sb.modal_view(card, private_metadata=sb.form_metadata(card.form))
        check_view(view)
        return view
    (message,) = sb.messages_for(card)
    check_message(message)
    return {"blocks": message[1]}


def save_json(path: Path, payload: Json) -> Path:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------- the four views
async def summaries(page: Page, box: Sandbox, folder: Path) -> list[Path]:
    """Two rounds of six answers, closed a fortnight apart; each manager's newest summary."""
    await answer_round(page, shift=0)
    box.clock.advance(days=14)
    await answer_round(page, shift=1)
    written = []
    for language in LANGUAGES:
        _, name = READER[language]
        await act_as(page, name)
        summary = newest_card(page, re.compile("Sommaire|Partnership summary"))
        await expect(summary).to_be_visible()
        written += await both_sizes(summary, folder, f"sandbox-summary-{language}")
        # The known sample, as test_summary_layout_render.py pins it (not this demo's round).
        (message,) = sb.messages_for(sample_card(language, coordinator=True))
        check_message(message)
        written.append(save_json(folder / f"slack-summary-{language}.json", {"blocks": message[1]}))
    return written


async def checkins(page: Page, box: Sandbox, folder: Path) -> list[Path]:
    """A third round opened: the ballot as a member finds it, not yet answered."""
    box.clock.advance(days=14)
    await act_as(page, COORDINATOR[1])
    await run_job(page, "checkin")
    written = []
    for language in LANGUAGES:
        ref, name = CHECKIN[language]
        await act_as(page, name)
        ballot = newest_card(page, re.compile("Bilan|Check-in"))
        await expect(ballot.locator("fieldset.scale").first).to_be_visible()
        written += await both_sizes(ballot, folder, f"sandbox-checkin-{language}")
        card = box.newest_card(ref)
        written.append(save_json(folder / f"slack-checkin-{language}.json", block_kit(card)))
    return written


async def tension_previews(page: Page, box: Sandbox, folder: Path) -> list[Path]:
    """A tension written and previewed; never confirmed."""
    written = []
    for language in LANGUAGES:
        ref, name = WRITER[language]
        await act_as(page, name)
        await say(page, "tension")
        form = newest_entry(page).locator("article.card")
        await form.locator("textarea[name=text]").fill(TENSION[language])
        await form.locator("select[name=theme]").select_option(index=1)
        await submit(form)  # its first button: the preview
        preview = newest_card(page, re.compile("Avant d’envoyer|Before (you )?send", re.I))
        await expect(preview).to_contain_text(TENSION[language])
        written += await both_sizes(preview, folder, f"sandbox-tension-preview-{language}")
        card = box.newest_card(ref)
        written.append(
            save_json(folder / f"slack-tension-preview-{language}.json", block_kit(card))
        )
    return written


async def settings_forms(page: Page, box: Sandbox, folder: Path) -> list[Path]:
    """The coordinator's settings form; in English once Émilie reads in English."""
    ref, name = COORDINATOR
    written = []
    for language in LANGUAGES:
        await box.speaks(ref, language)
        await act_as(page, name)
        await page.reload()
        await say(page, "settings")
        form = newest_card(page, re.compile("^(Paramètres|Settings) —"))
        await expect(form.locator("form.card-form")).to_be_visible()
        written += await both_sizes(form, folder, f"sandbox-settings-{language}")
        card = box.newest_card(ref)
        written.append(save_json(folder / f"slack-settings-{language}.json", block_kit(card)))
    await box.speaks(ref, "fr")
    return written


async def sandbox_screens(folder: Path) -> list[Path]:
    """Every sandbox screenshot and Slack payload, in `folder`."""
    async with sandbox() as box, async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            context = await browser.new_context(viewport=DESKTOP)
            context.set_default_timeout(15_000)
            page = await context.new_page()
            await page.goto(f"{box.base}/sandbox")
            written = await summaries(page, box, folder)
            written += await checkins(page, box, folder)
            written += await tension_previews(page, box, folder)
            written += await settings_forms(page, box, folder)
        finally:
            await browser.close()
    return written


async def main(folder: Path, *, playground: bool) -> list[Path]:
    written = await sandbox_screens(folder)
    if playground:
        from tests.screens_playground import playground_screens

        written += await playground_screens(folder)
    return written


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("docs/images"))
    parser.add_argument(
        "--no-playground", action="store_true", help="skip the Agents Playground's screenshots"
    )
    arguments = parser.parse_args()
    arguments.folder.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(main(arguments.folder, playground=not arguments.no_playground)):
        print(path)


if __name__ == "__main__":
    cli()
