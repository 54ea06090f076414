"""Microsoft Teams: its conversation references (`conversations`), strings (`locales/`,
registered here), the bridge, its routes and the app package."""

from pathlib import Path

from dialogs.i18n import add_locales

add_locales(Path(__file__).with_name("locales"))
