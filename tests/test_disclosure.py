"""The disclosure rules, by example and by property."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.disclosure import Cell, disclose

SECTORS = ("public", "community", "other", None)
POSITIONS = ("front_line", "manager", "coordinator", None)


def cell(sector, position, n, unit=1, dimension="vision", mean=3):
    return Cell(unit, dimension, sector, position, n, n, n * mean, (0, 0, n, 0, 0))


def test_nothing_under_k():
    shown = disclose([cell("public", "front_line", 2), cell("community", "front_line", 2)], 5)
    assert shown.figures == () and shown.withheld[0].reason == "under_k"


def test_two_sectors_one_small_hides_both():
    shown = disclose([cell("public", None, 6), cell("community", None, 2)], 5)
    assert shown.get(1, "vision").respondents == 8
    assert not [f for f in shown.figures if f.breakdown == "sector"]
    assert {(w.segment, w.reason) for w in shown.withheld} == {
        ("community", "under_k"),
        ("public", "complementary"),
    }


def test_complementary_suppression_keeps_what_it_can():
    cells = [cell("public", None, 5), cell("community", None, 5), cell(None, None, 2)]
    shown = disclose(cells, 5)
    sectors = {f.segment for f in shown.figures if f.breakdown == "sector"}
    assert sectors == {"public"}  # the rest (community + unrecorded) is 7, not 2


def test_both_breakdowns_only_when_cross_cells_are_safe():
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


def test_the_floor_is_three():
    shown = disclose([cell("public", None, 2)], 1)
    assert shown.figures == ()


@st.composite
def team_cells(draw):
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
def test_no_figure_nor_difference_isolates_fewer_than_k(data):
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
        total = shown.get(unit, dimension).respondents
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
