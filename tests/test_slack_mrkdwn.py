"""Nothing a person writes can ping, link or format when re-posted to Slack: escaping, cleaning,
and the catalogues' texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.mrkdwn import SOFT_HYPHEN, clean, escape, plain
from dialogs.i18n import locale_files
from tests.block_kit_checks import HOSTILE, assert_inert, shown


# --------------------------------------------------------------------------- mrkdwn
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_inert_and_shown_as_written(hostile: str) -> None:
    out = escape(hostile)
    assert_inert(out)
    assert shown(out) == clean(hostile)


def test_escape_exact_forms() -> None:
    assert escape("<!channel>") == "&lt;!channel&gt;"
    assert escape("<@U123>") == "&lt;@\u2060U123&gt;"
    assert escape("<https://evil|click>") == "&lt;https:\u2060//evil|click&gt;"
    # Already-escaped text stays as typed: it never decodes into a mention.
    assert escape("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"
    assert shown(escape("&lt;!channel&gt;")) == "&lt;!channel&gt;"
    assert escape("*bold* _it_ ~s~ `c`") == "∗bold∗ ˍitˍ ∼s∼ ˋcˋ"
    assert escape("> quote\na > b") == SOFT_HYPHEN + "&gt; quote\na &gt; b"
    assert escape("@here") == "@\u2060here"
    assert escape("https://evil.example") == "https:\u2060//evil\u2060.example"
    assert escape("v1.5 costs 3.50$") == "v1.5 costs 3.50$"  # numbers keep their dots as is
    assert escape("line\r\nbreak\u2028here") == "line\nbreak\nhere"


def test_clean_and_plain_remove_control_characters() -> None:
    nasty = "a\x00b\x07c\u202ed\u2066e\x85f\ud800g"
    assert clean(nasty) == "abcdefg"
    assert clean("keep\ttabs\nand lines") == "keep\ttabs\nand lines"
    assert plain("  Title\n\twith\r\n breaks\u202e  ") == "Title with breaks"
    assert plain("<!channel> *x*") == "<!channel> *x*"  # plain_text parses nothing
    french = "Bilan\u00a0: «\u00a0ok\u00a0»"
    assert plain(french) == french  # non-breaking spaces stay


@given(st.text())
def test_escape_never_leaves_markup(text: str) -> None:
    assert_inert(escape(text))


@given(st.text(alphabet=st.sampled_from([*"ab1 .:/@#<>&!|*_~`\n\t;", "é", "＊", "＞", "😀"])))
def test_escape_shows_what_was_written(text: str) -> None:
    assert shown(escape(text)) == clean(text)


def test_catalogues_carry_no_mrkdwn() -> None:
    """Why bot text may be escaped like people's: the catalogues use no markup at all."""
    root = Path(__file__).resolve().parent.parent / "dialogs"
    strings: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key not in ("id", "condition", "concept", "sources"):
            strings.append(value)

    for path in [*locale_files(), *root.glob("*/content/*.yml")]:
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert len(strings) > 300
    for text in strings:
        assert not re.search(r"[*_~`<>&]|://", text), text
