"""A platform is one package: the console (adapters/console), registered by one line in
bot/server.py's PLATFORMS, runs a command and forms through the engine, its setup onboards the
channel's roster (adapters/onboarding.py) and the outbox delivers to its people."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from adapters.console.console import BadLine, parse
from adapters.console.platform import CONSOLE
from bot.server import MOUNTS, PLATFORMS, WORKER, build_app
from bot.settings import Settings
from dialogs.engine import Engine
from dialogs.i18n import t
from storage.models import Member


def first_option(lines: list[str], name: str) -> str:
    """The first real value offered by the input `name` in a rendered card (not the empty
    "— choose —" placeholder)."""
    line = next(line for line in lines if line.startswith(f"[{name}]"))
    found = re.search(r"[(|] ?([^\s=|]+)=", line)
    assert found is not None, line
    return found.group(1)


async def test_a_console_team_is_set_up_onboarded_and_answered(engine: Engine) -> None:
    assert "adapters.console" in PLATFORMS
    settings = Settings(PASSERELLE_SCHEDULER=False)
    app = build_app(settings, engine.database, engine)
    console = app[CONSOLE]
    assert app[MOUNTS]["console"].sender is console
    assert app[WORKER].senders["console"] is console
    console.join("general", "ana", "bea")

    # A command in the channel: the setup form.
    shown = await console.line("ana #general: setup")
    assert shown[0] == f"== {t('fr', 'setup.title')}"
    assert shown[-1] == f"> {t('fr', 'setup.submit')}"

    # The form, submitted with its defaults and two values typed.
    shown = await console.line("ana #general: > name=Équipe console; k=3")
    assert shown[0] == f"== {t('fr', 'setup.done_title')}", shown
    async with engine.database.session() as session:
        people = (await session.scalars(select(Member).where(Member.platform == "console"))).all()
    assert sorted(m.user_ref for m in people) == ["ana", "bea"]
    # The roster was onboarded: bea's welcome (with her profile form) came by the outbox.
    welcome = console.received["bea"]
    assert any(line.startswith("[sector]") for line in welcome), welcome

    # bea answers the form that reached her through the outbox.
    sector, position = first_option(welcome, "sector"), first_option(welcome, "position")
    shown = await console.line(f"bea: > sector={sector}; position={position}")
    assert shown and not any("⚠" in line for line in shown), shown
    async with engine.database.session() as session:
        bea = await session.scalar(select(Member).where(Member.user_ref == "bea"))
    assert bea is not None and bea.onboarded and bea.sector == sector

    # A command in bea's own conversation.
    shown = await console.line("bea: aide")
    assert shown[0] == f"== {t('fr', 'help.title', team='Équipe console')}", shown


def test_lines_the_console_cannot_read() -> None:
    assert parse("ana #general: setup").channel == "general"
    assert parse("ana: > k=3").text == "> k=3"
    for line in ("no colon", ": nobody", "ana general: x"):
        with pytest.raises(BadLine):
            parse(line)
