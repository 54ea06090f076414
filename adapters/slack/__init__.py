"""Slack: neutral cards as Block Kit (`blocks`) and text made safe for mrkdwn (`mrkdwn`).

The package holds everything Slack: its tables (`installations`) and migration (`migrations/`),
its strings (`locales/`, registered here), the bridge and its routes.
"""

from pathlib import Path

from dialogs.i18n import add_locales

add_locales(Path(__file__).with_name("locales"))
