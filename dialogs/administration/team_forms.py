"""Coordinator forms: set a team up in a channel, its settings and its calendar."""

from __future__ import annotations

import datetime as dt
import hmac
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.administration.team_settings import TeamSettings, TeamSetup
from dialogs.cards import Block, Button, Card, Form, Paragraph, TextInput, notice
from dialogs.events import Actor, Place
from dialogs.forms import FormError, language_choice, line_input, number_input, timezone_input
from dialogs.i18n import Tr, language_of
from dialogs.rituals import registry
from dialogs.team_fields import TeamForm, bounds, read_form, read_groups
from dialogs.texts import clean
from dialogs.zones import city_of
from storage import teams
from storage.models import Member, Team
from storage.sealing import Sealer


def _k_input(tr: Tr, default: str) -> TextInput:
    """The team's anonymity threshold, asked at setup and in the settings: a number field
    within the model's bounds, its label saying in words what the number does."""
    low, high = bounds(TeamSettings, "k")
    return number_input("k", tr("settings.k_label"), low, high, default)


def _rituals_inputs(tr: Tr, team: Team | None, form: TeamForm) -> list[Block]:
    """The rituals' fields in `form`, in the rituals' order."""
    return [block for g in registry().field_groups(form) for block in g.inputs(tr, team)]


SETUP_TAG_HEX = 32


def setup_tag(sealer: Sealer, actor: Actor, place: Place) -> str:
    """Binds a setup card to the person who asked for it in this channel: a keyed hash, as
    the card's context is client data (Teams `data`, Slack `private_metadata`) and could name
    anyone; without the server's key nobody can make the tag for someone else."""
    parts = (actor.platform, actor.workspace, actor.user_ref, place.channel_ref)
    return sealer.tag("setup card", *parts)[:SETUP_TAG_HEX]


def setup_requested_by(sealer: Sealer, actor: Actor, place: Place, context: dict[str, str]) -> bool:
    """Whether `actor` is who asked for the setup card submitted in `place`."""
    given = context.get("by") or ""
    expected = setup_tag(sealer, actor, place)
    return context.get("channel") == place.channel_ref and hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode()
    )


def setup_card(tr: Tr, place: Place, actor: Actor, sealer: Sealer) -> Card:
    return Card(
        title=tr("setup.title"),
        blocks=[
            # Never a raw id ("19:8f2c…@thread.tacv2") where the platform gave no name.
            Paragraph(
                text=tr("setup.intro", channel=place.name)
                if place.name
                else tr("setup.intro_unnamed")
            ),
            Paragraph(text=tr("setup.readers")),
            line_input("name", tr("setup.name_label"), 120, place.name),
            language_choice(tr, tr("profile.language"), tr.language),
            timezone_input(tr, "America/Toronto"),
            _k_input(tr, "5"),
            *_rituals_inputs(tr, None, "setup"),
        ],
        form=Form(
            action="setup.save",
            submit_label=tr("setup.submit"),
            context={"channel": place.channel_ref, "by": setup_tag(sealer, actor, place)},
        ),
    )


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48] or "team"


async def create_team(
    session: AsyncSession,
    actor: Actor,
    place: Place,
    values: dict[str, str],
    tr: Tr,
    now: dt.datetime,
) -> tuple[Team, Member]:
    name = clean(values.get("name"), max_length=120)
    setup = read_setup(values, tr)
    if await teams.channel_at(session, place.platform, place.workspace, place.channel_ref):
        raise FormError("errors.already_linked")
    team = await teams.create_team(
        session,
        slug=await teams.unique_slug(session, slugify(name)),
        name=name,
        now=now,
        **setup,
    )
    await teams.link_channel(
        session, team, place.platform, place.workspace, place.channel_ref, place.name
    )
    coordinator = Member(
        team_id=team.id,
        platform=actor.platform,
        workspace=actor.workspace,
        user_ref=actor.user_ref,
        display_name=actor.display_name,
        position="coordinator",
        language=language_of(actor.locale, setup["language"]),
        timezone=actor.timezone or setup["timezone"],
        is_coordinator=True,
        active=True,
        onboarded=False,
    )
    session.add(coordinator)
    await session.flush()
    return team, coordinator


def settings_card(tr: Tr, team: Team) -> Card:
    return Card(
        title=tr("settings.title", team=team.name),
        blocks=[
            Paragraph(text=tr("settings.intro")),
            _k_input(tr, str(team.k)),
            language_choice(tr, tr("settings.language"), team.language),
            timezone_input(tr, team.timezone),
            *_rituals_inputs(tr, team, "settings"),
        ],
        form=Form(
            action="settings.save", submit_label=tr("common.save"), context={"team": team.slug}
        ),
        buttons=[
            Button(
                label=tr("readers.list_button"),
                action="command",
                context={"team": team.slug, "text": "readers"},
            ),
            Button(label=tr("link.button"), action="setup.link_code", context={"team": team.slug}),
        ],
    )


def apply_settings(team: Team, values: Mapping[str, str | None], tr: Tr) -> None:
    # Absent from a form sent before this setting existed: kept as it is.
    values = {**values, "summary_readers": values.get("summary_readers") or team.summary_readers}
    for name, value in read_settings(values, tr).items():
        setattr(team, name, value)


async def announce_changes(
    session: AsyncSession, team: Team, before: tuple[int, str], now: dt.datetime
) -> int:
    """Post to the team's channels, in the team's language, what changed of its promises: the
    smallest group shown (k) and who reads the summaries. Returns how many posts were queued."""
    tr = Tr(team.language)
    old_k, old_readers = before
    texts = []
    if team.k != old_k:
        texts.append(tr("settings.k_changed", team=team.name, k=team.k, old=old_k))
    if team.summary_readers != old_readers:
        rule = tr(f"readers.rule.{team.summary_readers}")
        texts.append(tr("settings.readers_changed", team=team.name, rule=rule))
    if not texts:
        return 0
    title = tr("settings.k_changed_title" if team.k != old_k else "settings.readers_changed_title")
    key = f"settings-changed:{team.id}:{old_k}-{team.k}:{old_readers}-{team.summary_readers}"
    return await outbound.to_channels(
        session, team, notice(title, *texts), key=f"{key}:{now.isoformat()}", now=now
    )


def schedule_card(tr: Tr, team: Team) -> Card:
    return Card(
        title=tr("schedule.title", team=team.name),
        blocks=[
            Paragraph(text=tr("schedule.intro", zone=city_of(team.timezone, tr.language))),
            *_rituals_inputs(tr, team, "schedule"),
        ],
        form=Form(
            action="schedule.save", submit_label=tr("common.save"), context={"team": team.slug}
        ),
    )


def apply_schedule(team: Team, values: Mapping[str, str | None], tr: Tr) -> None:
    for name, value in read_schedule(values, tr).items():
        setattr(team, name, value)


# Each form's values, read in the order its card asks them: the first wrong field is reported.
def read_setup(values: Mapping[str, str | None], tr: Tr) -> dict[str, Any]:
    setup = read_form(TeamSetup, values, tr).model_dump()
    return setup | read_groups(registry().field_groups("setup"), values, tr)


def read_settings(values: Mapping[str, str | None], tr: Tr) -> dict[str, Any]:
    settings = read_form(TeamSettings, values, tr).model_dump()
    return settings | read_groups(registry().field_groups("settings"), values, tr)


def read_schedule(values: Mapping[str, str | None], tr: Tr) -> dict[str, Any]:
    return read_groups(registry().field_groups("schedule"), values, tr)
