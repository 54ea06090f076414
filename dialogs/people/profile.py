"""Onboarding and the member's profile: sector, position, language, zone, pause, quiet hours."""

from __future__ import annotations

from dialogs.cards import Card, ChoiceInput, Form, Paragraph, TextInput
from dialogs.forms import (
    FormError,
    choice,
    date_input,
    hours,
    language_choice,
    one_of,
    parse_date,
    parse_int,
    read_timezone,
    timezone_input,
)
from dialogs.i18n import LANGUAGES, Tr
from dialogs.turn import Turn
from storage.models import Member, Team

SECTORS = ("public", "community", "other")
POSITIONS = ("front_line", "manager", "coordinator")
# The value of the "— Choose —" option: what a person who has not chosen yet submits. Renderers
# show an empty-valued option as a placeholder (never as an answer), selected when nothing is.
NOT_CHOSEN = ""


def must_choose(tr: Tr, name: str, values: tuple[str, ...], saved: str | None) -> ChoiceInput:
    """A choice that counts in the sector comparison: the saved value pre-selected, or, for a
    person who has not chosen yet, "— Choose —" first and nothing chosen for them (a default
    would record everyone who just presses Save as public-network front line)."""
    options = [(v, tr(f"{name}.{v}")) for v in values]
    if saved in values:
        return choice(name, tr(f"profile.{name}"), options, saved)
    return choice(
        name, tr(f"profile.{name}"), [(NOT_CHOSEN, tr("profile.choose")), *options], NOT_CHOSEN
    )


def chosen(tr: Tr, values: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """The option picked for `name`; a clear error when none was (the placeholder sent back,
    or the field missing), before the generic one for a value that is no option."""
    raw = (values.get(name) or NOT_CHOSEN).strip()
    if raw == NOT_CHOSEN:
        raise FormError("profile.must_choose", field=tr(f"profile.{name}"))
    return one_of(raw, allowed, tr(f"profile.{name}"))


def profile_card(tr: Tr, team: Team, member: Member, *, welcome: bool = False) -> Card:
    blocks: list[Paragraph | TextInput] = []
    if welcome:
        blocks += [
            Paragraph(text=tr("welcome.intro", team=team.name)),
            Paragraph(text=tr("welcome.stored")),
            Paragraph(text=tr("welcome.never_stored")),
            Paragraph(text=tr("welcome.who_sees", k=team.k)),
            Paragraph(text=tr("welcome.clients")),
            Paragraph(text=tr("welcome.set_profile")),
        ]
    fields = [
        must_choose(tr, "sector", SECTORS, member.sector),
        must_choose(tr, "position", POSITIONS, member.position),
        language_choice(tr, tr("profile.language"), member.language or team.language),
        timezone_input(tr, member.timezone or team.timezone),
        date_input(
            "paused_until",
            tr("zones.paused_until"),
            member.paused_until.isoformat() if member.paused_until else "",
            required=False,
        ),
        choice(
            "quiet_start",
            tr("profile.quiet_start"),
            hours(tr),
            str(member.quiet_start if member.quiet_start is not None else team.quiet_start),
        ),
        choice(
            "quiet_end",
            tr("profile.quiet_end"),
            hours(tr),
            str(member.quiet_end if member.quiet_end is not None else team.quiet_end),
        ),
    ]
    return Card(
        title=tr("welcome.title" if welcome else "profile.title", team=team.name),
        blocks=[*blocks, *fields],
        form=Form(
            action="profile.save", submit_label=tr("common.save"), context={"team": team.slug}
        ),
    )


def apply_profile(turn: Turn, member: Member, values: dict[str, str]) -> None:
    """Validate everything before changing anything, so a bad field changes nothing."""
    tr = turn.tr
    sector = chosen(tr, values, "sector", SECTORS)
    position = chosen(tr, values, "position", POSITIONS)
    language = one_of(values.get("language"), LANGUAGES, tr("profile.language"))
    timezone = read_timezone(values.get("timezone"))
    paused = parse_date(values.get("paused_until"), tr("zones.paused_until"))
    if paused is not None and paused < turn.today:
        raise FormError("errors.past_date", field=tr("zones.paused_until"))
    quiet_start = parse_int(values.get("quiet_start"), 0, 23, tr("profile.quiet_start"))
    quiet_end = parse_int(values.get("quiet_end"), 0, 23, tr("profile.quiet_end"))
    member.sector, member.position, member.language = sector, position, language
    member.timezone, member.paused_until = timezone, paused
    member.quiet_start, member.quiet_end = quiet_start, quiet_end
    member.onboarded = True
