"""Issue 12's first proof: a ritual added as one package plus one line of registration.

`dialogs/thanks/` lets a member thank a teammate. It is tried end to end through the sandbox
over HTTP (the page's own posts, the outbox delivering to the teammate's conversation), in
French and in English; its refusals lose nothing typed; and nothing outside its package
names it but the line in `dialogs.rituals.PACKAGES`.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.demo import DEMO_SLUG, seed
from bot.server import build_app
from bot.settings import Settings
from dialogs.commands import fold
from dialogs.engine import Engine, home
from dialogs.events import Actor, CommandReceived, FormSubmitted
from dialogs.i18n import catalogue, t
from dialogs.rituals import PACKAGES, registry
from storage import teams
from tests.helpers import actor, say, text_of
from tests.test_i18n import FRENCH_RULES, placeholders

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dialogs" / "thanks"
Client = TestClient[web.Request, web.Application]
MESSAGE = "Merci pour l’accompagnement de mardi, <@U123> tout s’est bien passé!"


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[Client]:
    assert await seed(engine)
    settings = Settings(**{"PASSERELLE_SCHEDULER": False})  # type: ignore[arg-type]
    app = build_app(settings, engine.database, engine)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        await page(test_client, "emilie")  # delivers the welcomes: the newest entries are ours
        yield test_client


async def page(client: Client, who: str) -> str:
    response = await client.get("/sandbox", params={"as": who})
    assert response.status == 200
    return await response.text()


async def post(client: Client, path: str, data: dict[str, str]) -> str:
    """Post as the page would, follow the redirect back to the page."""
    response = await client.post(path, data=data)
    assert response.status == 200, await response.text()
    assert response.history and response.history[0].status == 303
    return await response.text()


def newest_entry(text: str) -> str:
    log = text.split('id="conversation"', 1)[1]
    return log.split('<li class="entry', 1)[1].split("</li>", 1)[0]


def option_id(form: str, name: str) -> str:
    found = re.search(rf'<option value="(\d+)"[^>]*>{re.escape(html.escape(name))} — ', form)
    assert found is not None, name
    return found.group(1)


async def open_form(client: Client, who: str, word: str) -> str:
    form = newest_entry(await post(client, "/sandbox/command", {"as": who, "text": word}))
    assert 'value="thanks.send"' in form
    return form


def sent(who: str, member: str, message: str) -> dict[str, str]:
    data = {"as": who, "action": "thanks.send", "ctx.team": DEMO_SLUG}
    return data | {"member": member, "message": message}


# ----------------------------------------------------------------- end to end
@pytest.mark.parametrize(
    ("author", "word", "teammate", "author_name", "page_language", "their_language"),
    [
        ("camille", "merci", "nadia", "Camille Tremblay", "fr", "fr"),
        ("jonathan", "Thanks", "daniel", "Jonathan Roy", "en", "en"),
        ("sophie", "MERCI", "aisha", "Sophie Gagnon", "fr", "en"),  # each reads their own
    ],
)
async def test_a_thank_you_goes_from_the_form_to_the_teammate(
    client: Client,
    author: str,
    word: str,
    teammate: str,
    author_name: str,
    page_language: str,
    their_language: str,
) -> None:
    tr = catalogue(page_language)
    form = await open_form(client, author, word)
    assert html.escape(tr["thanks.title"]) in form
    assert html.escape(tr["thanks.member_label"]) in form
    # A choice of the other active members: never oneself.
    assert f">{html.escape(author_name)} — " not in form
    shown = re.findall(r"<option [^>]*>([^<]+?) — ", form)
    assert len(shown) == 8 and shown == sorted(shown, key=fold)  # Émilie among the e
    names = {"nadia": "Nadia Benali", "daniel": "Daniel Wong", "aisha": "Aïsha Koné"}
    member = option_id(form, names[teammate])

    done = newest_entry(await post(client, "/sandbox/submit", sent(author, member, MESSAGE)))
    assert html.escape(tr["thanks.sent_title"]) in done
    assert html.escape(t(page_language, "thanks.sent", name=names[teammate])) in done

    received = newest_entry(await page(client, teammate))
    title = t(their_language, "thanks.received_title", name=author_name)
    assert html.escape(title) in received
    # Their words, cleaned (no mention left to ping anyone) and escaped by the page.
    assert '<p class="user-text">Merci pour l’accompagnement de mardi, ‹@\u2060U123›' in received
    assert html.escape(t(their_language, "thanks.reply_button")) in received
    # Nobody else got it, and the team channel did not either.
    assert html.escape(title) not in await page(client, "luc")
    channel = (await page(client, teammate)).split('class="channel"', 1)[1]
    assert html.escape(title) not in channel


async def test_the_same_note_twice_goes_once(client: Client) -> None:
    member = option_id(await open_form(client, "camille", "merci"), "Luc Bergeron")
    await post(client, "/sandbox/submit", sent("camille", member, "Bravo pour la réunion"))
    again = newest_entry(
        await post(client, "/sandbox/submit", sent("camille", member, "Bravo pour la réunion"))
    )
    assert html.escape(t("fr", "thanks.duplicate", name="Luc Bergeron")) in again
    title = html.escape(t("fr", "thanks.received_title", name="Camille Tremblay"))
    assert (await page(client, "luc")).count(f">{title}</h3>") == 1


async def test_the_help_card_and_the_home_offer_it(engine: Engine) -> None:
    assert await seed(engine)
    assert t("fr", "help.cmd.thanks") in text_of(await say(engine, "camille", "aide"))
    assert t("en", "help.cmd.thanks") in text_of(await say(engine, "jonathan", "help"))
    buttons = (await home(engine, actor("camille"))).buttons
    thanks = [b for b in buttons if b.context.get("text") == "thanks"]
    assert [b.label for b in thanks] == [t("fr", "home.button.thanks")]
    cards = await engine.handle(FormSubmitted(actor("camille"), "command", thanks[0].context, {}))
    assert cards[0].form is not None and cards[0].form.action == "thanks.send"


# ----------------------------------------------------------------- refusals lose nothing
async def test_an_empty_message_is_refused_with_the_choice_kept(client: Client) -> None:
    member = option_id(await open_form(client, "camille", "merci"), "Nadia Benali")
    again = newest_entry(await post(client, "/sandbox/submit", sent("camille", member, " \n ")))
    assert 'class="warning" role="alert">⚠ ' + html.escape(t("fr", "thanks.empty")) in again
    assert f'<option value="{member}" selected>' in again
    assert 'value="thanks.send"' in again  # the form, again
    title = html.escape(t("fr", "thanks.received_title", name="Camille Tremblay"))
    assert title not in await page(client, "nadia")


async def test_someone_outside_the_team_cannot_be_thanked(client: Client, engine: Engine) -> None:
    async with engine.database.session() as session, session.begin():
        other = await teams.create_team(session, slug="autre", name="Autre", now=engine.clock())
        stranger = await teams.add_member(
            session, team_id=other.id, platform="sandbox", workspace="", user_ref="olivia"
        )
        outsider = str(stranger.id)
    form = await open_form(client, "camille", "merci")
    assert f'value="{outsider}"' not in form
    camille = await _member_id(engine, "camille")
    kept = "Un message que je ne veux pas retaper"
    for forged in (outsider, "999999", "not-a-number", "", camille):
        again = newest_entry(await post(client, "/sandbox/submit", sent("camille", forged, kept)))
        assert html.escape(t("fr", "thanks.unknown_member")) in again, forged
        assert f">{html.escape(kept)}</textarea>" in again, forged
    assert "vous remercie" not in await page(client, "olivia")


async def test_english_refusals_speak_english(client: Client) -> None:
    member = option_id(await open_form(client, "jonathan", "thanks"), "Daniel Wong")
    empty = newest_entry(await post(client, "/sandbox/submit", sent("jonathan", member, "")))
    assert html.escape(t("en", "thanks.empty")) in empty
    too_long = "x" * 501
    long = newest_entry(await post(client, "/sandbox/submit", sent("jonathan", member, too_long)))
    assert html.escape(t("en", "errors.too_long", limit=500, length=501)) in long
    assert f">{too_long}</textarea>" in long


async def test_someone_in_no_team_is_told_so(engine: Engine) -> None:
    assert await seed(engine)
    nobody = Actor("sandbox", "", "visitor", "Visiteur", None, "fr")
    helped = text_of(await engine.handle(CommandReceived(nobody, "merci", None)))
    assert t("fr", "help.not_member") in helped
    nadia = await _member_id(engine, "nadia")
    values = {"member": nadia, "message": "Bonjour"}
    refused = await engine.handle(FormSubmitted(nobody, "thanks.send", {"team": "demo"}, values))
    assert text_of(refused) == "\n".join(
        [t("fr", "errors.refused_title"), t("fr", "errors.not_member")]
    )


async def test_nobody_to_thank_and_a_teammate_out_of_reach_are_said(engine: Engine) -> None:
    assert await seed(engine)
    async with engine.database.session() as session, session.begin():
        solo = await teams.create_team(session, slug="solo", name="Solo", now=engine.clock())
        await teams.add_member(
            session, team_id=solo.id, platform="sandbox", workspace="", user_ref="olivia"
        )
        demo = await teams.team_by_slug(session, DEMO_SLUG)
        assert demo is not None
        nadia = await teams.member_in(session, demo.id, "sandbox", "", "nadia")
        assert nadia is not None
        nadia.unreachable = True
    alone = Actor("sandbox", "", "olivia", "Olivia", None, "fr")
    card = (await engine.handle(CommandReceived(alone, "merci", None)))[0]
    assert card.form is None and text_of([card]).endswith(t("fr", "thanks.nobody"))
    values = {"member": str(nadia.id), "message": "Merci!"}
    cards = await engine.handle(FormSubmitted(actor("camille"), "thanks.send", {}, values))
    assert text_of(cards).endswith(t("fr", "thanks.unreachable", name="Nadia Benali"))


async def _member_id(engine: Engine, user_ref: str) -> str:
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, DEMO_SLUG)
        assert team is not None
        member = await teams.member_in(session, team.id, "sandbox", "", user_ref)
        assert member is not None
        return str(member.id)


# ----------------------------------------------------------------- one package, one line
SOURCES = ("bot", "dialogs", "adapters", "storage")


def test_nothing_outside_the_package_names_it_but_its_registration() -> None:
    naming = re.compile(r"dialogs[./]thanks\b|from dialogs import [^\n]*\bthanks\b|thanks\.send")
    found = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or PACKAGE in path.parents or "__pycache__" in path.parts:
                continue
            if path.suffix not in {".py", ".yml", ".yaml", ".toml", ".ini", ".json", ".html"}:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if naming.search(line):
                    found.append((path.relative_to(ROOT).as_posix(), number, line.strip()))
    assert [(where, line) for where, _, line in found] == [
        ("dialogs/rituals.py", '"dialogs.thanks",')
    ]
    assert PACKAGES[-1] == "dialogs.thanks"


def test_the_engine_finds_it_through_the_registry_only() -> None:
    from dialogs.thanks import RITUAL, handlers

    rituals = registry()
    assert rituals.owner["thanks"] is RITUAL and rituals.owner["thanks.send"] is RITUAL
    assert rituals.command("merci") is rituals.command("thanks") is RITUAL.commands[0]
    assert rituals.actions["thanks.send"].run is handlers.send
    assert [e.key for e in rituals.entries("member")][-1] == "thanks"
    assert not RITUAL.jobs  # no job, no table, no migration: nothing in storage names it
    written = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.*"))
    written = [p for p in written if "__pycache__" not in p]
    assert written == [
        "__init__.py",
        "handlers.py",
        "locales/en.yml",
        "locales/fr.yml",
        "note.py",
    ]


def test_it_imports_no_other_ritual() -> None:
    """It stands on the engine's shared modules and storage's ground floor only."""
    others = [name for name in PACKAGES if name != "dialogs.thanks"]
    imported = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
    assert not [m for m in imported for o in others if m == o or m.startswith(f"{o}.")]
    assert not [m for m in imported if m.split(".")[0] in {"adapters", "bot"}]


def test_its_strings_match_in_both_languages_and_keep_french_spaces() -> None:
    registry()  # its strings are in the catalogue once the registry has loaded it
    texts = {
        language: yaml.safe_load((PACKAGE / "locales" / f"{language}.yml").read_text("utf-8"))
        for language in ("fr", "en")
    }
    assert texts["fr"].keys() == texts["en"].keys()
    fr, en = catalogue("fr"), catalogue("en")
    keys = [k for k in fr if k.startswith("thanks.")] + ["help.cmd.thanks", "home.button.thanks"]
    assert len(keys) > 10
    for key in keys:
        assert placeholders(fr[key]) == placeholders(en[key]), key
        assert not [rule for rule, found in FRENCH_RULES.items() if found.search(fr[key])], key
