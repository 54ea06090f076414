"""Privacy in plain words: what Passerelle keeps about a person, what it never keeps, who sees
what, and whom to write to (the operator's contact and policy, `dialogs.operator`). Offered by
the help card and the welcome card; anyone may ask, in a team or not."""

from __future__ import annotations

from pathlib import Path

from dialogs.i18n import add_locales
from dialogs.privacy import handlers
from dialogs.registry import CommandSpec, Entry, Ritual

RITUAL = Ritual(
    name="privacy",
    commands=(
        CommandSpec(
            "privacy",
            ("confidentialite", "vie-privee"),
            handlers.privacy_command,
            outside_team=True,
            menu=False,  # the help card's line and the welcome card lead to it
        ),
    ),
    entries=(Entry("privacy"),),
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
