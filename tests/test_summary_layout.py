"""The summary card's content for a known round (tests/summary_layout_sample.py): the headline,
one row per dimension with its mean, its change and its answers, the sector gap shown at k and
hidden above it, then the open answers; in French and English. The renderers of the same card:
tests/test_summary_layout_render.py."""

from __future__ import annotations

import pytest

from dialogs.cards import Card, Paragraph, Table
from dialogs.i18n import Tr
from tests.summary_layout_sample import sample_card, sample_summary

NBSP = "\u00a0"


def tables(card: Card) -> dict[str, Table]:
    return {b.caption: b for b in card.blocks if isinstance(b, Table)}


def paragraphs(card: Card) -> list[str]:
    return [b.text for b in card.blocks if isinstance(b, Paragraph)]


def everything(card: Card) -> str:
    return "\n".join(b.text for b in card.blocks if isinstance(b, Paragraph | Table))


def test_the_headline_says_who_answered_in_words_and_what_moved_most() -> None:
    french, english = sample_card("fr"), sample_card("en")
    assert paragraphs(french)[0] == (
        f"Bilan nᵒ{NBSP}2{NBSP}: 7 personnes sur 9 ont répondu. "
        f"Plus forte variation{NBSP}: Vision et finalités, ↑ +0,6."
    )
    assert paragraphs(english)[0] == (
        "Check-in no. 2: 7 of 9 people asked answered. Largest change: Vision and aims, ↑ +0.6."
    )
    # Participation is said once: neither the table nor another paragraph repeats "sur 9".
    assert everything(french).count("sur 9") == 1 and everything(english).count("of 9") == 1


def test_one_row_per_dimension_with_mean_arrow_and_answers() -> None:
    for language, rows in {
        "fr": [
            ("Vision et finalités", "3,6", "↑ +0,6", f"▁▃▇█▄ 14{NBSP}réponses"),
            ("Fonctions et contributions", "3,4", "↓ −0,1", f"▁▃▇█▁ 14{NBSP}réponses"),
            ("Relation et communication", "4,0", "→ 0,0", f"▁▁▁█▁ 14{NBSP}réponses"),
            ("Pouvoirs et ressources", "2,6", "↑ +0,1", f"▃█▇▄▁ 14{NBSP}réponses"),
        ],
        "en": [
            ("Vision and aims", "3.6", "↑ +0.6", "▁▃▇█▄ 14 answers"),
            ("Functions and contributions", "3.4", "↓ −0.1", "▁▃▇█▁ 14 answers"),
            ("Relationship and communication", "4.0", "→ 0.0", "▁▁▁█▁ 14 answers"),
            ("Powers and resources", "2.6", "↑ +0.1", "▃█▇▄▁ 14 answers"),
        ],
    }.items():
        card = sample_card(language)
        tr = Tr(language)
        table = tables(card)[tr("summary.caption_one", seq=2)]
        assert table.header == [
            tr("summary.col_dimension"),
            tr("summary.col_mean"),
            tr("summary.col_change"),
            tr("summary.col_spread"),
        ]
        assert [(r.label, *(c.text for c in r.cells)) for r in table.rows] == rows
        # The bar is read out as the answers it draws; they are answers, not people (7 people
        # answered two statements each), and the note says so.
        vision = table.rows[0].cells[2]
        assert vision.alt == tr("summary.spread_alt", n=14, counts="0, 1, 5, 6, 2")
        assert "personnes" not in vision.alt and "people" not in vision.alt
        assert tr("summary.note") == table.note
        assert ("plus de réponses que de personnes" if language == "fr" else "more answers") in (
            table.note
        )


def test_the_sector_gap_is_shown_at_k() -> None:
    card = sample_card("fr", k=3)
    gap = tables(card)["Écarts de perception entre secteurs"]
    assert gap.header == ["Dimension", "Réseau public", "Organismes communautaires", "Écart"]
    assert gap.rows[0].label == "Vision et finalités"
    assert [c.text for c in gap.rows[0].cells] == ["4,0", "3,2", "0,8"]
    english = tables(sample_card("en", k=3))["Perception gaps between sectors"]
    assert [c.text for c in english.rows[0].cells] == ["4.0", "3.2", "0.8"]
    # Nothing says positions are hidden: this team records none.
    assert "postes" not in everything(card)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_sector_gap_is_hidden_under_k_even_by_subtraction(language: str) -> None:
    """k = 4: three community people are under k, so the public network's mean is withheld
    too (the overall mean minus it would give the community's). No sector figure anywhere."""
    tr = Tr(language)
    card = sample_card(language, k=4)
    assert tr("summary.gap_title_sector") not in tables(card)
    assert tr("summary.gap_hidden_sector", k=4) in paragraphs(card)
    text = everything(card)
    assert tr("summary.segment.public") not in text and tr("summary.segment.community") not in text
    withheld = sample_summary(k=4).disclosure.withheld
    assert {(w.segment, w.reason) for w in withheld if w.unit == 2 and w.dimension == "vision"} == {
        ("community", "under_k"),
        ("public", "complementary"),
    }
    # The rows of everyone's figures are still there: seven people are at least k.
    assert len(tables(card)[tr("summary.caption_one", seq=2)].rows) == 4


