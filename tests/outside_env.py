"""The variables of a developer's (or CI's) environment that would change which key, database
or platform the bot uses: the tests that read settings remove them first."""

from __future__ import annotations

OUTSIDE = (
    "PASSERELLE_SECRET_KEY",
    "PASSERELLE_SECRET_KEY_FILE",
    "PASSERELLE_PREVIOUS_SECRET_KEYS",
    "PASSERELLE_PREVIOUS_SECRET_KEYS_FILE",
    "PASSERELLE_DATABASE_URL",
    "PASSERELLE_SANDBOX",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "MICROSOFT_APP_ID",
)
