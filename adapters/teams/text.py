"""Text shown in Teams, neutralised.

Every paragraph goes into an Adaptive Card `TextRun` (inside a `RichTextBlock`), which Teams
renders literally: no markdown, no `<at>` mention, no link. What is left to remove is what a
literal rendering still obeys: control characters and the bidirectional overrides that could
make a post read differently from what was written.
"""

from __future__ import annotations

import re
import unicodedata

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def neutral(text: str) -> str:
    text = _BIDI.sub("", text)
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")
    )


def plain_summary(text: str, limit: int = 200) -> str:
    """A one-line fallback (`activity.text` for notifications), from the bot's own words."""
    line = " ".join(neutral(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
