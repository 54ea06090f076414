"""A known summary, built without a database: two check-ins of the same seven people (four of
the public network, three of community organisations), so that each figure of the card can be
worked out by hand. Used by tests/test_summary_layout*.py and to save docs/images' samples.

Per dimension, each person answers two statements: 7 people give 14 answers.

| dimension | no. 1 mean | no. 2 mean               | change   | public / community (no. 2) |
| vision    | 3.0        | (32 + 19) / 14 = 3.64    | ↑ +0.6   | 4.0 / 3.17, gap 0.83       |
| roles     | 3.5        | (28 + 20) / 14 = 3.43    | ↓ −0.1   | 3.5 / 3.33                 |
| relation  | 4.0        | 4.0                      | → 0.0    | 4.0 / 4.0                  |
| power     | 2.5        | (21 + 15) / 14 = 2.57    | ↑ +0.1   | 2.625 / 2.5                |
"""

from __future__ import annotations

import datetime as dt

from dialogs.cards import Card
from dialogs.content import default_bank
from dialogs.disclosure import Cell, disclose
from dialogs.i18n import Tr
from dialogs.summaries.card import summary_card
from dialogs.summaries.pulse import PulseSummary, Unit
from dialogs.summaries.store import LatestRound

PUBLIC, COMMUNITY = 4, 3
Counts = tuple[int, int, int, int, int]
# (unit, dimension): (public counts, community counts), answers of 1..5
ANSWERS: dict[tuple[int, str], tuple[Counts, Counts]] = {
    (1, "vision"): ((0, 2, 4, 2, 0), (0, 2, 2, 2, 0)),
    (2, "vision"): ((0, 0, 2, 4, 2), (0, 1, 3, 2, 0)),
    (1, "roles"): ((0, 0, 4, 4, 0), (0, 0, 3, 3, 0)),
    (2, "roles"): ((0, 0, 4, 4, 0), (0, 1, 2, 3, 0)),
    (1, "relation"): ((0, 0, 0, 8, 0), (0, 0, 0, 6, 0)),
    (2, "relation"): ((0, 0, 0, 8, 0), (0, 0, 0, 6, 0)),
    (1, "power"): ((2, 2, 2, 2, 0), (0, 3, 3, 0, 0)),
    (2, "power"): ((1, 3, 2, 2, 0), (0, 3, 3, 0, 0)),
}
OPEN_ANSWERS = (
    ("open", "Plus de temps ensemble pour préparer les rencontres."),
    ("open", "Les décisions arrivent parfois sans nous."),
)


def _cell(unit: int, dimension: str, sector: str, people: int, counts: Counts) -> Cell:
    total = sum(value * count for value, count in zip(range(1, 6), counts, strict=True))
    return Cell(unit, dimension, sector, None, people, sum(counts), total, counts)


def sample_summary(k: int = 3, *, team_name: str = "Équipe mixte Laval") -> PulseSummary:
    cells = [
        cell
        for (unit, dimension), (public, community) in ANSWERS.items()
        for cell in (
            _cell(unit, dimension, "public", PUBLIC, public),
            _cell(unit, dimension, "community", COMMUNITY, community),
        )
    ]
    return PulseSummary(
        team_name=team_name,
        k=k,
        pooling=False,
        latest_round=LatestRound(seq=2, kind="checkin", asked=9, answered=7),
        latest_published=True,
        units=(Unit(1, "checkin", 1, 1, 9, 7), Unit(2, "checkin", 2, 2, 9, 7)),
        diagnostic=None,
        disclosure=disclose(cells, k),
        texts=OPEN_ANSWERS,
        tensions={"published": {"decisions": 1}, "rejected": {"workload": 1}},
        successes=4,
        since=dt.date(2026, 11, 1),
    )


def sample_card(language: str, k: int = 3, *, coordinator: bool = False) -> Card:
    return summary_card(
        sample_summary(k),
        default_bank(),
        Tr(language),
        chart=None,
        team_slug="demo",
        coordinator=coordinator,
    )
