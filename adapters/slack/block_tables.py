"""A card's table (`dialogs.cards.Table`) as Block Kit. Pure, no I/O.

Block Kit's native way to lay out label and value side by side is a section's `fields`, which
Slack shows in two columns, on a computer and on a phone alike. A table is therefore:

- a header block with its caption (the table's title, bigger than the text around it);
- sections whose fields hold one row each as two fields, its label (in bold) and its cells
  joined with " · ", so that every row reads left to right; a section holds 10 fields (5
  rows), so a longer table takes several sections, each with the column legend as its text;
- its note, in a section of its own, under the rows.

A table holds the bot's own words and figures only; every text is escaped all the same
(`mrkdwn.escape`), like paragraphs, and set `verbatim`.
"""

from __future__ import annotations

from adapters.slack.block_limits import (
    FIELD_TEXT,
    HEADER_TEXT,
    SECTION_FIELDS,
    SECTION_TEXT,
    Json,
    plain_text,
    split_rendered,
)
from adapters.slack.mrkdwn import clean, escape
from dialogs.cards import Table

ROWS_PER_SECTION = SECTION_FIELDS // 2  # a row is two fields: its label, then its cells
CELL_SEPARATOR = " · "


def table_blocks(table: Table) -> list[Json]:
    """The table as a header, sections of fields and a note (see the module's docstring)."""
    legend = f"{table.header[0]} — " + CELL_SEPARATOR.join(table.header[1:])
    blocks: list[Json] = [{"type": "header", "text": plain_text(table.caption, HEADER_TEXT)}]
    for start in range(0, len(table.rows), ROWS_PER_SECTION):
        fields: list[Json] = []
        for row in table.rows[start : start + ROWS_PER_SECTION]:
            cells = CELL_SEPARATOR.join(c.text for c in row.cells if c.text.strip())
            fields += [_bold(_text(row.label, FIELD_TEXT - 2)), _text(cells, FIELD_TEXT)]
        blocks.append({"type": "section", "text": _text(legend, SECTION_TEXT), "fields": fields})
    if not table.rows:
        blocks.append({"type": "section", "text": _text(legend, SECTION_TEXT)})
    if table.note:
        note = split_rendered(clean(table.note).strip(), escape, SECTION_TEXT)
        blocks += [_mrkdwn_section(text) for text in note]
    return blocks


def _text(raw: str, limit: int) -> Json:
    """An escaped mrkdwn text object, never empty, cut to `limit` after escaping."""
    pieces = split_rendered(clean(raw).strip(), escape, limit)
    return {"type": "mrkdwn", "text": pieces[0] if pieces else "—", "verbatim": True}


def _bold(text: Json) -> Json:
    """The row's label in bold: its text is escaped first, so no `*` inside it can close the
    bold or start any other markup."""
    return {**text, "text": f"*{text['text']}*"}


def _mrkdwn_section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
