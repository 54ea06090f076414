"""A name the sandbox does not know (`?as=mallory`) is answered with a 400 page that says so, in
French and in English, and lists who one can act as; the sandbox used to show the first
person's page instead, so whatever one then did was done as Camille."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.demo import PERSONAS, seed
from bot.server import build_app
from bot.settings import Settings
from dialogs.engine import Engine
from dialogs.i18n import t

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[Client]:
    assert await seed(engine)
    app = build_app(Settings(PASSERELLE_SCHEDULER=False), engine.database, engine)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


def sections(page: str) -> dict[str, str]:
    """Each language's part of the page, by its lang attribute."""
    return dict(re.findall(r'<section lang="(\w+)">(.*?)</section>', page, re.S))


async def test_an_unknown_persona_is_a_400_in_both_languages_listing_the_people(
    client: Client,
) -> None:
    response = await client.get("/sandbox", params={"as": "mallory"})
    assert response.status == 400
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<html lang="fr">' in page
    parts = sections(page)
    assert list(parts) == ["fr", "en"]  # French first: no language was asked for
    for language, part in parts.items():
        assert html.escape(t(language, "sandbox.unknown_person", name="mallory")) in part
        assert html.escape(t(language, "sandbox.act_as")) in part
        for persona in PERSONAS:  # everyone, each a link to their page in that language
            link = f'href="/sandbox?as={persona.user_ref}&amp;lang={language}#conversation"'
            assert link in part and html.escape(persona.name) in part
    assert page.count("<h1>") == 1
    # Nobody's conversation is shown: not the first person's, as it used to be.
    assert 'id="conversation"' not in page and "Camille Tremblay avec" not in page


async def test_the_language_asked_for_comes_first(client: Client) -> None:
    response = await client.get("/sandbox", params={"as": "mallory", "lang": "en"})
    assert response.status == 400
    page = await response.text()
    assert '<html lang="en">' in page and list(sections(page)) == ["en", "fr"]


@pytest.mark.parametrize(
    "wanted",
    ["Camille", "camille ", "<script>x</script>", "é" * 5000, "\u0000", "../emilie"],
)
async def test_no_odd_name_acts_as_anyone_nor_fails(client: Client, wanted: str) -> None:
    """Case, spaces, markup, a 5,000-character name, a NUL: a 400 that shows the name escaped
    and cut short, never a 5xx, never a page acting as someone."""
    response = await client.get("/sandbox", params={"as": wanted})
    assert response.status == 400
    page = await response.text()
    assert "<script>x" not in page and len(page) < 20_000
    assert 'name="as"' not in page  # no form that would act as anybody


async def test_no_name_is_still_the_first_person_and_a_known_one_their_page(
    client: Client,
) -> None:
    home = await client.get("/sandbox")
    assert home.status == 200
    assert t("fr", "sandbox.conversation", name=PERSONAS[0].name) in html.unescape(
        await home.text()
    )
    empty = await client.get("/sandbox?as=")
    assert empty.status == 200
    sophie = await client.get("/sandbox", params={"as": "sophie"})
    assert sophie.status == 200
    assert t("fr", "sandbox.conversation", name="Sophie Gagnon") in html.unescape(
        await sophie.text()
    )


@pytest.mark.parametrize("path", ["/sandbox/submit", "/sandbox/command", "/sandbox/run"])
async def test_a_form_for_an_unknown_persona_is_the_same_400_and_does_nothing(
    client: Client, path: str
) -> None:
    data = {"as": "mallory", "action": "checkin.submit", "text": "aide", "job": "checkin"}
    response = await client.post(path, data=data)
    assert response.status == 400
    parts = sections(await response.text())
    assert list(parts) == ["fr", "en"]
    assert html.escape(t("en", "sandbox.unknown_person", name="mallory")) in parts["en"]
    # Nothing ran: the coordinator's first check-in opens now, for the nine people.
    opened = await client.post("/sandbox/run", data={"as": "emilie", "job": "checkin"})
    assert opened.status == 200
    assert re.search(r'role="status">[^<]*\b9\b', await opened.text())


@pytest.mark.parametrize(
    ("who", "lang", "title"),
    [
        ("emilie", "fr", "Conversation d’Émilie Côté avec Passerelle"),
        ("aisha", "fr", "Conversation d’Aïsha Koné avec Passerelle"),
        ("sophie", "fr", "Conversation de Sophie Gagnon avec Passerelle"),
        ("emilie", "en", "Émilie Côté’s conversation with Passerelle"),
    ],
)
async def test_each_page_is_titled_with_its_persona_as_french_writes_it(
    client: Client, who: str, lang: str, title: str
) -> None:
    """French elides "de" before a vowel: "d’Émilie", never "de Émilie"."""
    response = await client.get("/sandbox", params={"as": who, "lang": lang})
    assert response.status == 200
    assert f'<h2 id="conversation-title">{title}</h2>' in await response.text()
