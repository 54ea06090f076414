"""The sandbox over HTTP: the page, its forms, its refusals, and the server around it."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.demo import PERSONAS, seed
from bot.outbox_worker import OutboxWorker
from bot.server import build_app
from bot.settings import Settings
from dialogs.cards import ScaleInput
from dialogs.engine import Engine
from dialogs.i18n import t
from tests.conftest import RecordingSender
from tests.helpers import scale_names, submit_card

SCRIPT = "<script>alert(1)</script>"


def settings(**env: object) -> Settings:
    return Settings(**{"PASSERELLE_SCHEDULER": False, **env})  # type: ignore[arg-type]


def found(pattern: str, page: str) -> str:
    """The first group of ``pattern``'s first match in the page, which must be there."""
    match = re.search(pattern, page)
    assert match is not None, pattern
    return match[1]


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    assert await seed(engine)
    app = build_app(settings(), engine.database, engine)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def page(
    client: TestClient[web.Request, web.Application], who: str = "", **query: str
) -> str:
    params = {"as": who, **query} if who else query
    response = await client.get("/sandbox", params=params)
    assert response.status == 200
    return await response.text()


async def post(
    client: TestClient[web.Request, web.Application], path: str, data: dict[str, str]
) -> str:
    """Post as the page would, follow the redirect back to the page."""
    response = await client.post(path, data=data)
    assert response.status == 200, await response.text()
    assert response.history and response.history[0].status == 303
    return await response.text()


async def run(
    client: TestClient[web.Request, web.Application], job: str, who: str = "emilie"
) -> str:
    return await post(client, "/sandbox/run", {"as": who, "job": job})


def newest_entry(text: str, section: str = "conversation") -> str:
    """The first (newest) entry of a section's log."""
    log = text.split(f'id="{section}"', 1)[1]
    return log.split('<li class="entry', 1)[1].split("</li>", 1)[0]


# ----------------------------------------------------------------- the page
async def test_page_lists_the_people_in_french_by_default(
    client: TestClient[web.Request, web.Application],
) -> None:
    text = await page(client)
    assert '<html lang="fr">' in text
    for persona in PERSONAS:
        assert html.escape(persona.name) in text
    assert text.count('aria-current="page"') == 1
    assert "Personnes de l’équipe" in text and "Canal de l’équipe « equipe-mixte »" in text
    # Only the coordinator sees the jobs form; the others are pointed to her.
    assert 'action="/sandbox/run"' not in text
    assert 'action="/sandbox/run"' in await page(client, "emilie")


async def test_page_switches_to_english(client: TestClient[web.Request, web.Application]) -> None:
    text = await page(client, "camille", lang="en")
    assert '<html lang="en">' in text
    assert "People in the team" in text and "Français" in text
    # Camille's cards stay in her language, and say so to screen readers.
    assert 'class="card" id="m1" aria-labelledby="m1-title" lang="fr"' in text
    # Every link keeps the chosen language; a persona who speaks English gets it by default.
    assert "lang=en" in text.split('class="people"', 1)[1].split("</ul>", 1)[0]
    assert '<html lang="en">' in await page(client, "jonathan")
    assert '<html lang="fr">' in await page(client, "jonathan", lang="fr")
    assert '<html lang="en">' in await page(client, "jonathan", lang="xx")  # ignored


async def test_each_person_sees_their_own_conversation(
    client: TestClient[web.Request, web.Application],
) -> None:
    after = await post(client, "/sandbox/command", {"as": "camille", "text": "aide"})
    assert '<li class="entry new"><p class="meta">' in after
    assert "<strong>Vous :</strong> aide</p>" in after
    assert "Vous :</strong> aide" not in await page(client, "sophie")
    # The newest entries are marked, and times are in the persona's own zone.
    assert 'class="entry new"' in after and "Nouveau" in after
    assert "mardi 10\u00a0h\u00a000" in after  # 15:00 UTC in Toronto
    assert "Tuesday 7:00" in await page(client, "daniel")  # in Vancouver
    assert 'class="entry new"' not in await page(client, "camille")


