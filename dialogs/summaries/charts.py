"""The summary's chart: dimension trends and, when k allows it, the sector gap, as a PNG.

Sized for where it is read: Teams documents card images up to 1024 px and draws them about
414 px wide, Slack about as wide on a phone. The PNG is 800 px wide (about twice the width it is
drawn at, sharp on dense screens), so every text is at least 16 pt (22 px) here to stay
about 11 px high once shrunk. Few labels: integer ticks, the latest value at the end of each
line, dimension names wrapped on the left of the bars.

Panels are stacked, not side by side, so each keeps the whole width. A panel with nothing to
show (the sector gap withheld under k) is not drawn at all: the note below the chart and the alt
text say what is missing, and the note has its own row of the layout (it cannot overlap).

Colours come from the Okabe-Ito palette (readable with colour-vision deficiencies); series
also differ by marker, line style or hatch, so the chart reads in grey too.
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections import OrderedDict
from dataclasses import dataclass

# The object-oriented Figure needs no pyplot, no GUI backend and no global state.
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dialogs.i18n import Tr
from dialogs.summaries.pulse import PulseSummary, trend

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
MARKERS = ("o", "s", "^", "D")
LINES = ("-", "--", "-.", ":")
SECTORS = ("public", "community")
HATCHES = ("", "//")

WIDTH_PX = 800  # <= 1024 (Teams), about twice the ~414 px a card draws it at
MAX_HEIGHT_PX = 1024  # Teams' limit too
DPI = 100
TEXT_PT = 16  # ~22 px in the PNG, ~11 px once drawn at card width
TITLE_PT = 19
TRENDS_IN = 4.9  # the trends panel's height, its legend included
GAP_IN_PER_DIMENSION = 0.85
NOTE_IN = 0.9


@dataclass(frozen=True)
class Layout:
    """What the chart will show: the panels drawn, and the note for what is withheld."""

    trends: bool
    gap_dimensions: tuple[str, ...]
    note: str | None


def decimal(value: float, tr: Tr) -> str:
    """One decimal, with the reader's separator (3,3 in French)."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if tr.language == "fr" else text


def layout(summary: PulseSummary, tr: Tr) -> Layout:
    dims = summary.dimensions()
    has_trend = any(f is not None for d in dims for _, f in trend(summary, d))
    latest = summary.latest
    # The dimensions the latest result shows; the gap needs both sectors of one (the card's rule).
    present = [d for d in dims if latest and summary.disclosure.get(latest.key, d) is not None]
    shown = tuple(d for d in present if all(_sector(summary, d, s) is not None for s in SECTORS))
    note = None
    if not has_trend:
        note = tr("summary.chart.nothing")
    elif len(shown) < len(present):
        key = "summary.chart.gap_partly_hidden" if shown else "summary.chart.gap_hidden"
        note = tr(key, k=summary.k)
    return Layout(has_trend, shown if has_trend else (), note)


def alt_text(summary: PulseSummary, tr: Tr) -> str:
    """The chart in words: what each panel shows, and what is withheld and why."""
    plan = layout(summary, tr)
    parts = []
    if plan.trends:
        parts.append(tr("summary.chart.alt_trends", n=len(summary.units)))
    if plan.gap_dimensions:
        parts.append(tr("summary.chart.alt_gap"))
    if plan.note:
        parts.append(plan.note)
    return " ".join(parts)


