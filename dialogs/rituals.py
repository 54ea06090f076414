"""The rituals this installation runs: one line per ritual package, in the help card's order.

Each package exposes `RITUAL` (dialogs.registry.Ritual). Adding a ritual is writing its package
and adding its name here; nothing else names it.
"""

from __future__ import annotations

import functools
import importlib

from dialogs.registry import Registry, Ritual

PACKAGES = (
    "dialogs.checkins",
    "dialogs.tensions",
    "dialogs.successes",
    "dialogs.people",
    "dialogs.summaries",
    "dialogs.reflexive",
    "dialogs.administration",
    "dialogs.privacy",
    "dialogs.thanks",
)


@functools.cache
def registry() -> Registry:
    rituals: list[Ritual] = [importlib.import_module(name).RITUAL for name in PACKAGES]
    return Registry(tuple(rituals))
