"""Chat commands: a line of text as a command word and its arguments, in English or French."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

# Always understood, whatever the rituals: the help card (dialogs/help.py).
HELP_WORDS = ("help", "aide")
_PREFIX = re.compile(r"^\s*(/?passerelle\b|<at>[^<]*</at>|@\S+)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    name: str  # a ritual command's name, "help", or "" when the word is unknown
    word: str
    args: list[str]

    def first_arg(self, arguments: Mapping[str, str]) -> str:
        """The first argument as one of `arguments`' values ({folded word: meaning})."""
        return arguments.get(fold(self.args[0]), "") if self.args else ""


def fold(word: str) -> str:
    """Lower case without accents, so `réussite`, `Reussite` and `REUSSITE` all match."""
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse(text: str, words: Mapping[str, str]) -> Command:
    """`text` as a command; `words` maps each folded command word to its command's name."""
    stripped = _PREFIX.sub("", text or "").strip()
    parts = stripped.split()
    if not parts:
        return Command("help", "", [])
    word = fold(parts[0])
    name = "help" if word in HELP_WORDS else words.get(word, "")
    return Command(name, parts[0], parts[1:])
