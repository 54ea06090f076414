"""The summary's table on each platform, in French and English: Slack sections with fields
(Block Kit's limits, checked by slack_sdk and by the strict fake, and posted through the real
`AsyncWebClient`), a Teams Adaptive Card `Table` at full width, an HTML `<table>` with its
caption and headings in the sandbox; and the outbox's JSON round trip of a card with tables."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox.render import CardView, card_html
from adapters.slack import blocks as sb
from adapters.slack.block_limits import FIELD_TEXT, SECTION_FIELDS
from adapters.teams.cards import adaptive_card
from dialogs.cards import Card, Table, TableCell, TableRow
from dialogs.i18n import Tr
from tests.block_kit_checks import check_message, check_view
from tests.fake_slack import FakeSlack
from tests.fake_slack.block_kit import MAX_MESSAGE_BLOCKS
from tests.fake_slack.block_kit import check_blocks as fake_check
from tests.fake_slack_fixtures import CHANNEL, plain_client
from tests.summary_layout_sample import sample_card

LANGUAGES = ["fr", "en"]


def test_a_card_with_tables_survives_the_outbox_json() -> None:
    card = sample_card("fr", coordinator=True)
    assert Card.model_validate_json(card.model_dump_json()) == card
    assert Card.model_validate(json.loads(card.model_dump_json())) == card
    assert card.inputs() == []  # a table is not a form input
    with pytest.raises(ValueError, match="one cell per column"):
        Table(caption="x", header=["a", "b"], rows=[TableRow(label="r", cells=[])])


# --------------------------------------------------------------------------- Slack
@pytest.mark.parametrize("language", LANGUAGES)
async def test_slack_shows_each_row_as_two_fields(language: str, slack: FakeSlack) -> None:
    card = sample_card(language, coordinator=True)
    messages = sb.messages_for(card)
    assert len(messages) == 1
    text, blocks = messages[0]
    check_message(messages[0])  # slack_sdk's models and Slack's documented limits
    check_view(sb.home_view(card))
    assert fake_check(blocks, "/blocks", MAX_MESSAGE_BLOCKS) == []
    tr = Tr(language)
    headers = [b["text"]["text"] for b in blocks if b["type"] == "header"]
    assert headers[1:] == [
        tr("summary.caption_one", seq=2),
        tr("summary.gap_title_sector"),
        tr("summary.activity", days=30),
    ]
    with_fields = [b for b in blocks if "fields" in b]
    assert all(len(b["fields"]) <= SECTION_FIELDS for b in with_fields)
    assert all(
        len(f["text"]) <= FIELD_TEXT and f["verbatim"] for b in with_fields for f in b["fields"]
    )
    dimensions = with_fields[0]
    assert dimensions["text"]["text"] == " · ".join(
        [
            f"{tr('summary.col_dimension')} — {tr('summary.col_mean')}",
            tr("summary.col_change"),
            tr("summary.col_spread"),
        ]
    )
    pairs = [f["text"] for f in dimensions["fields"]]
    mean = "3,6" if language == "fr" else "3.6"
    assert pairs[0] == f"*{tr('dimension.vision')}*"  # the row's label, in bold
    assert pairs[1].startswith(f"{mean} · ↑ +0") and "▁▃▇█▄" in pairs[1]
    # The real client posts it, and the strict fake accepts it.
    client = plain_client(slack)
    answer = await client.chat_postMessage(channel=CHANNEL, text=text, blocks=blocks)
    assert answer["ok"] and slack.messages_in(CHANNEL)[-1].blocks == blocks


def test_slack_splits_a_long_table_over_sections_of_five_rows() -> None:
    rows = [TableRow(label=f"Condition {n}", cells=[TableCell(text=f"{n},0")]) for n in range(12)]
    card = Card(title="T", blocks=[Table(caption="C", header=["Condition", "Moyenne"], rows=rows)])
    ((_, blocks),) = sb.messages_for(card)
    check_message(("T", blocks))
    sections = [b for b in blocks if "fields" in b]
    assert [len(b["fields"]) for b in sections] == [10, 10, 4]
    assert [f["text"] for f in sections[2]["fields"]] == [
        "*Condition 10*",
        "10,0",
        "*Condition 11*",
        "11,0",
    ]
    assert all(b["text"]["text"] == "Condition — Moyenne" for b in sections)


def test_slack_keeps_tables_whole_when_paragraphs_are_packed() -> None:
    """Past 50 blocks, neighbouring paragraphs are joined: a section of fields never is."""
    card = sample_card("fr")
    many = Card(title=card.title, blocks=[*card.blocks] + list(card.blocks) * 6)
    for _, blocks in sb.messages_for(many):
        check_message(("x", blocks))
    fields = [b for _, blocks in sb.messages_for(many) for b in blocks if "fields" in b]
    assert len(fields) == 7 * 3


# --------------------------------------------------------------------------- Teams
def _cards_tables(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in content["body"] if e["type"] == "Table"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_teams_shows_an_adaptive_table_at_full_width(language: str) -> None:
    card = sample_card(language, coordinator=True)
    content = adaptive_card(card)
    assert content["version"] == "1.5" and content["msteams"] == {"width": "Full"}
    tables = _cards_tables(content)
    assert len(tables) == 3
    tr = Tr(language)
    for table, model in zip(tables, [b for b in card.blocks if isinstance(b, Table)], strict=True):
        # The shape Adaptive Cards 1.5 defines: columns, then rows of TableRow / TableCell.
        assert set(table) <= {
            "type",
            "columns",
            "rows",
            "firstRowAsHeader",
            "showGridLines",
            "verticalCellContentAlignment",
        }
        assert len(table["columns"]) == len(model.header)
        assert all(isinstance(c["width"], int) and c["width"] > 0 for c in table["columns"])
        assert table["firstRowAsHeader"] is True
        assert len(table["rows"]) == len(model.rows) + 1
        for row in table["rows"]:
            assert row["type"] == "TableRow" and len(row["cells"]) == len(model.header)
            for cell in row["cells"]:
                assert cell["type"] == "TableCell" and len(cell["items"]) == 1
                (item,) = cell["items"]
                assert item["type"] == "RichTextBlock"  # literal text, never markdown
                assert [i["type"] for i in item["inlines"]] == ["TextRun"]
                assert item["inlines"][0]["text"]
    first = tables[0]
    heading = [c["items"][0]["inlines"][0]["text"] for c in first["rows"][0]["cells"]]
    assert heading[1] == tr("summary.col_mean")
    vision = [c["items"][0]["inlines"][0]["text"] for c in first["rows"][1]["cells"]]
    assert vision[:3] == [tr("dimension.vision"), "3,6" if language == "fr" else "3.6", vision[2]]
    assert vision[2].startswith("↑ +0")
    # The caption comes just before its table.
    index = content["body"].index(first)
    assert content["body"][index - 1]["inlines"][0]["text"] == tr("summary.caption_one", seq=2)
    json.dumps(content)  # serialisable as the activity's attachment


def test_teams_cards_without_tables_keep_their_default_width() -> None:
    from dialogs.cards import notice

    assert "msteams" not in adaptive_card(notice("Titre", "Texte"))


# --------------------------------------------------------------------------- sandbox
class Structure(HTMLParser):
    """The tags of a fragment with their attributes, and the text inside each table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sandbox_shows_a_semantic_html_table(language: str) -> None:
    tr = Tr(language)
    html = card_html(sample_card(language), number=4, view=CardView("nadia", tr))
    parser = Structure()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    assert tags.count("table") == 3 and tags.count("caption") == 3
    col = [a for t, a in parser.tags if t == "th" and a.get("scope") == "col"]
    row = [a for t, a in parser.tags if t == "th" and a.get("scope") == "row"]
    assert len(col) == 4 + 4 + 2 and len(row) == 4 + 4 + 3
    assert f"<caption>{tr('summary.caption_one', seq=2)}</caption>" in html
    assert f'<th scope="row">{tr("dimension.vision")}</th>' in html
    # The bar is an image named by the answers it draws.
    alt = tr("summary.spread_alt", n=14, counts="0, 1, 5, 6, 2")
    assert f'<span role="img" aria-label="{alt}">▁▃▇█▄' in html
    # The note describes the table it explains.
    described = re.search(r'<table class="figures" id="(m4-f\d+)" aria-describedby="([^"]+)"', html)
    assert described and f'<p class="table-note" id="{described[2]}">' in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_the_sandbox_escapes_table_text() -> None:
    table = Table(
        caption="<b>x</b>",
        header=["<i>", "&"],
        rows=[TableRow(label="<script>", cells=[TableCell(text="<a>", alt='"q"')])],
    )
    html = card_html(Card(title="T", blocks=[table]), number=1, view=CardView("p", Tr("fr")))
    assert "<script>" not in html and "<b>" not in html and "<a>" not in html
    assert "&lt;script&gt;" in html and 'aria-label="&quot;q&quot;"' in html


def test_slack_bolds_a_label_without_letting_its_text_format() -> None:
    rows = [TableRow(label="*a* _b_ <!here>", cells=[TableCell(text="`c`")])]
    card = Card(title="T", blocks=[Table(caption="C", header=["x", "y"], rows=rows)])
    ((_, blocks),) = sb.messages_for(card)
    label, cells = next(b for b in blocks if "fields" in b)["fields"]
    assert label["text"].startswith("*") and label["text"].endswith("*")
    assert "*" not in label["text"][1:-1] and "<" not in label["text"]
    assert "`" not in cells["text"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_saved_block_kit_builder_payloads_are_what_slack_is_sent(language: str) -> None:
    """docs/images/slack-summary-{fr,en}.json: paste into Block Kit Builder to see the card."""
    saved = json.loads(Path(f"docs/images/slack-summary-{language}.json").read_text("utf-8"))
    ((_, blocks),) = sb.messages_for(sample_card(language, coordinator=True))
    assert saved == {"blocks": blocks}
