"""The Teams command menu (the app package's `commandLists`), built from the rituals' registry.

Each ritual command (`dialogs.rituals.registry()`) is offered with its help line
(`help.cmd.<name>`: "word — what it does"): the word is the menu's title, the rest its
description, in French for the manifest and in English for its localization. A command added
to a ritual appears here without any change to the package.

Teams' limits (manifest schema v1.17): one list per scope, at most 10 commands each, a title
of at most 32 characters, a description of at most 128. The order says what is kept when a
list is full: `help` first (it lists everything), then every member's commands, then readers',
then coordinators', each in the registry's order. `setup` is answered only in a channel: it
leads the team's list and is not in the 1:1 chat's. A command declared `menu=False` (offered
by a button elsewhere) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialogs.commands import HELP_WORDS, fold, parse
from dialogs.i18n import Tr
from dialogs.registry import Audience, CommandSpec, Registry
from dialogs.rituals import registry

MAX_COMMANDS = 10
MAX_TITLE = 32
MAX_DESCRIPTION = 128
LANGUAGES = ("fr", "en")  # the manifest's own language, then its localization
ORDER: tuple[Audience, ...] = ("member", "reader", "coordinator")
SCOPES = ("personal", "team")
SEPARATOR = " — "


@dataclass(frozen=True)
class MenuCommand:
    name: str
    title: dict[str, str]  # by language
    description: dict[str, str]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _split(line: str, fallback: str) -> tuple[str, str]:
    """A help line's word and what it does ("bilan — répondre…" → ("bilan", "Répondre…"))."""
    word, _, what = line.partition(SEPARATOR)
    if not what:
        return fallback, line
    # A sentence starts with a capital, but not a symbol ("k, relecture…").
    if what[1:2].isalpha():
        what = what[:1].upper() + what[1:]
    return word.strip(), what


def _help_key(spec: CommandSpec, index: Registry) -> str:
    """The help line a ritual declares for its command (an entry named after it, or whose
    home button runs it)."""
    entries = [e for r in index.rituals for e in r.entries]
    found = (e.key for e in entries if spec.name in (e.key, e.home))
    return next(found, spec.name)


def _command(spec: CommandSpec, index: Registry) -> MenuCommand:
    titles, descriptions = {}, {}
    key = _help_key(spec, index)
    for language in LANGUAGES:
        tr = Tr(language)
        word, what = _split(tr(f"help.cmd.{key}"), spec.name)
        if parse(word, index.word_names).name != spec.name:
            word = spec.name  # always understood: the command's own name
        titles[language] = _shorten(word, MAX_TITLE)
        descriptions[language] = _shorten(what, MAX_DESCRIPTION)
    return MenuCommand(spec.name, titles, descriptions)


def _help() -> MenuCommand:
    titles = dict(zip(LANGUAGES, (HELP_WORDS[1], HELP_WORDS[0]), strict=True))
    descriptions = {language: Tr(language)("msteams.menu_help") for language in LANGUAGES}
    return MenuCommand("help", titles, descriptions)


def _specs(index: Registry) -> list[CommandSpec]:
    specs = [c for r in index.rituals for c in r.commands if c.menu]
    return sorted(specs, key=lambda c: ORDER.index(c.audience))  # stable: registry order kept


def commands(scope: str, index: Registry | None = None) -> list[MenuCommand]:
    """The menu of one scope ("personal": the 1:1 chat, "team": a channel)."""
    index = index or registry()
    specs = _specs(index)
    channel_only = [c for c in specs if c.outside_team]
    anywhere = [c for c in specs if not c.outside_team]
    chosen = channel_only + anywhere if scope == "team" else anywhere
    return [_help(), *(_command(c, index) for c in chosen)][:MAX_COMMANDS]


def command_lists(language: str, index: Registry | None = None) -> list[dict[str, Any]]:
    """`bots[0].commandLists` in `language`."""
    return [
        {
            "scopes": [scope],
            "commands": [
                {"title": c.title[language], "description": c.description[language]}
                for c in commands(scope, index)
            ],
        }
        for scope in SCOPES
    ]


def localized(language: str, index: Registry | None = None) -> dict[str, str]:
    """The localization file's keys for the menu (`bots[0].commandLists[i].commands[j]...`)."""
    strings: dict[str, str] = {}
    for i, listed in enumerate(command_lists(language, index)):
        for j, command in enumerate(listed["commands"]):
            key = f"bots[0].commandLists[{i}].commands[{j}]"
            strings[f"{key}.title"] = command["title"]
            strings[f"{key}.description"] = command["description"]
    return strings


def understood(title: str, index: Registry | None = None) -> str:
    """The command a menu title sends (what the bot reads when it is picked)."""
    return (
        "help" if fold(title) in HELP_WORDS else parse(title, (index or registry()).word_names).name
    )
