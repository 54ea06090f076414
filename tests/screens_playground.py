"""The four views of tests/screens.py in the Microsoft 365 Agents Playground (Teams' local
stand-in, pinned in .ci/playground), in Debian's Chromium: docs/images/playground-*-{fr,en}.png.

The Playground has one person, "Alex Wilber" (`user-id-0`), who cannot be switched from the
page; its other users (`user-id-1` to `user-id-5`) never type. So, per language, a fresh
partnership is made through the engine: Alex coordinates it and reads in that language, five
colleagues and Alex answer two check-ins a fortnight apart (three people per sector, so the
gaps show), and a third check-in is opened. Then, in the Playground's page, Alex types the
commands and the bot's cards are photographed as the Playground draws them: the check-in, a
tension's preview (a tension typed, never confirmed), the settings form, and, once Alex reads
summaries as a manager does (no longer coordinating), the summary.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Locator, Page, expect
from sqlalchemy import update

from bot.server import build_app
from bot.settings import Settings
from dialogs.cards import ScaleInput
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, MemberJoined, Place
from storage import migrate, teams
from storage.database import Database
from storage.models import Member
from tests.conftest import Clock
from tests.loopback_app import on_loopback
from tests.playground import (
    CARD,
    bot_messages,
    newest_card,
    playground_page,
    run_playground,
    send_message,
)

TENANT = "00000000-0000-0000-0000-0000000000001"  # the Playground's tenant (its default config)
CHANNEL = Place("teams", TENANT, "team-id", "General")
ALEX = "user-id-0"
# The Playground's own users; Alex plus two share the public network, three are community.
PEOPLE = (
    (ALEX, "Alex Wilber", "public"),
    ("user-id-1", "Megan Bowen", "public"),
    ("user-id-2", "Adele Vance", "public"),
    ("user-id-3", "Lee Gu", "community"),
    ("user-id-4", "Nestor Wilke", "community"),
    ("user-id-5", "Pradeep Gupta", "community"),
)
TENSION = {
    "fr": "Les décisions sur l’horaire des rencontres arrivent sans nous.",
    "en": "Decisions about the meeting schedule are made without us.",
}
TOO_LARGE = "PayloadTooLargeError"  # what the Playground logs when it refuses a body
WORDS = {  # what Alex types, in the language Alex reads
    "fr": {"settings": "parametres", "summary": "sommaire", "checkin": "bilan"},
    "en": {"settings": "settings", "summary": "summary", "checkin": "checkin"},
}


def actor(user_ref: str, name: str, language: str) -> Actor:
    return Actor("teams", TENANT, user_ref, name, locale="fr-CA" if language == "fr" else "en-US")


async def set_member(engine: Engine, user_ref: str, **values: object) -> None:
    async with engine.database.session() as session, session.begin():
        await session.execute(update(Member).where(Member.user_ref == user_ref).values(**values))


async def answer_checkin(engine: Engine, who: Actor, n: int, shift: int) -> None:
    """`who` asks for the open check-in and answers every statement (public a step higher)."""
    (card,) = await engine.handle(CommandReceived(who, "checkin", None))
    assert card.form is not None, card.title
    public = 1 if any(p[0] == who.user_ref and p[2] == "public" for p in PEOPLE) else 0
    values: dict[str, str] = {}
    for i, field in enumerate(card.inputs()):
        if isinstance(field, ScaleInput):
            values[field.name] = str(1 + min(4, public + (n + i) % 3 + (shift if i % 2 else 0)))
    values["open"] = "Plus de temps ensemble pour préparer les rencontres." if n % 2 else ""
    await engine.handle(FormSubmitted(who, card.form.action, card.form.context, values))


async def partnership(engine: Engine, clock: Clock, language: str) -> None:
    """Alex's team, six people in two sectors, two closed rounds and a third one open."""
    alex = actor(ALEX, "Alex Wilber", language)
    setup = {
        "name": "Partenaires Laval" if language == "fr" else "Laval partners",
        "language": language,
        "timezone": "America/Toronto",
        "checkin_weekday": "1",
        "checkin_hour": "10",
        "checkin_every_weeks": "2",
        "k": "3",
    }
    (form,) = await engine.handle(CommandReceived(alex, "setup", CHANNEL))
    assert form.form is not None
    await engine.handle(FormSubmitted(alex, "setup.save", form.form.context, setup, CHANNEL))
    async with engine.database.session() as session:
        channel = await teams.channel_at(session, "teams", TENANT, "team-id")
        assert channel is not None
        team = await teams.team_by_id(session, channel.team_id)
        assert team is not None
        slug = team.slug
    for user_ref, name, sector in PEOPLE:
        who = actor(user_ref, name, language)
        if user_ref != ALEX:
            await engine.handle(MemberJoined(actor=who, place=CHANNEL))
        position = "coordinator" if user_ref == ALEX else "front_line"
        await set_member(
            engine,
            user_ref,
            sector=sector,
            position=position,
            language=language,
            quiet_start=0,
            quiet_end=0,
        )
    await set_member(engine, ALEX, is_coordinator=True)
    for shift in (0, 1):
        await engine.jobs.run("checkin", slug)
        for n, (user_ref, name, _) in enumerate(PEOPLE):
            await answer_checkin(engine, actor(user_ref, name, language), n, shift)
        await engine.jobs.run("close", slug)
        clock.advance(days=14)
    await engine.jobs.run("checkin", slug)


