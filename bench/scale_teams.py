"""Many teams for bench/scale_bench.py (``--teams N``): each its own Slack channel, members and
round, so a recording waits only on its own round's participation rows (every ballot of a round
rewrites all of that round's rows, dialogs/checkins/round_store.py), as in a deployment serving many
partnerships. Team 0 is bench/harness/slack_team.py's ``seed_team`` (same slug, channel and user
refs), so ``--teams 1`` seeds exactly what the one-team bench did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from bench.harness.remote_slack import RemoteSlack
from bench.harness.slack_team import CHANNEL, SLUG, ShiftedClock, round_card, seed_team
from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.checkins.models import Participation
from dialogs.engine import Engine
from storage import intake, teams
from storage.database import Database


@dataclass
class BenchTeam:
    slug: str
    refs: list[str]
    first: int  # index of its first user ref: view ids stay distinct across teams


def names(k: int) -> tuple[str, str]:
    """Slug and channel of team ``k`` (team 0: the one-team bench's)."""
    return (SLUG, CHANNEL) if k == 0 else (f"{SLUG}{k}", f"{CHANNEL}{k}")


async def seed_teams(
    engine: Engine, slack: RemoteSlack, members: int, count: int
) -> list[BenchTeam]:
    """``count`` teams of ``members // count`` onboarded members each, distinct user refs."""
    per = members // count
    if per < 1:
        raise SystemExit(f"--members {members} cannot give {count} teams a member each")
    out: list[BenchTeam] = []
    for k in range(count):
        slug, channel = names(k)
        refs = await seed_team(engine, slack, per, slug=slug, channel=channel, first=k * per)
        out.append(BenchTeam(slug, refs, k * per))
    return out


async def open_rounds(
    engine: Engine, clock: ShiftedClock, bench: list[BenchTeam]
) -> list[tuple[int, Card]]:
    """Close every team's round, then open a new one for each (one shared new minute)."""
    for team in bench:
        await engine.jobs.run("close", team.slug)
    clock.offset += dt.timedelta(days=1)  # a new minute: a new forced occurrence
    opened: list[tuple[int, Card]] = []
    for team in bench:
        await engine.jobs.run("checkin", team.slug)
        async with engine.database.session() as session:
            row = await teams.team_by_slug(session, team.slug)
            assert row is not None
            round_ = await rounds.open_round_of(session, row.id)
            assert round_ is not None
        opened.append((round_.id, await round_card(engine, round_.id)))
    return opened


def interleave(per_team: list[list[bytes]]) -> list[bytes]:
    """Round robin across teams: one load where every team's ballots arrive side by side."""
    out: list[bytes] = []
    for i in range(max(len(b) for b in per_team)):
        out += [bodies[i] for bodies in per_team if i < len(bodies)]
    return out


async def recorded(database: Database, round_ids: list[int]) -> tuple[int, int]:
    """Ballots recorded across these rounds, and rows still in the intake."""
    async with database.session() as session:
        done = await session.scalar(
            select(func.count()).where(
                Participation.round_id.in_(round_ids), Participation.status == rounds.ANSWERED
            )
        )
        return int(done or 0), await intake.count(session)
