"""What `dialogs.texts.clean` keeps of what people write: emoji built with joiners stay whole;
controls and bidirectional overrides go."""

from __future__ import annotations

import pytest

from dialogs.texts import TextRejected, clean

CODER = "\U0001f469\u200d\U0001f4bb"  # woman technologist: two emoji joined
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


@pytest.mark.parametrize("emoji", [CODER, FAMILY, SCOTLAND, "\u2764\ufe0f"])
def test_emoji_built_from_several_characters_stay_whole(emoji: str) -> None:
    assert clean(f"Bravo {emoji} !", max_length=100) == f"Bravo {emoji} !"


def test_controls_and_direction_overrides_are_dropped() -> None:
    assert clean("a\u202eb\u2066c\x00d\x1be\u00adf", max_length=100) == "abcdef"


def test_text_of_only_controls_is_empty() -> None:
    with pytest.raises(TextRejected) as raised:
        clean("\u202e\u200b", max_length=100)
    assert raised.value.key == "errors.empty"
