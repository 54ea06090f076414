"""The Microsoft Teams app package: manifest.json, two icons and an English localization.

`passerelle teams package` writes it as a zip to upload in Teams ("Upload a custom app") or in
the Teams admin center. Pure: no botbuilder, no network, and the same inputs give the same
bytes (fixed zip timestamps, icons drawn from fixed shapes).

The manifest's own text is French (Québec), the default language; `en.json` translates it.
The command menu is built from the rituals' registry (adapters/teams/menu.py): French in the
manifest, English in `en.json`; picking a command in Teams' menu sends its word to the bot.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageDraw

from adapters.teams import menu

SCHEMA = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/"
    "MicrosoftTeams.Localization.schema.json"
)
MANIFEST_VERSION = "1.17"
DEFAULT_LANGUAGE = "fr-ca"
ENGLISH_FILE = "en.json"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
# The files of the zip, in the order they are written.
FILES = ("manifest.json", COLOR_ICON, OUTLINE_ICON, ENGLISH_FILE)
ACCENT_COLOR = "#0B4F8A"  # the sandbox's link blue
COLOR_SIZE = 192
OUTLINE_SIZE = 32
SCOPES = ["personal", "team"]
PERMISSIONS = ["identity", "messageTeamMembers"]
DEFAULT_DEVELOPER = "Passerelle"
# Limits of manifest schema v1.17 (and of its localization schema); the menu's are in menu.py.
MAX_NAME_SHORT = 30
MAX_NAME_FULL = 100
MAX_DESCRIPTION_SHORT = 80
MAX_DESCRIPTION_FULL = 4000
MAX_DEVELOPER_NAME = 32

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_LOCAL_HOSTS = ("127.0.0.1", "localhost")
# 1980-01-01, the earliest date a zip entry can hold: every build gets the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class PackageError(ValueError):
    """An input the package cannot be built from; the message says which and why."""


@dataclass(frozen=True)
class Text:
    fr: str
    en: str


NAME_SHORT = Text("Passerelle", "Passerelle")
NAME_FULL = Text(
    "Passerelle : rituels de partenariat pour équipes mixtes réseau public et communautaire",
    "Passerelle: partnership rituals for mixed public-network and community teams",
)
DESCRIPTION_SHORT = Text(
    "Bilans, tensions anonymes et réussites pour les équipes partenaires",
    "Check-ins, anonymous tensions and successes for partnership teams",
)
DESCRIPTION_FULL = Text(
    "Passerelle apporte de courts rituels de partenariat dans Teams, pour les équipes mixtes "
    "qui réunissent le réseau public de la santé et des services sociaux et des organismes "
    "communautaires. Des bilans réguliers de quelques énoncés (de 1 à 5, « Je préfère ne pas "
    "répondre » toujours permis) ; des tensions nommées anonymement, publiées en lot chaque "
    "semaine et jamais au moment où on les écrit ; des réussites à partager, avec ou sans son "
    "nom ; des questions pour les espaces réflexifs ; et un sommaire anonymisé, envoyé au même "
    "moment aux gestionnaires et à la coordination des deux secteurs. Les résultats sont des "
    "perceptions du partenariat, jamais l’évaluation d’une personne, et aucun chiffre ne "
    "couvre moins de k personnes répondantes (5 par défaut, jamais moins de 3). Écrivez "
    "« aide » au bot pour commencer.",
    "Passerelle brings short partnership rituals into Teams, for mixed teams that bring "
    "together the public health and social-services network and community organisations. "
    "Regular check-ins of a few statements (1 to 5, with “I prefer not to answer” always "
    "allowed); tensions named anonymously, published in a weekly batch and never at the moment "
    "they are written; successes to share, with or without your name; questions for reflexive "
    "spaces; and an anonymised summary, sent at the same moment to the managers and "
    "coordinators of both sectors. Results are perceptions of the partnership, never an "
    "assessment of a person, and no figure covers fewer than k respondents (5 by default, "
    "never below 3). Write “help” to the bot to begin.",
)


def check_app_id(app_id: str) -> str:
    """The Microsoft app id (the bot's Entra ID application), which must be a GUID."""
    value = (app_id or "").strip()
    if not value:
        raise PackageError("no Teams app id: pass --app-id or set MICROSOFT_APP_ID")
    if not _GUID.match(value):
        raise PackageError(
            f"the Teams app id must be a GUID like 00000000-0000-0000-0000-000000000000, "
            f"got {app_id!r}"
        )
    return value


def check_base_url(base_url: str) -> str:
    """The public base URL, without a trailing slash: https, or http on 127.0.0.1/localhost."""
    value = (base_url or "").strip().rstrip("/")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as error:
        raise PackageError(f"the base URL is not a valid URL: {base_url!r}") from error
    host = parts.hostname or ""
    local = parts.scheme == "http" and host in _LOCAL_HOSTS
    if not host or not (parts.scheme == "https" or local):
        raise PackageError(
            f"the base URL must be https://HOST[/PATH] (http only for 127.0.0.1 or "
            f"localhost), got {base_url!r}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise PackageError(f"the base URL must have no user, query or fragment, got {base_url!r}")
    return value


def check_version(version: str) -> str:
    if not _VERSION.match(version or ""):
        raise PackageError(f"the version must be MAJOR.MINOR.PATCH, e.g. 1.0.0, got {version!r}")
    return version


def check_developer_name(name: str) -> str:
    value = (name or "").strip()
    if not value or len(value) > MAX_DEVELOPER_NAME:
        raise PackageError(
            f"the developer name must be 1 to {MAX_DEVELOPER_NAME} characters, got {name!r}"
        )
    return value


def manifest(
    app_id: str,
    *,
    base_url: str,
    developer_name: str = DEFAULT_DEVELOPER,
    version: str = "1.0.0",
) -> dict[str, Any]:
    """manifest.json (schema v1.17), its text in French; raises PackageError on a bad input."""
    app_id = check_app_id(app_id)
    base = check_base_url(base_url)
    version = check_version(version)
    developer_name = check_developer_name(developer_name)
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": developer_name,
            "websiteUrl": base,
            "privacyUrl": f"{base}/privacy",
            "termsOfUseUrl": f"{base}/terms",
        },
        "name": {"short": NAME_SHORT.fr, "full": NAME_FULL.fr},
        "description": {"short": DESCRIPTION_SHORT.fr, "full": DESCRIPTION_FULL.fr},
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT_COLOR,
        "bots": [
            {
                "botId": app_id,
                "scopes": list(SCOPES),
                "isNotificationOnly": False,
                "supportsFiles": False,
                "commandLists": menu.command_lists("fr"),
            }
        ],
        "permissions": list(PERMISSIONS),
        "validDomains": [urlsplit(base).hostname],
        "localizationInfo": {
            "defaultLanguageTag": DEFAULT_LANGUAGE,
            "additionalLanguages": [{"languageTag": "en", "file": ENGLISH_FILE}],
        },
    }