def test_then_the_open_answers_as_people_wrote_them() -> None:
    card = sample_card("fr")
    kinds = [
        "table" if isinstance(b, Table) else ("quote" if b.from_user else "text")
        for b in card.blocks
        if isinstance(b, Paragraph | Table)
    ]
    # headline, dimensions, sector gap, the open answers' heading and quotes, the activity.
    assert kinds == ["text", "table", "table", "text", "quote", "quote", "table"]
    assert paragraphs(card)[1] == f"2 réponses à la question ouverte{NBSP}:"
    assert sample_card("en").blocks[3].text == "2 answers to the open question:"  # type: ignore[union-attr]


def test_a_first_result_and_an_unpublished_round() -> None:
    from dataclasses import replace

    from dialogs.content import default_bank
    from dialogs.summaries.card import summary_card
    from dialogs.summaries.store import LatestRound

    first = replace(sample_summary(), units=sample_summary().units[:1])
    first = replace(first, latest_round=LatestRound(seq=1, kind="checkin", asked=9, answered=7))
    card = summary_card(
        first, default_bank(), Tr("fr"), chart=None, team_slug="demo", coordinator=False
    )
    assert "variation" not in paragraphs(card)[0]  # nothing to compare with yet
    assert all(r.cells[1].text == "—" for r in tables(card)["Résultats du bilan nᵒ\u00a01"].rows)

    later = replace(
        sample_summary(),
        latest_round=LatestRound(seq=3, kind="checkin", asked=9, answered=1),
        latest_published=False,
    )
    card = summary_card(
        later, default_bank(), Tr("fr"), chart=None, team_slug="demo", coordinator=False
    )
    lead, why = paragraphs(card)[:2]
    assert lead == f"Bilan nᵒ{NBSP}3{NBSP}: 1 personne sur 9 a répondu."  # singular, no "(s)"
    assert why.startswith("Pas encore assez")
    caption = f"Derniers résultats montrés{NBSP}: bilan nᵒ{NBSP}2, 7 personnes sur 9"
    assert caption in tables(card)


def test_the_chart_goes_with_a_short_title_and_its_alternative_text() -> None:
    from dialogs.content import default_bank
    from dialogs.summaries.card import summary_card

    for language, title in (
        ("fr", "Graphique du sommaire — Équipe mixte Laval"),
        ("en", "Summary chart — Équipe mixte Laval"),
    ):
        card = summary_card(
            sample_summary(),
            default_bank(),
            Tr(language),
            chart=b"\x89PNG\r\n\x1a\n",
            team_slug="demo",
            coordinator=False,
        )
        (chart,) = card.attachments
        assert chart.title == title and chart.media_type == "image/png"
        assert len(chart.description) > len(chart.title)  # the alternative text says more
        assert Card.model_validate_json(card.model_dump_json()) == card


def test_the_diagnostic_is_a_table_of_six_conditions_never_under_k() -> None:
    """Conditions answered by 4 people are shown with their mean; one answered by 2 is not."""
    from dataclasses import replace

    from dialogs.content import default_bank
    from dialogs.disclosure import Cell, disclose
    from dialogs.summaries.card import summary_card
    from dialogs.summaries.pulse import Unit

    bank = default_bank()
    ids = [c.id for c in bank.conditions]
    cells = [
        Cell(9, f"diagnostic:{c}", "public", None, 2 if c == ids[-1] else 4, 4, 14, (0, 0, 2, 2, 0))
        for c in ids
    ]
    summary = sample_summary()
    summary = replace(
        summary,
        diagnostic=Unit(9, "diagnostic", 1, 1, 9, 4),
        disclosure=disclose([*cells], 3),
    )
    card = summary_card(summary, bank, Tr("fr"), chart=None, team_slug="demo", coordinator=False)
    table = tables(card)[f"Diagnostic des six conditions (bilan nᵒ{NBSP}1)"]
    assert [r.label for r in table.rows] == [c.label.get("fr") for c in bank.conditions]
    assert [c.text for c in table.rows[0].cells] == ["3,5", "4 personnes"]
    assert [c.text for c in table.rows[-1].cells] == ["—", "masqué, moins de 3 personnes"]
    assert "2 personnes" not in everything(card)
