"""Profile and membership: who a person is in the team (sector, position, language, zone,
pause, quiet hours), and people arriving in or leaving a team's channel.

What other rituals may use: `profile_card`, `new_member` and `welcome`.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.events import MemberJoined, MemberLeft
from dialogs.i18n import add_locales
from dialogs.people import handlers
from dialogs.people.membership import new_member, welcome
from dialogs.people.profile import profile_card
from dialogs.registry import ActionSpec, CommandSpec, Entry, Ritual

__all__ = ["RITUAL", "new_member", "profile_card", "welcome"]

RITUAL = Ritual(
    name="people",
    commands=(CommandSpec("profile", ("profil",), handlers.profile_command),),
    actions={"profile.save": ActionSpec(handlers.save, form=handlers.profile_form)},
    events={MemberJoined: handlers.joined, MemberLeft: handlers.left},
    entries=(Entry("profile", home="profile"),),
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
