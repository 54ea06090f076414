"""The summary's chart (dialogs/summaries/charts.py): its real size in pixels, its texts in each
language (read from the figure before it is saved), no empty panel when k hides the sector gap,
and the note about a hidden panel clear of every label.

`python -m tests.test_summary_chart docs/images` draws the PNGs shown in the docs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import sys
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from dialogs.content import DIMENSIONS
from dialogs.disclosure import Cell, disclose
from dialogs.i18n import Tr
from dialogs.summaries import charts  # its package registers the summaries' strings
from dialogs.summaries.pulse import PulseSummary, Unit

K = 3
# Per unit, per dimension: (public answers, community answers) as lists of 1..5.
MEANS = {
    "vision": [(3, 4), (3, 4), (4, 4), (4, 4)],
    "roles": [(2, 3), (3, 3), (3, 3), (3, 4)],
    "relation": [(4, 4), (4, 5), (4, 4), (5, 4)],
    "power": [(2, 2), (2, 3), (2, 2), (3, 3)],
}


def _cell(unit: int, dimension: str, sector: str, values: list[int]) -> Cell:
    counts = tuple(values.count(v) for v in range(1, 6))
    return Cell(unit, dimension, sector, None, len(values), len(values), sum(values), counts)  # type: ignore[arg-type]


def sample_summary(*, community: int = 4, team: str = "Partenariat Rosemont") -> PulseSummary:
    """Four units of one round each; `community` people answered from the community sector in
    the latest (under k: its sector gap is withheld)."""
    units = tuple(
        Unit(key=i + 1, kind="checkin", first_seq=i + 1, last_seq=i + 1, asked=12, answered=8)
        for i in range(4)
    )
    cells = []
    for dimension in DIMENSIONS:
        for u, (public, other) in enumerate(MEANS[dimension]):
            size = community if u == 3 else 4
            cells.append(
                _cell(u + 1, dimension, "public", [public, min(public + 1, 5), public, public])
            )
            cells.append(_cell(u + 1, dimension, "community", [other] * (size - 1) + [other - 1]))
    return PulseSummary(
        team_name=team,
        k=K,
        pooling=False,
        latest_round=None,
        latest_published=True,
        units=units,
        diagnostic=None,
        disclosure=disclose(cells, K),
        texts=(),
        tensions={},
        successes=0,
        since=dt.date(2026, 10, 1),
    )


def texts(figure: Figure) -> list[str]:
    found = [t.get_text() for t in figure.findobj(Text) if t.get_visible()]
    return [t for t in found if t.strip()]


def drawn(figure: Figure) -> Figure:
    FigureCanvasAgg(figure).draw()  # type: ignore[no-untyped-call]
    return figure


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("community", [4, 2])
def test_the_png_fits_a_card_image(language: str, community: int) -> None:
    """Teams documents card images up to 1024 x 1024 px; the chart is drawn about 414 px
    wide, so it is at most twice that: its texts stay about 11 px once shrunk."""
    png = charts.pulse_chart(sample_summary(community=community), Tr(language))
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    assert width == charts.WIDTH_PX <= 1024 and height <= 1024
    assert 700 <= width <= 2 * 414
    figure = drawn(charts.figure_for(sample_summary(community=community), Tr(language)))
    smallest = min(float(t.get_fontsize()) for t in figure.findobj(Text) if t.get_text().strip())
    # In pixels at the PNG's dpi, then at the width a card draws it.
    assert smallest * charts.DPI / 72 * 414 / width >= 10


def test_french_labels_and_decimal_commas() -> None:
    figure = drawn(charts.figure_for(sample_summary(), Tr("fr")))
    shown = texts(figure)
    assert "Partenariat Rosemont" in shown
    assert "Moyenne par dimension, de 1 à 5" in shown
    assert {"nᵒ\u00a01", "nᵒ\u00a04"} <= set(shown)
    assert {"Vision et finalités", "Pouvoirs et ressources"} <= set(shown)  # the legend
    # The sectors named as the summary's tables name them.
    assert "Réseau public" in shown and "Organismes communautaires" in shown
    values = [t for t in shown if t[:1].isdigit() and len(t) == 3]
    # Latest unit, vision: public 4, 5, 4, 4 and community 4, 4, 4, 3: 4,0 overall, 4,2 and 3,8.
    assert {"4,0", "4,2", "3,8"} <= set(values)
    assert all("," in v for v in values)
    hidden = texts(drawn(charts.figure_for(sample_summary(community=2), Tr("fr"))))
    assert "3,3" in hidden  # roles: 3, 4, 3, 3 and 4, 3 -> 20 / 6


def test_english_labels_and_decimal_points() -> None:
    figure = drawn(charts.figure_for(sample_summary(), Tr("en")))
    shown = texts(figure)
    assert "Mean per dimension, from 1 to 5" in shown and "no. 4" in shown
    assert "Vision and aims" in shown and Tr("en")("summary.segment.public") in shown
    values = [t for t in shown if t[:1].isdigit() and len(t) == 3]
    assert values and all("." in v for v in values)


def test_a_hidden_sector_gap_draws_no_empty_panel() -> None:
    """Two community answers (k = 3): the gap panel is not drawn; the note says why, in its
    own row under the chart, and overlaps no label."""
    summary = sample_summary(community=2)
    figure = drawn(charts.figure_for(summary, Tr("fr")))
    assert len(figure.axes) == 1  # the trends alone
    (axes,) = figure.axes
    assert axes.get_lines() and axes.has_data()
    note = "Écart entre secteurs masqué\u00a0: un secteur compterait moins de 3 personnes."
    flat = note.replace(" ", "").replace("\u00a0", "")
    (note_text,) = [
        t
        for t in figure.findobj(Text)
        if t.get_text().replace("\n", "").replace(" ", "").replace("\u00a0", "") == flat
    ]
    assert "Organisme communautaire" not in texts(figure)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    note_box = note_text.get_window_extent(renderer)
    for text in axes.findobj(Text):
        if text.get_text().strip() and text.get_visible():
            assert not note_box.overlaps(text.get_window_extent(renderer)), text.get_text()
    legend = axes.get_legend()
    assert legend is not None and not note_box.overlaps(legend.get_window_extent(renderer))
    whole = axes.get_tightbbox(renderer)
    assert whole is not None and not note_box.overlaps(whole)
    alt = charts.alt_text(summary, Tr("fr"))
    assert alt.startswith("Graphique\u00a0: la moyenne de chaque dimension") and note in alt
    assert "En dessous" not in alt  # the missing panel is not described


def test_the_alt_text_names_both_panels_when_both_show() -> None:
    alt = charts.alt_text(sample_summary(), Tr("en"))
    assert "over the last 4 results" in alt and "each sector's mean" in alt
    assert "hidden" not in alt
    figure = drawn(charts.figure_for(sample_summary(), Tr("en")))
    assert len(figure.axes) == 2 and all(a.has_data() for a in figure.axes)


def test_panels_never_overlap_each_other() -> None:
    figure = drawn(charts.figure_for(sample_summary(), Tr("fr")))
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    top, bottom = (a.get_tightbbox(renderer) for a in figure.axes)
    assert top is not None and bottom is not None and not top.overlaps(bottom)
    legend = figure.axes[0].get_legend()
    assert legend is not None and not legend.get_window_extent(renderer).overlaps(bottom)


def test_nothing_to_show_draws_no_axes_only_the_note() -> None:
    summary = dataclasses.replace(sample_summary(), disclosure=disclose([], K))
    figure = drawn(charts.figure_for(summary, Tr("en")))
    assert not figure.axes and "No result to show yet." in texts(figure)
    assert charts.alt_text(summary, Tr("en")) == "No result to show yet."


def save_examples(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, summary, language in (
        ("summary-chart-fr.png", sample_summary(), "fr"),
        ("summary-chart-en.png", sample_summary(), "en"),
        ("summary-chart-hidden-fr.png", sample_summary(community=2), "fr"),
    ):
        (directory / name).write_bytes(charts.pulse_chart(summary, Tr(language)))


if __name__ == "__main__":
    save_examples(Path(sys.argv[1]))
