"""The rows the summary bench writes, generated from the plan: teams, members, rounds,
tensions and successes, each round's answers in the clear (for `bench_answers`, the
baseline's table) and its ballots sealed exactly as
`dialogs.checkins.ballot_store.record_ballot` seals them. Seeded generators: the same rows on
every database."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Date, Index, MetaData, Table

from bench.harness.baseline import clear_answer_columns
from bench.summary.plan import K, Plan, TeamPlan
from dialogs.checkins import ballot_store as ballots
from dialogs.content import TENSION_THEMES
from storage import sealed
from storage.sealing import Sealer

# The baseline's rows: one per answer, in the clear, as the dropped `answers` table held them
# (same columns, same index, WITHOUT ROWID on SQLite as it was). Created by the bench; read only
# by the bare query and the checks, never by Passerelle.
BENCH_META = MetaData()
BENCH_ANSWERS = Table(
    "bench_answers",
    BENCH_META,
    *clear_answer_columns(),
    Column("day", Date, nullable=False),
    Index("bench_answers_by_round", "round_id", "dimension"),
    sqlite_with_rowid=False,
)
ANSWER_COLUMNS = tuple(c.name for c in BENCH_ANSWERS.columns)
SEALED_COLUMNS = ("id", "team_id", "kind", "batch", "blob")
# The server's key for this run only: the bench seals and opens within one process.
SEALER = Sealer.ephemeral()
# The kind under which the timed single freezes insert their unit: never a real kind, so the


def team_row(team: TeamPlan) -> dict[str, Any]:
    anchor = team.opened_on(1)
    return {
        "id": team.id,
        "slug": f"bench-{team.id:04d}",
        "name": f"Partenariat {team.id}",
        "language": team.language,
        "timezone": "America/Toronto",
        "k": K,
        "checkin_weekday": anchor.weekday(),
        "anchor_on": anchor,
        "pool_small_rounds": team.pool,
        "created_at": dt.datetime.combine(anchor, dt.time(14), dt.UTC) - dt.timedelta(days=7),
    }


def member_rows(team: TeamPlan, first_id: int) -> list[dict[str, Any]]:
    rows = []
    for i, (sector, position) in enumerate(team.segments):
        rows.append(
            {
                "id": first_id + i,
                "team_id": team.id,
                "platform": "slack",
                "workspace": f"T{team.id:05d}",
                "user_ref": f"U{team.id:05d}{i:03d}",
                "display_name": f"Personne {team.id}-{i}",
                "sector": sector,
                "position": position,
                "language": team.language,
                "timezone": "America/Toronto",
                "is_coordinator": position == "coordinator",
                "active": True,
                "onboarded": True,
            }
        )
    return rows


def round_id(plan: Plan, team: TeamPlan, seq: int) -> int:
    return (seq - 1) * len(plan.teams) + team.index + 1  # ids in opening order, as in life


def round_row(plan: Plan, team: TeamPlan, seq: int) -> dict[str, Any]:
    opened_on = team.opened_on(seq)
    opened_at = dt.datetime.combine(opened_on, dt.time(14), dt.UTC)
    answered = team.respondents[seq - 1]
    rng = random.Random(seq * 7919 + team.id)
    skipped = min(team.size - answered, rng.randint(0, 2))
    return {
        "id": round_id(plan, team, seq),
        "team_id": team.id,
        "seq": seq,
        "kind": plan.kinds[seq - 1],
        "occurrence": opened_on.isoformat(),
        "opened_on": opened_on,
        "opened_at": opened_at,
        "remind_at": opened_at + dt.timedelta(hours=48),
        "closes_at": opened_at + dt.timedelta(hours=72),
        "reminded": True,
        "closed": True,
        "items": plan.items[seq - 1],
        "open_question_id": plan.open_ids[seq - 1],
        "asked_count": team.size,
        "answered_count": answered,
        "skipped_count": skipped,
    }


def hex_id(rng: random.Random, bits: int = 128) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def round_answers(
    plan: Plan, team: TeamPlan, seq: int, seed: int
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """One closed round's answers in the clear (shuffled, for `bench_answers`) and its ballots
    as `dialogs.checkins.ballot_store.record_ballot` seals them (values, segments, the open
    answer if any)."""
    rng = random.Random(seed * 10_000_000 + team.id * 100 + seq)
    rid = round_id(plan, team, seq)
    day = team.opened_on(seq)
    items = plan.items[seq - 1]
    drift = 0.4 * math.sin(seq / 9 + team.index)
    rows: list[tuple[Any, ...]] = []
    payloads: list[dict[str, Any]] = []
    who = rng.sample(range(team.size), team.respondents[seq - 1])
    for n, member in enumerate(who):
        sector, position = team.recorded[member]
        ballot = hex_id(rng)
        cut = team.partial.get(seq) if n == len(who) - 1 else None
        payload: dict[str, Any] = {"values": [], "sector": sector, "position": position}
        for item in items[:cut]:
            dimension = plan.dimension_of[item]
            if rng.random() < 0.05:
                value = None
            else:
                mu = team.level + team.dimension_level[dimension] + drift
                value = min(5, max(1, round(rng.gauss(mu, 0.9))))
            rows.append((hex_id(rng), rid, ballot, item, dimension, value, sector, position, day))
            payload["values"].append([item, dimension, value])
        question = plan.open_ids[seq - 1]
        if question and rng.random() < 0.3:
            hex_id(rng)  # the id the open answer had: drawn still, so every later draw is unchanged
            payload["open"] = [question, f"Commentaire {rng.randrange(10**6)}"]
        payloads.append(payload)
    rng.shuffle(rows)
    rng.shuffle(payloads)
    return rows, payloads


def sealed_rows(
    plan: Plan, team: TeamPlan, seq: int, payloads: Sequence[dict[str, Any]], seed: int
) -> list[tuple[Any, ...]]:
    """The round's ballots as rows of `sealed`, sealed exactly as `record_ballot` seals them
    (`storage.sealed.seal`: same kind, batch and purpose), ids from a seeded generator."""
    rng = random.Random(seed * 20_000_003 + team.id * 100 + seq)
    batch = ballots.ballot_batch(round_id(plan, team, seq))
    purpose = sealed.purpose(team.id, ballots.BALLOT, batch)
    return [
        (hex_id(rng), team.id, ballots.BALLOT, batch, SEALER.seal(purpose, payload))
        for payload in payloads
    ]


def side_rows(
    plan: Plan, team: TeamPlan, first_seq: int, last_seq: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tensions and successes written between two rounds (the summary counts the recent ones)."""
    rng = random.Random(seed * 1_000_003 + team.id * 1000 + first_seq)
    start = team.opened_on(first_seq)
    days = (team.opened_on(last_seq) - start).days + 14
    tensions, successes = [], []
    for _ in range(rng.randint(1, 3) * (last_seq - first_seq + 1) // 6 + 1):
        created = start + dt.timedelta(days=rng.randrange(days))
        status = rng.choice(("approved", "published", "published", "rejected"))
        tensions.append(
            {
                "id": hex_id(rng),
                "team_id": team.id,
                "text": f"Tension {rng.randrange(10**6)}",
                "theme": rng.choice(TENSION_THEMES),
                "status": status,
                "created_on": created,
                "published_on": created + dt.timedelta(days=3) if status == "published" else None,
                "followup_hash": hex_id(rng, 256),
                "dedupe_key": hex_id(rng, 256),
            }
        )
    for _ in range(rng.randint(0, 2) * (last_seq - first_seq + 1) // 6 + 1):
        consent = rng.choice(("named", "anonymous", "summary_only"))
        successes.append(
            {
                "id": hex_id(rng),
                "team_id": team.id,
                "text": f"Succès {rng.randrange(10**6)}",
                "consent": consent,
                "author_name": "Quelqu’un" if consent == "named" else None,
                "status": "kept" if consent == "summary_only" else "published",
                "created_on": start + dt.timedelta(days=rng.randrange(days)),
                "dedupe_key": hex_id(rng, 256),
            }
        )
    return tensions, successes
