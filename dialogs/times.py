"""How a moment is shown to a person: in their own time zone (theirs, else their team's), with
the zone's abbreviation as their language writes it.

The one place that turns an instant into words: a check-in's deadline, a tension's
publication, a meeting. A member in Vancouver reads Vancouver time, in French « HNP ».
It does not import `dialogs.i18n` (the translator is passed in), so the catalogue may use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

from dialogs.calendar import zone
from storage.models import Member, Team

# The Office québécois de la langue française's abbreviations for the North American zones
# (heure normale / heure avancée). Where French has none, the UTC offset is shown instead.
FRENCH_ABBREVIATIONS = {
    "NST": "HNT",
    "NDT": "HAT",
    "AST": "HNA",
    "ADT": "HAA",
    "EST": "HNE",
    "EDT": "HAE",
    "CST": "HNC",
    "CDT": "HAC",
    "MST": "HNR",
    "MDT": "HAR",
    "PST": "HNP",
    "PDT": "HAP",
    "UTC": "UTC",
}
MINUS = "\u2212"  # the minus sign, not a hyphen: « UTC−8 »


class Words(Protocol):
    """A translator bound to one language (`dialogs.i18n.Tr`)."""

    language: str

    def __call__(self, key: str, **params: object) -> str: ...


def zone_of(team: Team, member: Member | None = None) -> ZoneInfo:
    """The zone a person reads times in: their own, else their team's."""
    if member is not None:
        return zone(member.timezone, team.timezone)
    return zone(team.timezone)


def offset_label(moment: dt.datetime) -> str:
    """« UTC−8 », « UTC+5:30 », « UTC »: the offset of an aware moment from UTC."""
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else MINUS
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(language: str, moment: dt.datetime) -> str:
    """The abbreviation of `moment`'s zone at that moment, in `language`: HNE/HAE, HNP/HAP… in
    French, EST/EDT, PST/PDT… in English; the UTC offset where the language has no letters
    for it (French for Europe's zones; a zone whose database name is only an offset)."""
    name = moment.tzname() or ""
    if language == "fr":
        return FRENCH_ABBREVIATIONS.get(name) or offset_label(moment)
    return name if name.isalpha() else offset_label(moment)


def local(when: dt.datetime, team: Team, member: Member | None = None) -> dt.datetime:
    """`when` on the wall clock of the person who reads it."""
    return when.astimezone(zone_of(team, member))


def shown(tr: Words, when: dt.datetime, team: Team, member: Member | None = None) -> str:
    """`when` as the person reads it: their zone, their words, their zone's abbreviation
    (« mardi 24 novembre 2026 à 7 h 00 (HNP) »)."""
    moment = local(when, team, member)
    return tr(
        "common.moment",
        weekday=tr(f"weekday.{moment.weekday()}"),
        day=moment.day,
        month=tr(f"month.{moment.month}"),
        year=moment.year,
        hour=moment.hour,
        minute=f"{moment.minute:02d}",
        zone=zone_label(tr.language, moment),
    )