async def test_user_text_is_escaped_in_the_channel(
    client: TestClient[web.Request, web.Application],
) -> None:
    draft = {"as": "sophie", "ctx.team": "demo", "ctx.prompt": ""}
    preview = await post(
        client,
        "/sandbox/submit",
        {**draft, "action": "tension.preview", "text": f"Ça bloque {SCRIPT}", "theme": "other"},
    )
    assert SCRIPT not in preview and html.escape(SCRIPT) in preview
    # The confirm button carries the draft in its hidden fields, escaped too.
    confirm = preview.split('value="tension.confirm"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'name="(ctx\.[a-z]+)" value="([^"]*)"', confirm))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    assert fields["ctx.text"] == f"Ça bloque {SCRIPT}"
    sent = await post(
        client, "/sandbox/submit", {"as": "sophie", "action": "tension.confirm", **fields}
    )
    assert "Tension reçue" in sent
    channel = await run(client, "batch")
    assert "Publier le lot" in channel and "1 élément publié" in channel
    shown = channel.split('class="channel"', 1)[1]
    assert html.escape(SCRIPT) in shown and SCRIPT not in channel


# ----------------------------------------------------------------- refusals lose nothing
async def test_submit_without_action_is_a_readable_400(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/sandbox/submit", data={"as": "camille", "text": "garde-moi"})
    assert response.status == 400
    assert response.content_type == "text/html"
    text = await response.text()
    assert t("fr", "sandbox.error_no_action") in text
    assert 'href="/sandbox?as=camille#conversation"' in text  # a way back
    assert '<html lang="fr">' in text
    english = await client.post("/sandbox/submit", data={"as": "jonathan"})
    assert english.status == 400
    assert t("en", "sandbox.error_no_action") in await english.text()


async def test_only_the_coordinator_runs_jobs(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/sandbox/run", data={"as": "camille", "job": "checkin"})
    assert response.status == 403
    assert t("fr", "sandbox.error_coordinators_only") in await response.text()
    # Nothing ran: the coordinator can still open the first round, and lands on the result.
    opened = await client.post("/sandbox/run", data={"as": "emilie", "job": "checkin"})
    assert opened.history[0].headers["Location"].endswith("#status")
    text = await opened.text()
    assert '<p class="flash" id="status" role="status">Ouvrir un bilan — Bilan ouvert : 9' in text


@pytest.mark.parametrize("job", ["nope", "", "<b>checkin</b>"])
async def test_an_unknown_job_is_a_400_not_a_500(
    client: TestClient[web.Request, web.Application], job: str
) -> None:
    response = await client.post("/sandbox/run", data={"as": "emilie", "job": job})
    assert response.status == 400
    text = await response.text()
    assert t("fr", "sandbox.error_unknown_job", job=html.escape(job)) in text
    assert "<b>checkin</b>" not in text


async def test_a_missing_scale_answer_keeps_what_was_typed(
    client: TestClient[web.Request, web.Application],
) -> None:
    await run(client, "checkin")
    ballot = await page(client, "camille")
    round_id = re.search(r'name="ctx.round" value="(\d+)"', ballot)
    assert round_id is not None
    items = list(dict.fromkeys(re.findall(r'name="(item:[^"]+)"', ballot)))
    assert 4 <= len(items) <= 6
    answered = {name: "4" for name in items[:-1]}  # the last one left unanswered
    data = {"as": "camille", "action": "checkin.submit", "ctx.team": "demo"}
    data |= {"ctx.round": round_id.group(1), "open": "Plus de temps ensemble", **answered}
    again = newest_entry(await post(client, "/sandbox/submit", data))
    assert 'class="warning" role="alert"' in again and "Choisissez une réponse" in again
    assert ">Plus de temps ensemble</textarea>" in again
    for name in items[:-1]:
        assert f'name="{name}" value="4" checked' in again
    assert f'name="{items[-1]}" value="4" checked' not in again
    # Nothing was recorded: the full answer still goes through, once.
    done = await post(client, "/sandbox/submit", {**data, items[-1]: "skip"})
    assert "Merci\u00a0!" in newest_entry(done)


# ----------------------------------------------------------------- the server around it
async def test_the_sandbox_is_not_served_off_loopback(engine: Engine) -> None:
    assert await seed(engine)
    app = build_app(settings(PASSERELLE_HOST="0.0.0.0"), engine.database, engine)
    async with TestClient(TestServer(app, host="127.0.0.1")) as off:
        assert (await off.get("/sandbox")).status == 404
        assert (await off.get("/", allow_redirects=False)).status == 404
        assert (await off.post("/sandbox/run", data={"as": "emilie", "job": "batch"})).status == 404
        assert (await off.get("/healthz")).status == 200


async def test_healthz_and_metrics(client: TestClient[web.Request, web.Application]) -> None:
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json()) == {"status": "ok"}
    before = await (await client.get("/metrics")).text()
    assert 'passerelle_outbox_messages{status="pending"} 9' in before  # the welcomes
    await page(client)  # showing the page delivers what is due
    metrics = await client.get("/metrics")
    assert metrics.content_type == "text/plain"
    text = await metrics.text()
    assert "# TYPE passerelle_outbox_messages gauge" in text
    assert 'passerelle_outbox_messages{status="sent"} 9' in text
    assert "passerelle_teams 1" in text
    assert "Camille" not in text


# ----------------------------------------------------------------- an engine gap, recorded
async def test_engine_keeps_chosen_scale_values_on_a_rejected_ballot(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    assert await seed(engine)
    await engine.jobs.run("checkin", "demo")
    await worker.drain()
    card = sender.to("camille")[-1].card
    items = scale_names(card)
    values = {name: "4" for name in items[:-1]}
    rejected = (await submit_card(engine, "camille", card, values))[0]
    assert "⚠" in rejected.blocks[0].text  # type: ignore[union-attr]
    kept = {
        b.name: getattr(b, "default", None) for b in rejected.blocks if isinstance(b, ScaleInput)
    }
    assert kept == {**values, items[-1]: None}


async def test_checkin_now_as_a_command_says_how_many_were_asked(
    client: TestClient[web.Request, web.Application],
) -> None:
    after = await post(client, "/sandbox/command", {"as": "emilie", "text": "bilan maintenant"})
    assert "Bilan nᵒ 1" in after  # the round did open (her own card arrived)...
    reply = after.split(">Fait</h3>", 1)[1].split("</article>", 1)[0]
    assert "{count}" not in reply and "9 personnes sollicitées" in reply  # not "{count}"


async def test_summary_shows_its_chart_and_the_coordinator_can_download_the_csv(
    client: TestClient[web.Request, web.Application], engine: Engine
) -> None:
    await run(client, "checkin")
    for who in ("camille", "sophie", "luc"):
        text = await page(client, who)
        card_form = text.split('action="/sandbox/submit"', 1)[1].split("</form>", 1)[0]
        items = sorted(set(re.findall(r'name="(item:[^"]+)"', card_form)))
        data = {
            "as": who,
            "action": "checkin.submit",
            "ctx.team": "demo",
            "ctx.round": found(r'name="ctx.round" value="(\d+)"', card_form),
        }
        await post(client, "/sandbox/submit", data | {name: "4" for name in items})
    await run(client, "close")
    summary = newest_entry(await page(client, "nadia"))
    assert '<img src="data:image/png;base64,' in summary
    alt = found(r'<img [^>]*alt="([^"]+)"', summary)
    assert "Graphique" in alt
    text = await post(client, "/sandbox/command", {"as": "emilie", "text": "sommaire csv"})
    export = newest_entry(text)
    assert 'href="data:text/csv;base64,' in export and 'download="passerelle-demo.csv"' in export


def test_the_sandbox_is_off_by_default_once_a_platform_is_configured() -> None:
    assert settings().sandbox_wanted
    slack = settings(SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-1")
    assert not slack.sandbox_wanted
    assert settings(SLACK_SIGNING_SECRET="s", PASSERELLE_SANDBOX=True).sandbox_wanted
    assert not settings(PASSERELLE_SANDBOX=False).sandbox_wanted
