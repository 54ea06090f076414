"""The local sandbox: a web page per demo person, its strings in `locales/` (registered here)."""

from pathlib import Path

from dialogs.i18n import add_locales

add_locales(Path(__file__).with_name("locales"))