def english() -> dict[str, str]:
    """en.json: the English of every string of the manifest that Teams lets us translate."""
    strings = {
        "$schema": LOCALIZATION_SCHEMA,
        "name.short": NAME_SHORT.en,
        "name.full": NAME_FULL.en,
        "description.short": DESCRIPTION_SHORT.en,
        "description.full": DESCRIPTION_FULL.en,
    }
    return strings | menu.localized("en")


def _bridge(size: int, *, hangers: bool) -> Image.Image:
    """The motif as an 8-bit mask (0 or 255): a deck on an arch between two abutments."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)

    # Without the railing (0.24 to 0.40) the motif is raised to stay centred.
    dy = 0.0 if hangers else -0.09

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        y0, y1 = y0 + dy, y1 + dy
        return (round(x0 * size), round(y0 * size), round(x1 * size) - 1, round(y1 * size) - 1)

    stroke = max(2, round(size * 0.09))
    draw.rectangle(box(0.06, 0.40, 0.94, 0.50), fill=255)  # the deck
    draw.arc(box(0.14, 0.48, 0.86, 1.04), start=180, end=360, fill=255, width=stroke)  # the arch
    draw.rectangle(box(0.06, 0.50, 0.18, 0.78), fill=255)  # the left abutment
    draw.rectangle(box(0.82, 0.50, 0.94, 0.78), fill=255)  # the right abutment
    if hangers:
        for x in (0.34, 0.50, 0.66):
            draw.rectangle(box(x - 0.015, 0.26, x + 0.015, 0.40), fill=255)
        draw.rectangle(box(0.26, 0.24, 0.74, 0.28), fill=255)  # the railing
    return mask.point(lambda value: 255 if value >= 128 else 0)


def color_icon() -> bytes:
    """color.png, 192×192: a white bridge on the accent colour (drawn large, then reduced)."""
    scale = 4
    # The motif keeps to the middle 120×120 (Teams' safe area).
    inner = 120 * scale
    motif = _bridge(inner, hangers=True)
    mask = Image.new("L", (COLOR_SIZE * scale, COLOR_SIZE * scale), 0)
    offset = (COLOR_SIZE * scale - inner) // 2
    mask.paste(motif, (offset, offset))
    mask = mask.resize((COLOR_SIZE, COLOR_SIZE), Image.Resampling.LANCZOS)
    image = Image.new("RGB", (COLOR_SIZE, COLOR_SIZE), ACCENT_COLOR)
    image.paste((255, 255, 255), (0, 0), mask)
    return _png(image)


def outline_icon() -> bytes:
    """outline.png, 32×32: only white opaque and fully transparent pixels, as Teams requires."""
    alpha = _bridge(OUTLINE_SIZE, hangers=False)
    image = Image.new("RGBA", (OUTLINE_SIZE, OUTLINE_SIZE), (255, 255, 255, 0))
    image.putalpha(alpha)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue()


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def build_package(
    app_id: str,
    *,
    base_url: str,
    developer_name: str = DEFAULT_DEVELOPER,
    version: str = "1.0.0",
) -> bytes:
    """The app package (zip bytes), identical for identical inputs; raises PackageError."""
    contents = {
        "manifest.json": _json(
            manifest(app_id, base_url=base_url, developer_name=developer_name, version=version)
        ),
        COLOR_ICON: color_icon(),
        OUTLINE_ICON: outline_icon(),
        ENGLISH_FILE: _json(english()),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in FILES:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the machine building it
            info.external_attr = 0o644 << 16
            archive.writestr(info, contents[name], compresslevel=9)
    return out.getvalue()
