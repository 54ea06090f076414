"""Time zones as people name them: a city, grouped by region, instead of an IANA name.

Forms offer `zone_choice`, a menu of cities (Canada first, then the partners' regions); its
values are IANA names, which is what a team and a member store. `resolve` reads what came
back, or what someone typed in a console or an old card: an IANA name as it is, a city of the
list in French or English, with or without accents ("Montreal", "montréal", "Bruxelles",
"Brussels"). Any stored zone that is not in the list is offered first, selected, so that
saving a form never changes a zone nobody touched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from dialogs.calendar import is_zone
from dialogs.cards import ChoiceInput, Option
from dialogs.i18n import Tr


@dataclass(frozen=True)
class City:
    """One entry of the menu: the cities it names, in French and in English, and its zone."""

    fr: str
    en: str
    zone: str

    def name(self, language: str) -> str:
        return self.fr if language == "fr" else self.en


def _cities(*rows: tuple[str, str, str]) -> tuple[City, ...]:
    return tuple(City(fr, en, zone) for fr, en, zone in rows)


# Region key (its name is "zones.region.<key>"), then its cities, west to east or by weight.
REGIONS: tuple[tuple[str, tuple[City, ...]], ...] = (
    (
        "canada",
        _cities(
            (
                "Montréal, Toronto, Ottawa, Québec",
                "Montreal, Toronto, Ottawa, Quebec City",
                "America/Toronto",
            ),
            ("Vancouver, Victoria", "Vancouver, Victoria", "America/Vancouver"),
            ("Edmonton, Calgary", "Edmonton, Calgary", "America/Edmonton"),
            ("Regina, Saskatoon", "Regina, Saskatoon", "America/Regina"),
            ("Winnipeg", "Winnipeg", "America/Winnipeg"),
            ("Halifax, Moncton", "Halifax, Moncton", "America/Halifax"),
            ("St. John’s (Terre-Neuve)", "St. John’s (Newfoundland)", "America/St_Johns"),
            ("Whitehorse", "Whitehorse", "America/Whitehorse"),
            ("Yellowknife", "Yellowknife", "America/Yellowknife"),
            ("Iqaluit", "Iqaluit", "America/Iqaluit"),
            ("Blanc-Sablon", "Blanc-Sablon", "America/Blanc-Sablon"),
        ),
    ),
    (
        "americas",
        _cities(
            ("New York, Boston, Miami", "New York, Boston, Miami", "America/New_York"),
            ("Chicago", "Chicago", "America/Chicago"),
            ("Denver", "Denver", "America/Denver"),
            ("Los Angeles, Seattle", "Los Angeles, Seattle", "America/Los_Angeles"),
            ("Mexico", "Mexico City", "America/Mexico_City"),
            ("Port-au-Prince", "Port-au-Prince", "America/Port-au-Prince"),
            ("Pointe-à-Pitre (Guadeloupe)", "Pointe-à-Pitre (Guadeloupe)", "America/Guadeloupe"),
            ("Fort-de-France (Martinique)", "Fort-de-France (Martinique)", "America/Martinique"),
            ("Cayenne (Guyane)", "Cayenne (French Guiana)", "America/Cayenne"),
            ("Saint-Pierre-et-Miquelon", "Saint Pierre and Miquelon", "America/Miquelon"),
            ("Bogota", "Bogotá", "America/Bogota"),
            ("Lima", "Lima", "America/Lima"),
            ("Santiago", "Santiago", "America/Santiago"),
            ("Buenos Aires", "Buenos Aires", "America/Argentina/Buenos_Aires"),
            ("São Paulo", "São Paulo", "America/Sao_Paulo"),
        ),
    ),
    (
        "europe",
        _cities(
            ("Paris", "Paris", "Europe/Paris"),
            ("Bruxelles", "Brussels", "Europe/Brussels"),
            ("Genève, Zurich", "Geneva, Zurich", "Europe/Zurich"),
            ("Luxembourg", "Luxembourg", "Europe/Luxembourg"),
            ("Londres", "London", "Europe/London"),
            ("Dublin", "Dublin", "Europe/Dublin"),
            ("Lisbonne", "Lisbon", "Europe/Lisbon"),
            ("Madrid", "Madrid", "Europe/Madrid"),
            ("Rome", "Rome", "Europe/Rome"),
            ("Berlin", "Berlin", "Europe/Berlin"),
            ("Amsterdam", "Amsterdam", "Europe/Amsterdam"),
            ("Stockholm", "Stockholm", "Europe/Stockholm"),
            ("Varsovie", "Warsaw", "Europe/Warsaw"),
            ("Athènes", "Athens", "Europe/Athens"),
            ("Bucarest", "Bucharest", "Europe/Bucharest"),
            ("Kyiv", "Kyiv", "Europe/Kyiv"),
            ("Istanbul", "Istanbul", "Europe/Istanbul"),
            ("Moscou", "Moscow", "Europe/Moscow"),
        ),
    ),
    (
        "africa",
        _cities(
            ("Dakar", "Dakar", "Africa/Dakar"),
            ("Abidjan", "Abidjan", "Africa/Abidjan"),
            ("Bamako", "Bamako", "Africa/Bamako"),
            ("Ouagadougou", "Ouagadougou", "Africa/Ouagadougou"),
            ("Conakry", "Conakry", "Africa/Conakry"),
            ("Casablanca, Rabat", "Casablanca, Rabat", "Africa/Casablanca"),
            ("Alger", "Algiers", "Africa/Algiers"),
            ("Tunis", "Tunis", "Africa/Tunis"),
            ("Niamey", "Niamey", "Africa/Niamey"),
            ("Lomé", "Lomé", "Africa/Lome"),
            ("Cotonou", "Cotonou", "Africa/Porto-Novo"),
            ("Douala, Yaoundé", "Douala, Yaoundé", "Africa/Douala"),
            ("Libreville", "Libreville", "Africa/Libreville"),
            ("Kinshasa", "Kinshasa", "Africa/Kinshasa"),
            ("Lubumbashi", "Lubumbashi", "Africa/Lubumbashi"),
            ("Kigali", "Kigali", "Africa/Kigali"),
            ("Le Caire", "Cairo", "Africa/Cairo"),
            ("Nairobi", "Nairobi", "Africa/Nairobi"),
            ("Antananarivo", "Antananarivo", "Indian/Antananarivo"),
            ("Johannesburg", "Johannesburg", "Africa/Johannesburg"),
            ("Saint-Denis (La Réunion)", "Saint-Denis (Réunion)", "Indian/Reunion"),
        ),
    ),
    (
        "asia",
        _cities(
            ("Beyrouth", "Beirut", "Asia/Beirut"),
            ("Dubaï", "Dubai", "Asia/Dubai"),
            ("Karachi", "Karachi", "Asia/Karachi"),
            ("Delhi, Mumbai", "Delhi, Mumbai", "Asia/Kolkata"),
            ("Bangkok", "Bangkok", "Asia/Bangkok"),
            ("Hô Chi Minh-Ville", "Ho Chi Minh City", "Asia/Ho_Chi_Minh"),
            ("Manille", "Manila", "Asia/Manila"),
            ("Shanghai, Pékin", "Shanghai, Beijing", "Asia/Shanghai"),
            ("Séoul", "Seoul", "Asia/Seoul"),
            ("Tokyo", "Tokyo", "Asia/Tokyo"),
        ),
    ),
    (
        "oceania",
        _cities(
            ("Perth", "Perth", "Australia/Perth"),
            ("Sydney, Melbourne", "Sydney, Melbourne", "Australia/Sydney"),
            ("Nouméa", "Nouméa", "Pacific/Noumea"),
            ("Auckland", "Auckland", "Pacific/Auckland"),
            ("Papeete (Tahiti)", "Papeete (Tahiti)", "Pacific/Tahiti"),
            ("Honolulu", "Honolulu", "Pacific/Honolulu"),
        ),
    ),
    ("other", _cities(("Temps universel (UTC)", "Coordinated Universal Time (UTC)", "UTC"))),
)

CITIES: tuple[City, ...] = tuple(city for _, cities in REGIONS for city in cities)


def plain_words(text: str) -> str:
    """`text` as it is compared: no accents, no case, words separated by single spaces."""
    bare = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9/]+", " ", bare.casefold()).split())


def _city_names() -> dict[str, str]:
    """Every city of the list, in both languages, alone ("montreal") and as listed."""
    names: dict[str, str] = {}
    for city in CITIES:
        for listed in (city.fr, city.en):
            names.setdefault(plain_words(listed), city.zone)
            for part in re.split(r",|\(|\)", listed):
                if plain_words(part):
                    names.setdefault(plain_words(part), city.zone)
    return names


_BY_NAME = _city_names()


def resolve(raw: str | None) -> str | None:
    """The IANA zone for what came back from a form: an IANA name ("America/Toronto") or a
    city of the list, in French or English, accents optional; None when it is neither."""
    text = (raw or "").strip()
    if not text:
        return None
    if "/" in text or text.upper() == "UTC":
        return text if is_zone(text) else None
    return _BY_NAME.get(plain_words(text))


def city_of(zone: str, language: str) -> str:
    """How a zone is named to people: its first city in the list ("Montréal" for
    America/Toronto), or the IANA name when the zone is not listed."""
    city = next((c for c in CITIES if c.zone == zone), None)
    if city is None:
        return zone
    return city.name(language).split(",")[0].strip()


def zone_choice(tr: Tr, name: str, label: str, default: str | None) -> ChoiceInput:
    """A menu of cities grouped by region; values are IANA names. A `default` that is not in
    the list (a zone stored before, or set by a platform) comes first, selected."""
    options: list[Option] = []
    listed = {city.zone for city in CITIES}
    if default and default not in listed:
        options.append(Option(value=default, label=default, group=tr("zones.region.current")))
    for region, cities in REGIONS:
        group = tr(f"zones.region.{region}")
        options += [Option(value=c.zone, label=c.name(tr.language), group=group) for c in cities]
    return ChoiceInput(name=name, label=label, options=options, default=default or None)
