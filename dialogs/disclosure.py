"""What a summary may show: the one place where the k rule is enforced for readers.

Input: aggregates per (unit, dimension, sector, position) computed by the database. A *unit*
is one closed round, or several consecutive small rounds pooled together; units never overlap
and, once published, never change, so two summaries can only differ by whole units.

Rules, for each unit and dimension:
- nothing is shown unless at least k respondents gave a value;
- a breakdown (by sector, by position) shows a segment only when it has at least k respondents
  and the respondents of the segments not shown are 0 or at least k (complementary
  suppression: the total minus the shown segments must not expose a small group);
- both breakdowns are shown together only when every (sector, position) cell is 0 or >= k, so
  combining them cannot pin down a small cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from dialogs.anonymity import effective_k

Group = tuple[str | None, str | None]  # (sector, position) as recorded on ballots


# Cells, figures and withheld entries are named tuples: immutable like frozen dataclasses, and
# built in a third of the time (a summary builds about a hundred of them).
class Cell(NamedTuple):
    """Aggregates of one (unit, dimension, sector, position) group."""

    unit: int
    dimension: str
    sector: str | None
    position: str | None
    respondents: int  # distinct ballots with at least one value in the dimension
    values: int  # non-null answers
    total: int  # sum of the values
    counts: tuple[int, int, int, int, int]  # answers of 1..5


class Figure(NamedTuple):
    unit: int
    dimension: str
    breakdown: str  # "all" | "sector" | "position"
    segment: str | None
    respondents: int
    mean: float
    counts: tuple[int, int, int, int, int] | None  # the distribution, for "all" only
    groups: frozenset[Group]  # what it covers, so tests can check every difference


class Withheld(NamedTuple):
    unit: int
    dimension: str
    breakdown: str
    segment: str | None
    reason: str  # "under_k" | "complementary" | "cross_cells"


@dataclass(frozen=True)
class Disclosure:
    figures: tuple[Figure, ...]
    withheld: tuple[Withheld, ...]

    def get(
        self, unit: int, dimension: str, breakdown: str = "all", segment: str | None = None
    ) -> Figure | None:
        for f in self.figures:
            if (f.unit, f.dimension, f.breakdown, f.segment) == (
                unit,
                dimension,
                breakdown,
                segment,
            ):
                return f
        return None


def disclose(cells: Iterable[Cell], k: int) -> Disclosure:
    k = effective_k(k)
    by_key: dict[tuple[int, str], list[Cell]] = {}
    for cell in cells:
        key = (cell.unit, cell.dimension)
        group = by_key.get(key)
        if group is None:
            by_key[key] = [cell]
        else:
            group.append(cell)
    figures: list[Figure] = []
    withheld: list[Withheld] = []
    for unit, dimension in sorted(by_key):
        _one(unit, dimension, by_key[(unit, dimension)], k, figures, withheld)
    return Disclosure(tuple(figures), tuple(withheld))


# A segment's running sums while the cells of one (unit, dimension) are read once:
# [respondents, values, total, groups covered].
_Sums = list[Any]


def _one(
    unit: int,
    dimension: str,
    cells: list[Cell],
    k: int,
    figures: list[Figure],
    withheld: list[Withheld],
) -> None:
    """Append the figures and the withheld entries of one (unit, dimension), in this order:
    everyone, sectors, positions; withheld: sectors, then positions."""
    respondents = values = total = 0
    c1 = c2 = c3 = c4 = c5 = 0
    by_sector: dict[str | None, _Sums] = {}
    by_position: dict[str | None, _Sums] = {}
    cross: dict[Group, int] = {}  # respondents per (sector, position) group
    for cell in cells:
        n, v, t = cell.respondents, cell.values, cell.total
        respondents += n
        values += v
        total += t
        counts = cell.counts
        c1 += counts[0]
        c2 += counts[1]
        c3 += counts[2]
        c4 += counts[3]
        c5 += counts[4]
        sector, position = group = (cell.sector, cell.position)
        cross[group] = cross.get(group, 0) + n
        sums = by_sector.get(sector)
        if sums is None:
            by_sector[sector] = [n, v, t, {group}]
        else:
            sums[0] += n
            sums[1] += v
            sums[2] += t
            sums[3].add(group)
        sums = by_position.get(position)
        if sums is None:
            by_position[position] = [n, v, t, {group}]
        else:
            sums[0] += n
            sums[1] += v
            sums[2] += t
            sums[3].add(group)
    if respondents < k:
        withheld.append(Withheld(unit, dimension, "all", None, "under_k"))
        return
    figures.append(
        Figure(
            unit,
            dimension,
            "all",
            None,
            respondents,
            total / values if values else 0.0,
            (c1, c2, c3, c4, c5),
            frozenset(cross),
        )
    )
    sectors, sector_hidden = _breakdown(unit, dimension, "sector", by_sector, respondents, k)
    positions, position_hidden = _breakdown(
        unit, dimension, "position", by_position, respondents, k
    )
    if sectors and positions and not _cross_cells_safe(cross, k):
        position_hidden += [
            Withheld(unit, dimension, "position", f.segment, "cross_cells") for f in positions
        ]
        positions = []
    figures += sectors
    figures += positions
    withheld += sector_hidden
    withheld += position_hidden


def _breakdown(
    unit: int,
    dimension: str,
    breakdown: str,
    segments: dict[str | None, _Sums],
    total: int,
    k: int,
) -> tuple[list[Figure], list[Withheld]]:
    """`total` is the respondents of every segment, the unrecorded one (None) included."""
    visible = {s for s, sums in segments.items() if s is not None and sums[0] >= k}
    if len(visible) == len(segments):  # every segment shown: nothing to hide, no remainder
        return [_figure(unit, dimension, breakdown, s, segments[s]) for s in sorted(visible)], []
    reasons = {s: "under_k" for s in segments if s is not None and s not in visible}
    while visible:
        rest = total - sum(segments[s][0] for s in visible)
        if rest == 0 or rest >= k:
            break
        smallest = min(visible, key=lambda s: (segments[s][0], s or ""))
        visible.remove(smallest)
        reasons[smallest] = "complementary"
    shown = [_figure(unit, dimension, breakdown, s, segments[s]) for s in sorted(visible, key=str)]
    hidden = [
        Withheld(unit, dimension, breakdown, s, r) for s, r in sorted(reasons.items(), key=str)
    ]
    return shown, hidden


def _figure(unit: int, dimension: str, breakdown: str, segment: str | None, sums: _Sums) -> Figure:
    respondents, values, total, groups = sums
    return Figure(
        unit,
        dimension,
        breakdown,
        segment,
        respondents,
        total / values if values else 0.0,
        None,
        frozenset(groups),
    )


def _cross_cells_safe(cross: dict[Group, int], k: int) -> bool:
    # Conservative on purpose: with two breakdowns and a total, several linear combinations
    # exist; requiring every cell (unrecorded ones included) to be 0 or >= k closes them all.
    return all(n == 0 or n >= k for n in cross.values())


def generalise(cells: Iterable[Cell], k: int) -> list[Cell]:
    """The cells as they may rest in the database: what `disclose` would show, nothing finer.

    Per (unit, dimension): a segment that `disclose` would not show (under k, or hidden so the
    rest cannot be found by subtraction, or positions dropped for the cross cells) is merged
    into the unrecorded segment (None); a dimension under k keeps only an empty marker (so a
    summary still says it was asked and withheld). Every cell left holds 0 or at least k
    respondents, and `disclose` on the result shows the same figures as on the input.
    """
    k = effective_k(k)
    by_key: dict[tuple[int, str], list[Cell]] = {}
    for cell in cells:
        by_key.setdefault((cell.unit, cell.dimension), []).append(cell)
    kept: list[Cell] = []
    for (unit, dimension), group in sorted(by_key.items()):
        figures: list[Figure] = []
        _one(unit, dimension, group, k, figures, [])
        if not figures:
            kept.append(Cell(unit, dimension, None, None, 0, 0, 0, (0, 0, 0, 0, 0)))
            continue
        sectors = {f.segment for f in figures if f.breakdown == "sector"}
        positions = {f.segment for f in figures if f.breakdown == "position"}
        merged: dict[Group, list[int]] = {}
        for cell in group:
            key = (
                cell.sector if cell.sector in sectors else None,
                cell.position if cell.position in positions else None,
            )
            sums = merged.setdefault(key, [0] * 8)
            for i, n in enumerate((cell.respondents, cell.values, cell.total, *cell.counts)):
                sums[i] += n
        for (sector, position), sums in sorted(merged.items(), key=str):
            n, v, t, c1, c2, c3, c4, c5 = sums
            kept.append(Cell(unit, dimension, sector, position, n, v, t, (c1, c2, c3, c4, c5)))
    return kept