def figure_for(summary: PulseSummary, tr: Tr) -> Figure:
    """The chart, unsaved: tests read its texts and boxes before it becomes pixels."""
    plan = layout(summary, tr)
    gap_in = GAP_IN_PER_DIMENSION * len(plan.gap_dimensions) + 1.0 if plan.gap_dimensions else 0
    heights = [h for h in (TRENDS_IN if plan.trends else 0, gap_in) if h]
    note_in = NOTE_IN if plan.note else 0
    total = min(sum(heights) + note_in + 0.6, MAX_HEIGHT_PX / DPI)  # 0.6: the title's row
    figure = Figure(figsize=(WIDTH_PX / DPI, total), dpi=DPI, layout="constrained")
    figure.suptitle(summary.team_name, fontsize=TITLE_PT, fontweight="bold")
    if heights:
        panels = figure.subplots(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
        if plan.trends:
            _trends(panels[0], summary, tr)
        if plan.gap_dimensions:
            _sector_gap(panels[-1], summary, plan.gap_dimensions, tr)
    if plan.note:
        # A layout row of its own (constrained layout places the supxlabel): never over a tick.
        figure.supxlabel(textwrap.fill(plan.note, 56), fontsize=TEXT_PT, style="italic")
    return figure


def pulse_chart(summary: PulseSummary, tr: Tr) -> bytes:
    buffer = io.BytesIO()
    figure_for(summary, tr).savefig(buffer, format="png")
    return buffer.getvalue()


def _unit_label(first: int, last: int, tr: Tr) -> str:
    if first == last:
        return tr("summary.chart.unit", first=first)
    return tr("summary.chart.units", first=first, last=last)


def _trends(axes: Axes, summary: PulseSummary, tr: Tr) -> None:
    labels = [_unit_label(u.first_seq, u.last_seq, tr) for u in summary.units]
    for i, dimension in enumerate(summary.dimensions()):
        points = [(x, f.mean) for x, (_, f) in enumerate(trend(summary, dimension)) if f]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        axes.plot(
            xs,
            ys,
            label=tr(f"dimension.{dimension}"),
            color=OKABE_ITO[i % 6],
            marker=MARKERS[i % 4],
            markersize=9,
            linestyle=LINES[i % 4],
            linewidth=3,
        )
        # The latest value, written once at the end of its line: the one number that matters.
        axes.annotate(
            decimal(ys[-1], tr),
            (xs[-1], ys[-1]),
            xytext=(10, 0),
            textcoords="offset points",
            va="center",
            fontsize=TEXT_PT,
            color=OKABE_ITO[i % 6],
            fontweight="bold",
        )
    axes.set_xticks(range(len(labels)), labels, fontsize=TEXT_PT)
    axes.set_xlim(-0.3, len(labels) - 0.4)
    axes.set_ylim(1, 5)
    axes.set_yticks([1, 2, 3, 4, 5], ["1", "2", "3", "4", "5"], fontsize=TEXT_PT)
    axes.set_title(tr("summary.chart.trends"), fontsize=TEXT_PT + 1, loc="left")
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    # One column: the long dimension names of a two-column legend overflow the narrower
    # panel that the gap's wrapped names leave.
    axes.legend(
        fontsize=TEXT_PT - 1,
        loc="upper left",
        bbox_to_anchor=(0.0, -0.12),
        ncol=1,
        frameon=False,
        handlelength=2.5,
    )


def _sector(summary: PulseSummary, dimension: str, sector: str) -> float | None:
    latest = summary.latest
    if latest is None:
        return None
    figure = summary.disclosure.get(latest.key, dimension, "sector", sector)
    return figure.mean if figure is not None else None


def _sector_gap(axes: Axes, summary: PulseSummary, dims: tuple[str, ...], tr: Tr) -> None:
    """Horizontal bars, dimension names on the left: long names stay whole and level."""
    height = 0.38
    for offset, sector in enumerate(SECTORS):
        ys = [row + (offset - 0.5) * height for row in range(len(dims))]
        means = [_sector(summary, d, sector) or 1.0 for d in dims]
        # The scale starts at 1: bars grow from there, not from an empty zero.
        bars = axes.barh(
            ys,
            [m - 1 for m in means],
            left=1,
            height=height,
            color=OKABE_ITO[offset],
            hatch=HATCHES[offset],
            edgecolor="black",
            label=tr(f"summary.segment.{sector}"),  # as the summary's tables name it
        )
        axes.bar_label(
            bars, [decimal(m, tr) for m in means], padding=6, fontsize=TEXT_PT, fontweight="bold"
        )
    axes.set_yticks(
        range(len(dims)), [textwrap.fill(tr(f"dimension.{d}"), 16) for d in dims], fontsize=TEXT_PT
    )
    axes.invert_yaxis()  # the first dimension on top, as in the card
    axes.set_xlim(1, 5.6)  # room for the value after a bar at 5
    axes.set_xticks([1, 2, 3, 4, 5], ["1", "2", "3", "4", "5"], fontsize=TEXT_PT)
    axes.set_title(tr("summary.chart.gap"), fontsize=TEXT_PT + 1, loc="left")
    axes.grid(axis="x", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(
        fontsize=TEXT_PT - 1, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, frameon=False
    )


_CACHE: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
_CACHE_SIZE = 64
_LOCK = threading.Lock()


def cached_chart(summary: PulseSummary, tr: Tr) -> bytes:
    """The chart, drawn once per team, set of units shown and language.

    Frozen units never change, so the same units always draw the same picture; a new unit
    (or a new name or k) gives a new key.
    """
    key = (
        summary.team_name,
        summary.k,
        tr.language,
        tuple(u.key for u in summary.units),
        summary.diagnostic.key if summary.diagnostic else None,
    )
    with _LOCK:  # drawn in worker threads (asyncio.to_thread)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    png = pulse_chart(summary, tr)
    with _LOCK:
        _CACHE[key] = png
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return png
