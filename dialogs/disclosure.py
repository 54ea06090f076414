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

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from dialogs.anonymity import effective_k

Group = tuple[str | None, str | None]  # (sector, position) as recorded on ballots


@dataclass(frozen=True)
class Cell:
    """Aggregates of one (unit, dimension, sector, position) group."""

    unit: int
    dimension: str
    sector: str | None
    position: str | None
    respondents: int  # distinct ballots with at least one value in the dimension
    values: int  # non-null answers
    total: int  # sum of the values
    counts: tuple[int, int, int, int, int]  # answers of 1..5


@dataclass(frozen=True)
class Figure:
    unit: int
    dimension: str
    breakdown: str  # "all" | "sector" | "position"
    segment: str | None
    respondents: int
    mean: float
    counts: tuple[int, int, int, int, int] | None  # the distribution, for "all" only
    groups: frozenset[Group]  # what it covers, so tests can check every difference


@dataclass(frozen=True)
class Withheld:
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
    by_key: dict[tuple[int, str], list[Cell]] = defaultdict(list)
    for cell in cells:
        by_key[(cell.unit, cell.dimension)].append(cell)
    figures: list[Figure] = []
    withheld: list[Withheld] = []
    for (unit, dimension), group in sorted(by_key.items()):
        shown, hidden = _one(unit, dimension, group, k)
        figures += shown
        withheld += hidden
    return Disclosure(tuple(figures), tuple(withheld))


def _one(
    unit: int, dimension: str, cells: list[Cell], k: int
) -> tuple[list[Figure], list[Withheld]]:
    everyone = _merge(unit, dimension, "all", None, cells, with_counts=True)
    if everyone.respondents < k:
        return [], [Withheld(unit, dimension, "all", None, "under_k")]
    figures: list[Figure] = [everyone]
    withheld: list[Withheld] = []
    sectors, sector_hidden = _breakdown(unit, dimension, "sector", cells, 0, k)
    positions, position_hidden = _breakdown(unit, dimension, "position", cells, 1, k)
    if sectors and positions and not _cross_cells_safe(cells, k):
        position_hidden += [
            Withheld(unit, dimension, "position", f.segment, "cross_cells") for f in positions
        ]
        positions = []
    return figures + sectors + positions, withheld + sector_hidden + position_hidden


def _breakdown(
    unit: int, dimension: str, breakdown: str, cells: list[Cell], axis: int, k: int
) -> tuple[list[Figure], list[Withheld]]:
    by_segment: dict[str | None, list[Cell]] = defaultdict(list)
    for cell in cells:
        by_segment[(cell.sector, cell.position)[axis]].append(cell)
    sizes = {segment: sum(c.respondents for c in group) for segment, group in by_segment.items()}
    total = sum(sizes.values())
    visible = {s for s, n in sizes.items() if s is not None and n >= k}
    reasons = {s: "under_k" for s in sizes if s is not None and s not in visible}
    while visible:
        rest = total - sum(sizes[s] for s in visible)
        if rest == 0 or rest >= k:
            break
        smallest = min(visible, key=lambda s: (sizes[s], s or ""))
        visible.remove(smallest)
        reasons[smallest] = "complementary"
    shown = [
        _merge(unit, dimension, breakdown, s, by_segment[s], with_counts=False)
        for s in sorted(visible, key=str)
    ]
    hidden = [
        Withheld(unit, dimension, breakdown, s, r) for s, r in sorted(reasons.items(), key=str)
    ]
    return shown, hidden


def _cross_cells_safe(cells: list[Cell], k: int) -> bool:
    sizes: dict[Group, int] = defaultdict(int)
    for cell in cells:
        sizes[(cell.sector, cell.position)] += cell.respondents
    # Conservative on purpose: with two breakdowns and a total, several linear combinations
    # exist; requiring every cell (unrecorded ones included) to be 0 or >= k closes them all.
    return all(n == 0 or n >= k for n in sizes.values())


def _merge(
    unit: int,
    dimension: str,
    breakdown: str,
    segment: str | None,
    cells: list[Cell],
    *,
    with_counts: bool,
) -> Figure:
    respondents = sum(c.respondents for c in cells)
    values = sum(c.values for c in cells)
    total = sum(c.total for c in cells)
    counts = tuple(sum(c.counts[i] for c in cells) for i in range(5))
    return Figure(
        unit=unit,
        dimension=dimension,
        breakdown=breakdown,
        segment=segment,
        respondents=respondents,
        mean=total / values if values else 0.0,
        counts=counts if with_counts else None,  # type: ignore[arg-type]
        groups=frozenset((c.sector, c.position) for c in cells),
    )
