"""The welcome card asks for a sector and a position and chooses none for the person (issue
13): pressing Save without choosing is refused clearly, the form coming back with what was
typed; a saved profile shows its values pre-selected. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from adapters.sandbox.render import CardView, card_html
from adapters.slack import blocks as slack_blocks
from adapters.teams.cards import adaptive_card
from bot.demo import DEMO_CHANNEL
from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card, ChoiceInput, TextInput
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, MemberJoined
from dialogs.i18n import Tr
from storage import teams
from tests.conftest import RecordingSender
from tests.helpers import lead, say, seeded, submit_card

NEWCOMER = Actor("sandbox", "", "yves", "Yves", None, "en-US")
REAL = {"sector": ("public", "community", "other"), "position": ("front_line", "manager")}


def choices(card: Card) -> dict[str, ChoiceInput]:
    return {b.name: b for b in card.blocks if isinstance(b, ChoiceInput)}


def as_if_saved_untouched(card: Card) -> dict[str, str]:
    """What a person submits who only presses Save: every field as the card offers it."""
    return {
        b.name: b.default or ""
        for b in card.blocks
        if isinstance(b, ChoiceInput | TextInput) and b.name
    }


def preselected_everywhere(card: Card, name: str) -> set[str]:
    """The value `name` starts with on Slack, Teams and in the sandbox ('' = nothing real)."""
    found: set[str] = set()
    assert card.form is not None
    view = slack_blocks.modal_view(card, private_metadata="x")
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == name)
    found.add(element.get("initial_option", {}).get("value", ""))
    teams_body = adaptive_card(card)["body"]
    choice_set = next(e for e in teams_body if e.get("id") == name)
    found.add(choice_set.get("value", ""))
    html = card_html(card, number=1, view=CardView("yves", Tr("en")))
    select = re.search(rf'<select [^>]*name="{name}"[^>]*>(.*?)</select>', html)
    assert select is not None, html
    selected = re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select.group(1))
    # With no option marked, a browser shows the first one: that is what the person sees.
    first = re.search(r'<option value="([^"]*)"', select.group(1))
    assert first is not None
    found.add(selected[0] if selected else first.group(1))
    return found


async def test_a_newcomer_must_choose_and_keeps_what_they_typed(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    await engine.handle(MemberJoined(NEWCOMER, DEMO_CHANNEL))
    await worker.drain()
    welcome = sender.to("yves")[-1].card
    assert welcome.title.startswith("Welcome to Passerelle")
    offered = choices(welcome)
    for name in ("sector", "position"):
        first = offered[name].options[0]
        assert (first.value, first.label) == ("", "— Choose —")
        assert offered[name].default in ("", None)
        assert {o.value for o in offered[name].options[1:]} >= set(REAL[name])
        assert preselected_everywhere(welcome, name) == {""}, name

    # Only pressing Save: refused, the reason first, nothing recorded.
    values = as_if_saved_untouched(welcome) | {"timezone": "America/Vancouver"}
    again = (await engine.handle(FormSubmitted(NEWCOMER, "profile.save", {}, values)))[0]
    assert lead(again).startswith("⚠") and "Sector" in lead(again)
    assert "pick an option" in lead(again)
    kept = {b.name: b.default for b in again.blocks if isinstance(b, ChoiceInput | TextInput)}
    assert kept["timezone"] == "America/Vancouver" and kept["sector"] == ""
    assert choices(again)["sector"].options[0].value == ""  # still "— Choose —" first
    async with engine.database.session() as session:
        member = await teams.member_in(session, 1, "sandbox", "", "yves")
        assert member is not None
        assert (member.sector, member.position, member.onboarded) == (None, None, False)

    # A sector but no position: the position is what is asked for now.
    values["sector"] = "community"
    again = (await engine.handle(FormSubmitted(NEWCOMER, "profile.save", {}, values)))[0]
    assert "Position" in lead(again) and "Sector" not in lead(again)
    assert choices(again)["sector"].default == "community"

    values["position"] = "manager"
    saved = await engine.handle(FormSubmitted(NEWCOMER, "profile.save", {}, values))
    assert "⚠" not in lead(saved[0]) and saved[0].title == "Profile saved"
    async with engine.database.session() as session:
        member = await teams.member_in(session, 1, "sandbox", "", "yves")
        assert member is not None
        assert (member.sector, member.position, member.timezone) == (
            "community",
            "manager",
            "America/Vancouver",
        )

    # Their profile now shows what they chose, pre-selected on every platform, no placeholder.
    profile = (await engine.handle(CommandReceived(NEWCOMER, "profile", None)))[0]
    offered = choices(profile)
    assert offered["sector"].default == "community" and offered["position"].default == "manager"
    assert all(o.value for o in offered["sector"].options)
    assert preselected_everywhere(profile, "sector") == {"community"}
    assert preselected_everywhere(profile, "position") == {"manager"}


async def test_a_saved_profile_is_shown_as_saved_in_french(engine: Engine) -> None:
    await seeded(engine)
    card = (await say(engine, "nadia", "profil"))[0]
    offered = choices(card)
    async with engine.database.session() as session:
        nadia = await teams.member_in(session, 1, "sandbox", "", "nadia")
        assert nadia is not None and nadia.sector and nadia.position
    assert offered["sector"].default == nadia.sector
    assert offered["position"].default == nadia.position
    # Submitted unchanged, it keeps them (and a forged empty choice is refused in French).
    unchanged = as_if_saved_untouched(card)
    assert "⚠" not in lead((await submit_card(engine, "nadia", card, unchanged))[0])
    forged = (await submit_card(engine, "nadia", card, unchanged | {"position": ""}))[0]
    assert "choisissez une option" in lead(forged) and "Poste" in lead(forged)