@contextlib.asynccontextmanager
async def bot(language: str) -> AsyncIterator[tuple[str, Engine]]:
    """Passerelle on a loopback port, its Teams endpoint in local mode: its URL, its engine."""
    with tempfile.TemporaryDirectory(prefix="screens-teams-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'teams.db'}"
        database = Database(url)
        await migrate.upgrade(database)
        clock = Clock()
        engine = Engine(database, clock=clock)
        await partnership(engine, clock, language)
        settings = Settings(PASSERELLE_DATABASE_URL=url, PASSERELLE_SCHEDULER=False)
        async with on_loopback(build_app(settings, database, engine)) as base:
            yield f"{base}/api/messages", engine


async def ask(page: Page, text: str, expected: str) -> Locator:
    """Type `text`; the newest card containing `expected`, once one more than before shows.
    Other cards arrive too: the welcome sent when the page opens, and what the outbox had
    queued for Alex (the check-in round's own card, the closed rounds' summaries), which the
    bot delivers after a turn."""
    cards = page.locator(CARD).filter(has_text=expected)
    before = await cards.count()
    await send_message(page, text)
    await expect(cards.nth(before)).to_be_visible()
    return cards.last


async def photograph(page: Page, card: Locator, path: Path) -> Path:
    """The bot's message holding `card`, whole, as the Playground draws it: the window is made
    tall enough for the message to fit in the chat pane (it scrolls within the page)."""
    message = bot_messages(page).filter(has=card).last
    await expect(message).to_be_visible()
    box = await message.bounding_box()
    assert box is not None
    await page.set_viewport_size({"width": 1280, "height": max(1000, int(box["height"]) + 700)})
    await message.scroll_into_view_if_needed()
    await message.screenshot(path=str(path))
    await page.set_viewport_size({"width": 1280, "height": 1000})
    return path


async def write_tension(page: Page, language: str) -> Locator:
    """`tension`, a text typed, the theme the form proposes (its default), and the form's first
    button (the preview)."""
    form = await ask(page, "tension", "tension")
    await expect(form.locator("textarea, input[type=text]").first).to_be_visible()
    await form.locator("textarea, input[type=text]").first.fill(TENSION[language])
    await form.locator(".ac-actionSet button").first.click()  # an action, not the menu's
    preview = newest_card(page, "Avant d’envoyer" if language == "fr" else "Before you send")
    await expect(preview).to_contain_text(TENSION[language])
    return preview


async def views(page: Page, language: str, folder: Path) -> list[Path]:
    words = WORDS[language]
    written = []
    ballot = await ask(page, words["checkin"], "Bilan" if language == "fr" else "Check-in")
    await expect(ballot.get_by_role("radiogroup").first).to_be_visible()
    written.append(await photograph(page, ballot, folder / f"playground-checkin-{language}.png"))
    preview = await write_tension(page, language)
    written.append(
        await photograph(page, preview, folder / f"playground-tension-preview-{language}.png")
    )
    form = await ask(page, words["settings"], "Paramètres" if language == "fr" else "Settings")
    written.append(await photograph(page, form, folder / f"playground-settings-{language}.png"))
    return written


async def summary_view(page: Page, engine: Engine, language: str, folder: Path) -> Path:
    """Alex, no longer coordinating, reads summaries as the team's managers do."""
    await set_member(engine, ALEX, is_coordinator=False, position="manager", reads_summaries=True)
    title = "Sommaire" if language == "fr" else "Partnership summary"
    summary = await ask(page, WORDS[language]["summary"], title)
    return await photograph(page, summary, folder / f"playground-summary-{language}.png")


async def playground_screens(folder: Path) -> list[Path]:
    written: list[Path] = []
    for language in ("fr", "en"):
        async with (
            bot(language) as (endpoint, engine),
            run_playground(endpoint) as playground,
            playground_page(playground, timeout_ms=15_000) as page,
        ):
            written += await views(page, language, folder)
            try:
                written.append(await summary_view(page, engine, language, folder))
            except AssertionError:
                if TOO_LARGE not in playground.output():
                    raise
                # Its connector parses bodies with Express's default limit (100 kB); the
                # summary's activity, its chart a data: URL, is about 130 kB.
                print(
                    f"playground-summary-{language}.png not written: the Playground's "
                    f"connector refused the summary's activity ({TOO_LARGE}: request "
                    "entity too large)",
                    file=sys.stderr,
                )
    return written
