"""The summary bench's data plan: teams (size, segments as members declared them and as
ballots record them, pooling, language, level), the check-in and diagnostic items of each of
the 52 rounds, and how many answered each round, scaled so the history holds exactly
`--answers` answers. Deterministic: the same seed gives the same plan."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from dialogs.anonymity import recording_scheme
from dialogs.checkins.rounds import draw_items
from dialogs.content import load_bank
from storage.models import Team

ROUNDS = 52  # two years, every two weeks
STEPS = (0.25, 0.5, 1.0)  # history filled before each measurement
END = dt.date(2026, 5, 26)  # the last round of the busiest teams opens on this Tuesday
K = 5
SECTORS = (("public", 45), ("community", 45), ("other", 10))
POSITIONS = (("front_line", 60), ("manager", 28), ("coordinator", 12))


@dataclass
class TeamPlan:
    index: int
    id: int
    size: int
    segments: list[tuple[str | None, str | None]]  # as members declared them
    recorded: list[tuple[str | None, str | None]]  # as ballots carry them (k rule applied)
    pool: bool
    language: str
    offset_days: int
    level: float
    dimension_level: dict[str, float]
    respondents: list[int] = field(default_factory=list)  # per seq - 1
    partial: dict[int, int] = field(default_factory=dict)  # seq -> items of a cut-short ballot

    def opened_on(self, seq: int) -> dt.date:
        return END - dt.timedelta(days=self.offset_days + 14 * (ROUNDS - seq))


@dataclass
class Plan:
    teams: list[TeamPlan]
    kinds: list[str]  # per seq - 1
    items: list[list[str]]
    open_ids: list[str | None]
    dimension_of: dict[str, str]
    answers: int

    def step_end(self, fraction: float) -> int:
        return max(1, round(ROUNDS * fraction))

    def today(self, last_seq: int) -> dt.date:
        return END - dt.timedelta(days=14 * (ROUNDS - last_seq)) + dt.timedelta(days=4)

    def answers_until(self, last_seq: int) -> int:
        total = 0
        for team in self.teams:
            for seq in range(1, last_seq + 1):
                full = team.respondents[seq - 1] - (1 if seq in team.partial else 0)
                total += full * len(self.items[seq - 1]) + team.partial.get(seq, 0)
        return total


def weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


def make_plan(answers: int, n_teams: int, seed: int) -> Plan:
    bank = load_bank()
    template = Team(items_per_round=5, diagnostic_every_rounds=6, open_question=True)
    history: list[list[str]] = []
    kinds, items, open_ids = [], [], []
    for seq in range(1, ROUNDS + 1):
        draw = draw_items(bank, template, seq, history[:12])
        history.insert(0, draw.items)
        kinds.append(draw.kind)
        items.append(draw.items)
        open_ids.append(draw.open_question_id)
    dimension_of = {i.id: i.dimension for i in bank.checkin_items}
    dimension_of |= {d.id: f"diagnostic:{d.condition}" for d in bank.diagnostic_items}

    rng = random.Random(seed)
    teams: list[TeamPlan] = []
    rates: list[float] = []
    for index in range(n_teams):
        size = rng.randint(8, 20)
        segments: list[tuple[str | None, str | None]] = [
            (
                None if rng.random() < 0.04 else weighted(rng, SECTORS),
                None if rng.random() < 0.04 else weighted(rng, POSITIONS),
            )
            for _ in range(size)
        ]
        sizes: dict[tuple[str, str], int] = {}
        for sector, position in segments:
            key = (sector or "", position or "")
            sizes[key] = sizes.get(key, 0) + 1
        scheme = recording_scheme(sizes, K)
        teams.append(
            TeamPlan(
                index=index,
                id=index + 1,
                size=size,
                segments=segments,
                recorded=[scheme.apply(s, p) for s, p in segments],
                pool=rng.random() < 0.3,
                language="en" if rng.random() < 0.25 else "fr",
                offset_days=rng.randint(0, 6),
                level=rng.uniform(2.6, 4.0),
                dimension_level={d: rng.uniform(-0.5, 0.5) for d in set(dimension_of.values())},
            )
        )
        rates.append(rng.uniform(0.35, 0.8))

    # Respondents per round: a binomial draw per team's participation rate, scaled so the whole
    # history holds `answers` rows, then nudged one respondent at a time to hit it exactly.
    per_team_items = sum(len(i) for i in items)
    expected = sum(t.size * r * per_team_items for t, r in zip(teams, rates, strict=True))
    scale = answers / expected
    for team, rate in zip(teams, rates, strict=True):
        p = min(0.97, rate * scale)
        team.respondents = [sum(rng.random() < p for _ in range(team.size)) for _ in items]
    total = sum(r * len(items[s]) for t in teams for s, r in enumerate(t.respondents))
    diff = answers - total
    capacity = sum(t.size * per_team_items for t in teams)
    if answers > capacity:
        raise SystemExit(f"--answers {answers} exceeds what {n_teams} teams can answer")
    while diff >= 6 or diff < 0:
        team = teams[rng.randrange(n_teams)]
        s = rng.randrange(ROUNDS)
        if diff > 0 and team.respondents[s] < team.size:
            team.respondents[s] += 1
            diff -= len(items[s])
        elif diff < 0 and team.respondents[s] > 0:
            team.respondents[s] -= 1
            diff += len(items[s])
    while diff > 0:  # 1..5 rows left: one more check-in ballot, cut short
        team = teams[rng.randrange(n_teams)]
        s = rng.randrange(ROUNDS)
        if kinds[s] == "checkin" and team.respondents[s] < team.size and s + 1 not in team.partial:
            team.respondents[s] += 1
            team.partial[s + 1] = min(diff, len(items[s]))
            diff -= team.partial[s + 1]
    plan = Plan(teams, kinds, items, open_ids, dimension_of, answers)
    assert plan.answers_until(ROUNDS) == answers
    return plan
