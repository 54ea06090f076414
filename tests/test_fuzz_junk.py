"""The fuzzer's own mutations never raise, whatever string a payload carries."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.junk import _retyped


def test_a_digit_int_refuses_stays_a_string() -> None:
    # '¹' is a digit (str.isdigit) that int() refuses: the events target died on it.
    rng = random.Random(0)
    assert _retyped("¹", rng) == ["¹"]
    assert _retyped("²³", rng) == ["²³"]
    assert _retyped("12", rng) == 12
    assert _retyped("٣", rng) == 3  # a decimal digit in another script: int() reads it


@given(st.text())
def test_retyping_any_string_never_raises(text: str) -> None:
    retyped = _retyped(text, random.Random(0))
    assert retyped == [text] or (text.isdecimal() and retyped == int(text))
