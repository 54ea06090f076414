"""Cleaning of text that people write and the bot re-posts.

The engine removes what would ping or address people on any platform; each adapter then escapes
its own markup (mrkdwn, Markdown, HTML) when it renders a paragraph marked `from_user`.
"""

from __future__ import annotations

import re
import unicodedata

WORD_JOINER = "\u2060"
# Slack's special tokens (<!channel>, <@U123>, <#C1|x>, <https://..|x>) and Teams' <at>...</at>.
_ANGLE_TOKENS = re.compile(r"<\s*([!@#]|at\b|/at\b)[^>]*>", re.IGNORECASE)
_BROADCAST = re.compile(r"@(?=(channel|here|everyone|all|team|\w))", re.IGNORECASE)


# Format characters kept: the joiners build emoji (👩‍💻) and words in some scripts, the tag
# characters build subdivision flags. Other controls and format characters (bidirectional
# overrides among them) are dropped.
_KEPT_FORMAT = {"\u200c", "\u200d", *map(chr, range(0xE0020, 0xE0080))}


def _kept(ch: str) -> bool:
    return ch in "\n\t" or ch in _KEPT_FORMAT or unicodedata.category(ch)[0] != "C"


class TextRejected(ValueError):
    """Text that cannot be accepted; the key names the reason for the user."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def clean(text: str | None, *, max_length: int, required: bool = True) -> str:
    """Normalised, mention-free text, or TextRejected with a reason the user can act on."""
    value = unicodedata.normalize("NFC", text or "")
    value = "".join(ch for ch in value if _kept(ch))
    value = re.sub(r"[ \t]+", " ", value)
    value = re.sub(r"\n{3,}", "\n\n", value).strip()
    if not value:
        if required:
            raise TextRejected("errors.empty")
        return ""
    if len(value) > max_length:
        raise TextRejected("errors.too_long", limit=max_length, length=len(value))
    value = _ANGLE_TOKENS.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), value)
    return _BROADCAST.sub("@" + WORD_JOINER, value)
