"""The Block Kit payloads docs/screens.md shows (docs/images/slack-*.json, written by
`python -m tests.screens`) are what Slack accepts: slack_sdk's models and Slack's documented
limits (tests/block_kit_checks.py), in the language their name says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.block_kit_checks import check_message, check_view

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
VIEWS = ["checkin", "tension-preview", "settings", "summary"]
# A word of each view's title, per language: a payload in the wrong language fails.
TITLES = {
    "checkin": {"fr": "Bilan", "en": "Check-in"},
    "tension-preview": {"fr": "Avant d’envoyer", "en": "Before you send"},
    "settings": {"fr": "Paramètres", "en": "Settings"},
    "summary": {"fr": "Sommaire", "en": "summary"},
}


def title_of(payload: dict[str, Any]) -> str:
    if payload.get("type") == "modal":
        headers = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "header"]
        return " ".join([payload["title"]["text"], *headers])
    first = payload["blocks"][0]
    assert first["type"] == "header", first
    return str(first["text"]["text"])


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("view", VIEWS)
def test_each_saved_payload_is_valid_block_kit(view: str, language: str) -> None:
    payload = json.loads((IMAGES / f"slack-{view}-{language}.json").read_text("utf-8"))
    if payload.get("type") == "modal":
        check_view(payload)
    else:
        assert set(payload) == {"blocks"}  # Block Kit Builder's shape for a message
        check_message((title_of(payload), payload["blocks"]))  # its text: the title
    assert TITLES[view][language] in title_of(payload)
