"""Thanks: a member thanks a teammate in a few words; the teammate gets it privately, named.

The whole ritual is this package and one line in `dialogs.rituals.PACKAGES`: a command word
(`thanks`, `merci`), one form and its action, a help line, a home button and its strings.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.i18n import add_locales
from dialogs.registry import ActionSpec, CommandSpec, Entry, Ritual
from dialogs.thanks import handlers

RITUAL = Ritual(
    name="thanks",
    commands=(CommandSpec("thanks", ("merci",), handlers.thanks_command),),
    actions={"thanks.send": ActionSpec(handlers.send, form=handlers.form)},
    entries=(Entry("thanks", home="thanks"),),
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
