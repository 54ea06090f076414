"""The disclosure rules, by example and by property."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.anonymity import effective_k
from dialogs.disclosure import Cell, Disclosure, Figure, Withheld, disclose, generalise

Counts = tuple[int, int, int, int, int]  # a cell's answers per scale point
SECTORS = ("public", "community", "other", None)
POSITIONS = ("front_line", "manager", "coordinator", None)


def cell(
    sector: str | None,
    position: str | None,
    n: int,
    unit: int = 1,
    dimension: str = "vision",
    mean: int = 3,
) -> Cell:
    return Cell(unit, dimension, sector, position, n, n, n * mean, (0, 0, n, 0, 0))


def test_nothing_under_k() -> None:
    shown = disclose([cell("public", "front_line", 2), cell("community", "front_line", 2)], 5)
    assert shown.figures == () and shown.withheld[0].reason == "under_k"


def test_two_sectors_one_small_hides_both() -> None:
    shown = disclose([cell("public", None, 6), cell("community", None, 2)], 5)
    everyone = shown.get(1, "vision")
    assert everyone is not None and everyone.respondents == 8
    assert not [f for f in shown.figures if f.breakdown == "sector"]
    assert {(w.segment, w.reason) for w in shown.withheld} == {
        ("community", "under_k"),
        ("public", "complementary"),
    }


def test_complementary_suppression_keeps_what_it_can() -> None:
    cells = [cell("public", None, 5), cell("community", None, 5), cell(None, None, 2)]
    shown = disclose(cells, 5)
    sectors = {f.segment for f in shown.figures if f.breakdown == "sector"}
    assert sectors == {"public"}  # the rest (community + unrecorded) is 7, not 2


def test_both_breakdowns_only_when_cross_cells_are_safe() -> None:
    cells = [
        cell("public", "front_line", 6),
        cell("public", "manager", 2),
        cell("community", "front_line", 3),
        cell("community", "manager", 5),
    ]
    shown = disclose(cells, 3)
    assert {f.breakdown for f in shown.figures} == {"all", "sector"}
    assert any(w.reason == "cross_cells" for w in shown.withheld)
    safe = disclose([cell("public", "front_line", 6), cell("community", "manager", 5)], 3)
    assert {f.breakdown for f in safe.figures} == {"all", "sector", "position"}


def test_the_floor_is_three() -> None:
    shown = disclose([cell("public", None, 2)], 1)
    assert shown.figures == ()


@st.composite
def team_cells(draw: st.DrawFn) -> tuple[int, list[Cell]]:
    k = draw(st.integers(3, 7))
    cells = []
    for unit, dimension in itertools.product((1, 2), ("vision", "power")):
        for sector, position in itertools.product(SECTORS, POSITIONS):
            n = draw(st.integers(0, 12) | st.just(0))
            if n:
                total = draw(st.integers(n, 5 * n))
                cells.append(Cell(unit, dimension, sector, position, n, n, total, (n, 0, 0, 0, 0)))
    return k, cells


@settings(max_examples=300, deadline=None)
@given(team_cells())
def test_no_figure_nor_difference_isolates_fewer_than_k(data: tuple[int, list[Cell]]) -> None:
    k, cells = data
    shown = disclose(cells, k)
    size = {}
    for c in cells:
        size[(c.unit, c.dimension, c.sector, c.position)] = c.respondents
    for figure in shown.figures:
        assert figure.respondents >= k
        assert figure.respondents == sum(
            size.get((figure.unit, figure.dimension, *g), 0) for g in figure.groups
        )
    # Any published figure that contains another: their difference is 0 or >= k people.
    for a, b in itertools.permutations(shown.figures, 2):
        if (a.unit, a.dimension) == (b.unit, b.dimension) and a.groups < b.groups:
            assert b.respondents - a.respondents == 0 or b.respondents - a.respondents >= k
    # The total minus everything shown in a breakdown is 0 or >= k (complementary).
    for unit, dimension in {(f.unit, f.dimension) for f in shown.figures}:
        whole = shown.get(unit, dimension)
        assert whole is not None
        total = whole.respondents
        for breakdown in ("sector", "position"):
            parts = [
                f
                for f in shown.figures
                if (f.unit, f.dimension, f.breakdown) == (unit, dimension, breakdown)
            ]
            rest = total - sum(f.respondents for f in parts)
            assert rest == 0 or rest >= k or not parts
        if any(
            f.breakdown == "position"
            for f in shown.figures
            if (f.unit, f.dimension) == (unit, dimension)
        ) and any(
            f.breakdown == "sector"
            for f in shown.figures
            if (f.unit, f.dimension) == (unit, dimension)
        ):
            for (u, d, _, _), n in size.items():
                if (u, d) == (unit, dimension):
                    assert n == 0 or n >= k


# ------------------------------------------------------------------ the rules, exactly as before
# `disclose` was rewritten for speed (one pass over the cells of each unit and dimension); this
# is the previous implementation, kept verbatim as the reference it must match figure for figure
# and withheld entry for withheld entry, in the same order.
def _reference_disclose(cells: list[Cell], k: int) -> Disclosure:
    k = effective_k(k)
    by_key: defaultdict[tuple[int, str], list[Cell]] = defaultdict(list)
    for cell in cells:
        by_key[(cell.unit, cell.dimension)].append(cell)
    figures: list[Figure] = []
    withheld: list[Withheld] = []
    for (unit, dimension), group in sorted(by_key.items()):
        shown, hidden = _reference_one(unit, dimension, group, k)
        figures += shown
        withheld += hidden
    return Disclosure(tuple(figures), tuple(withheld))


def _reference_one(
    unit: int, dimension: str, cells: list[Cell], k: int
) -> tuple[list[Figure], list[Withheld]]:
    everyone = _reference_merge(unit, dimension, "all", None, cells, with_counts=True)
    if everyone.respondents < k:
        return [], [Withheld(unit, dimension, "all", None, "under_k")]
    figures = [everyone]
    withheld: list[Withheld] = []
    sectors, sector_hidden = _reference_breakdown(unit, dimension, "sector", cells, 0, k)
    positions, position_hidden = _reference_breakdown(unit, dimension, "position", cells, 1, k)
    if sectors and positions and not _reference_cross_cells_safe(cells, k):
        position_hidden += [
            Withheld(unit, dimension, "position", f.segment, "cross_cells") for f in positions
        ]
        positions = []
    return figures + sectors + positions, withheld + sector_hidden + position_hidden


def _reference_breakdown(
    unit: int, dimension: str, breakdown: str, cells: list[Cell], axis: int, k: int
) -> tuple[list[Figure], list[Withheld]]:
    by_segment: defaultdict[str | None, list[Cell]] = defaultdict(list)
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
        _reference_merge(unit, dimension, breakdown, s, by_segment[s], with_counts=False)
        for s in sorted(visible, key=str)
    ]
    hidden = [
        Withheld(unit, dimension, breakdown, s, r) for s, r in sorted(reasons.items(), key=str)
    ]
    return shown, hidden


def _reference_cross_cells_safe(cells: list[Cell], k: int) -> bool:
    sizes: defaultdict[tuple[str | None, str | None], int] = defaultdict(int)
    for cell in cells:
        sizes[(cell.sector, cell.position)] += cell.respondents
    return all(n == 0 or n >= k for n in sizes.values())


def _reference_merge(
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
    counts = cast(Counts, tuple(sum(c.counts[i] for c in cells) for i in range(5)))
    return Figure(
        unit=unit,
        dimension=dimension,
        breakdown=breakdown,
        segment=segment,
        respondents=respondents,
        mean=total / values if values else 0.0,
        counts=counts if with_counts else None,
        groups=frozenset((c.sector, c.position) for c in cells),
    )


@st.composite
def any_cells(draw: st.DrawFn) -> tuple[int, list[Cell]]:
    """Cells as the database freezes them (one per unit, dimension, sector, position), in any
    order, with respondents around k, empty cells and unrecorded segments."""
    k = draw(st.integers(0, 9))
    cells = []
    for unit, dimension in itertools.product((3, 1, 2), ("vision", "power", "diagnostic:a")):
        groups = draw(
            st.lists(
                st.tuples(st.sampled_from(SECTORS), st.sampled_from(POSITIONS)),
                unique=True,
                max_size=len(SECTORS) * len(POSITIONS),
            )
        )
        for sector, position in groups:
            n = draw(st.integers(0, 14))
            counts = cast(Counts, tuple(draw(st.lists(st.integers(0, 6), min_size=5, max_size=5))))
            values = sum(counts)
            total = sum((i + 1) * c for i, c in enumerate(counts))
            cells.append(Cell(unit, dimension, sector, position, n, values, total, counts))
    return k, draw(st.permutations(cells))


@settings(max_examples=500, deadline=None)
@given(any_cells())
def test_disclose_matches_the_previous_rules_exactly(data: tuple[int, list[Cell]]) -> None:
    k, cells = data
    assert disclose(cells, k) == _reference_disclose(cells, k)


def _published(disclosure: Disclosure) -> set[tuple[object, ...]]:
    """What a reader sees of each figure (its `groups` are the test's bookkeeping only)."""
    return {
        (f.unit, f.dimension, f.breakdown, f.segment, f.respondents, round(f.mean, 9), f.counts)
        for f in disclosure.figures
    }


@settings(max_examples=500, deadline=None)
@given(any_cells())
def test_generalised_cells_publish_the_same_and_hold_no_small_group(
    data: tuple[int, list[Cell]],
) -> None:
    """At rest (dialogs.checkins.results stores `generalise`d cells): the same figures as from the
    finer cells, every stored cell 0 or at least k, and generalising again changes nothing."""
    k, cells = data
    kept = generalise(cells, k)
    assert _published(disclose(kept, k)) == _published(disclose(cells, k))
    assert all(c.respondents == 0 or c.respondents >= effective_k(k) for c in kept)
    assert set(generalise(kept, k)) == set(kept)
    # Every (unit, dimension) asked is still there, if only as an empty marker.
    assert {(c.unit, c.dimension) for c in kept} == {(c.unit, c.dimension) for c in cells}


def test_generalising_merges_what_a_summary_withholds() -> None:
    small = [cell("public", None, 6), cell("community", None, 2)]
    kept = generalise(small, 5)
    # community (2) is under k, and public alone would reveal it by subtraction: one cell.
    assert kept == [Cell(1, "vision", None, None, 8, 8, 24, (0, 0, 8, 0, 0))]
    assert generalise([cell("public", None, 2)], 5) == [
        Cell(1, "vision", None, None, 0, 0, 0, (0, 0, 0, 0, 0))
    ]
