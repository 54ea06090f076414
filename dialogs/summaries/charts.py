"""The summary's chart: dimension trends and the sector gap, as a PNG.

Colours come from the Okabe-Ito palette (readable with colour-vision deficiencies), and each
series also differs by marker and line style, so the chart reads in grey too.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

# The object-oriented Figure needs no pyplot, no GUI backend and no global state.
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dialogs.i18n import Tr
from dialogs.summaries.pulse import PulseSummary, trend

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
MARKERS = ("o", "s", "^", "D")
LINES = ("-", "--", "-.", ":")


def pulse_chart(summary: PulseSummary, tr: Tr) -> bytes:
    figure = Figure(figsize=(11, 5), dpi=100)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    _trends(left, summary, tr)
    _sector_gap(right, summary, tr)
    figure.suptitle(tr("chart.title", team=summary.team_name), fontsize=12)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _trends(axes: Axes, summary: PulseSummary, tr: Tr) -> None:
    labels = [
        tr("chart.unit", first=u.first_seq)
        if u.first_seq == u.last_seq
        else tr("chart.units", first=u.first_seq, last=u.last_seq)
        for u in summary.units
    ]
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
            linestyle=LINES[i % 4],
            linewidth=2,
        )
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    axes.set_ylim(1, 5)
    axes.set_ylabel(tr("chart.mean"))
    axes.set_title(tr("chart.trends"), fontsize=11)
    axes.grid(axis="y", alpha=0.3)
    if axes.get_lines():
        axes.legend(
            fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False
        )
    else:
        axes.text(0.5, 0.5, tr("chart.nothing"), ha="center", va="center", transform=axes.transAxes)


def _sector_gap(axes: Axes, summary: PulseSummary, tr: Tr) -> None:
    latest = summary.latest
    dims = summary.dimensions()
    bars = 0
    for offset, (sector, colour, hatch) in enumerate(
        (("public", OKABE_ITO[0], ""), ("community", OKABE_ITO[1], "//"))
    ):
        values = [
            (i, f.mean)
            for i, d in enumerate(dims)
            if latest and (f := summary.disclosure.get(latest.key, d, "sector", sector))
        ]
        if values:
            xs, ys = zip(*values, strict=True)
            # The scale starts at 1: bars grow from there, not from an empty zero.
            axes.bar(
                [x + (offset - 0.5) * 0.38 for x in xs],
                [y - 1 for y in ys],
                bottom=1,
                width=0.38,
                color=colour,
                hatch=hatch,
                edgecolor="black",
                label=tr(f"sector.{sector}"),
            )
            bars += len(values)
    axes.set_xticks(
        range(len(dims)), [tr(f"dimension.{d}") for d in dims], rotation=30, ha="right", fontsize=8
    )
    axes.set_ylim(1, 5)
    axes.set_title(tr("chart.gap"), fontsize=11)
    if bars:
        axes.legend(
            fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=1, frameon=False
        )
    else:
        axes.text(
            0.5,
            0.5,
            tr("chart.gap_hidden", k=summary.k),
            ha="center",
            va="center",
            wrap=True,
            transform=axes.transAxes,
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
