"""Slack: neutral cards as Block Kit (`blocks`) and text made safe for mrkdwn (`mrkdwn`)."""
