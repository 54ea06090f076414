"""Slack's migrations (slack_sdk's tables): a version location in storage/alembic.ini."""
