"""Chat commands, in English and French, and what each person may run."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from dialogs.cards import Card, Paragraph
from dialogs.i18n import Tr

WORDS = {
    "help": "help",
    "aide": "help",
    "checkin": "checkin",
    "check-in": "checkin",
    "bilan": "checkin",
    "tension": "tension",
    "success": "success",
    "reussite": "success",
    "profile": "profile",
    "profil": "profile",
    "summary": "summary",
    "sommaire": "summary",
    "setup": "setup",
    "configurer": "setup",
    "reflexive": "reflexive",
    "reflexif": "reflexive",
    "schedule": "schedule",
    "horaire": "schedule",
    "settings": "settings",
    "parametres": "settings",
    "readers": "readers",
    "lecteurs": "readers",
}
ARGUMENTS = {
    "now": "now",
    "maintenant": "now",
    "skip": "skip",
    "passer": "skip",
    "pause": "pause",
    "resume": "resume",
    "reprendre": "resume",
}
MEMBER_COMMANDS = ("help", "checkin", "tension", "success", "profile")
READER_COMMANDS = ("summary",)
COORDINATOR_COMMANDS = ("setup", "checkin_now", "reflexive", "schedule", "settings", "readers")
_PREFIX = re.compile(r"^\s*(/?passerelle\b|<at>[^<]*</at>|@\S+)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    name: str  # a value of WORDS, or "" when the word is unknown
    word: str
    args: list[str]

    @property
    def first_arg(self) -> str:
        return ARGUMENTS.get(fold(self.args[0]), "") if self.args else ""


def fold(word: str) -> str:
    """Lower case without accents, so `réussite`, `Reussite` and `REUSSITE` all match."""
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse(text: str) -> Command:
    stripped = _PREFIX.sub("", text or "").strip()
    parts = stripped.split()
    if not parts:
        return Command("help", "", [])
    return Command(WORDS.get(fold(parts[0]), ""), parts[0], parts[1:])


def help_card(
    tr: Tr,
    *,
    member: bool,
    reader: bool,
    coordinator: bool,
    team_name: str | None,
    unknown: str = "",
) -> Card:
    blocks: list[Paragraph] = []
    if unknown:
        blocks.append(Paragraph(text=tr("help.unknown", word=unknown)))
    if not member:
        blocks.append(Paragraph(text=tr("help.not_member")))
        blocks.append(Paragraph(text=tr("help.cmd.help")))
        blocks.append(Paragraph(text=tr("help.cmd.setup")))
        return Card(title=tr("help.title_generic"), blocks=blocks)
    blocks.append(Paragraph(text=tr("help.intro", team=team_name or "")))
    names = list(MEMBER_COMMANDS)
    if reader:
        names += READER_COMMANDS
    if coordinator:
        names += [n for n in COORDINATOR_COMMANDS if n not in names]
    blocks += [Paragraph(text=tr(f"help.cmd.{name}")) for name in names]
    blocks.append(Paragraph(text=tr("help.privacy")))
    return Card(title=tr("help.title", team=team_name or ""), blocks=blocks)
