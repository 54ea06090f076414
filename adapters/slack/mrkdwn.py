"""Text that the bot puts in Slack: mrkdwn that cannot ping, link or format, and clean plain text.

Slack documents a single escape for mrkdwn: `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`
("Formatting text for app surfaces", section "Escaping text"). That alone makes every special
token inert: `<!channel>`, `<!here>`, `<@U…>`, `<#C…|x>`, `<!subteam^…>`, `<!date…>` and
`<url|label>` all need a real `<`. Escaping `&` first means text that already looks escaped
(`&lt;!channel&gt;`) is shown as typed and never decoded into a mention.

Slack documents no escape for the rest, so `escape` also:

- replaces the formatting characters with look-alikes that mrkdwn does not know (`*` → `∗`,
  `_` → `ˍ`, `~` → `∼`, `` ` `` → `ˋ`, and their full-width forms), the substitution jsx-slack
  uses and documents for its `<Escape>` component (docs/about-escape-and-exact-mode.md).
  Replacing beats inserting invisible characters: whether Slack treats a zero-width character
  as a word boundary (which *enables* formatting, as jsx-slack's "exact mode" relies on) is
  undocumented, whereas a character that is not markup can never become markup;
- puts a soft hyphen (U+00AD) before a `>` (or full-width `＞`) that starts a line, so it is
  not a block quote (jsx-slack's documented treatment of leading quotes);
- puts a word joiner (U+2060, invisible, never a line break) after `@` and before `#word`,
  after the `:` of `://`, and before a dot followed by a letter, so that `@here`, `#channel`,
  bare URLs, domains and e-mail addresses are not turned into mentions or links. Block Kit
  text objects produced by `adapters.slack.blocks` also set `verbatim: true`, which Slack
  documents as skipping that auto-linking and mention parsing: the joiners are the second wall,
  and the only one for the notification text of a message.

Apply `escape` exactly once, to raw text: it is not idempotent (`&` doubles each time).
"""

from __future__ import annotations

import re
import unicodedata

WORD_JOINER = "\u2060"
SOFT_HYPHEN = "\u00ad"

# Bidirectional embeddings, overrides and isolates: they can make text read differently from
# what it is (the "Trojan Source" trick). Marks (LRM, RLM) are harmless and kept.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_LOOKALIKES = str.maketrans(
    {
        "*": "\u2217",  # ∗ asterisk operator
        "\uff0a": "\ufe61",  # ＊ → ﹡ small asterisk
        "_": "\u02cd",  # ˍ modifier letter low macron
        "\uff3f": "\u2e0f",  # ＿ → ⸏ paragraphos
        "`": "\u02cb",  # ˋ modifier letter grave accent
        "\uff40": "\u02cb",  # ｀ → ˋ
        "~": "\u223c",  # ∼ tilde operator
        "\uff5e": "\u223c",  # ～ → ∼
    }
)
_LEADING_QUOTE = re.compile(r"^([^\S\n]*)(&gt;|\uff1e)", re.MULTILINE)
_AT = re.compile(f"@(?!{WORD_JOINER})")
_HASH = re.compile(r"#(?=\w)")
_SCHEME = re.compile(r":(?=//)")
_DOT = re.compile(r"(?<=[^\W_])\.(?=[^\W\d_])")
# Non-breaking spaces stay: French keeps them before a colon and inside « ».
_WHITESPACE = re.compile(r"[^\S\u00a0\u202f]+")


def clean(text: str) -> str:
    """Text without control characters: line breaks normalised to `\\n`, tabs kept.

    Removes C0/C1 controls, lone surrogates (which JSON encoders refuse or Slack rejects) and
    bidirectional overrides. Unicode line and paragraph separators become `\\n`, so that
    "start of a line" means the same here and in Slack.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return "".join(
        ch
        for ch in text
        if ch in "\n\t"
        or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS)
    )


def escape(text: str) -> str:
    """mrkdwn showing `text` as written: no mention, link, quote or formatting can come of it."""
    value = clean(text)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.translate(_LOOKALIKES)
    value = _LEADING_QUOTE.sub(lambda m: m.group(1) + SOFT_HYPHEN + m.group(2), value)
    value = _AT.sub("@" + WORD_JOINER, value)
    value = _HASH.sub("#" + WORD_JOINER, value)
    value = _SCHEME.sub(":" + WORD_JOINER, value)
    return _DOT.sub(WORD_JOINER + ".", value)


def plain(text: str) -> str:
    """One line for a `plain_text` object (titles, labels, options, buttons).

    Slack parses no markup in `plain_text`, so nothing is escaped: control characters go and
    every run of white space, line breaks included, becomes one space (a non-breaking space
    stays as it is).
    """
    return _WHITESPACE.sub(" ", clean(text)).strip()
