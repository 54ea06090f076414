"""aggregated signals only: ballots sealed, raw answers dropped, content rewritten unordered

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 13:40:00

What an existing database held in the clear becomes what the sealed inbox would have made of it:
- the answers (and open answers) of rounds that may still be published (open, or closed and
  waiting to be pooled) are sealed, one sealed ballot per old ballot, under the server's key
  (`passerelle db upgrade` hands it over; without it such a database refuses to upgrade);
- the answers of rounds already frozen are deleted (their cells stay; `passerelle db upgrade`
  then generalises those cells), and so are those of rounds that will never be published;
- open answers are kept only for frozen units;
- tensions and anonymous successes not yet published, and pre-reflections of meetings not yet
  posted, are sealed for their batch; summary-only successes become counts; the
  `pre_reflections` table is dropped (pre-reflections now live sealed until their post);
- the content tables are rewritten in a random order, so their physical order no longer replays
  the order of writing (a VACUUM FULL after the upgrade drops the old row versions).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from storage.models import new_uuid
from storage.sealing import Sealer

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REWRITTEN = ("open_answers", "tensions", "successes")  # tensions take their replies along


def _rows(connection: sa.Connection, sql: str, ids: list[int] | None = None) -> list[Any]:
    statement = sa.text(sql)
    if ids is None:
        return list(connection.execute(statement).mappings().all())
    statement = statement.bindparams(sa.bindparam("ids", expanding=True))
    return list(connection.execute(statement, {"ids": ids}).mappings().all())


def _waiting_rounds(connection: sa.Connection) -> dict[int, tuple[int, bool]]:
    """Rounds whose ballots may still be published: round id -> (team id, open?)."""
    frozen = {
        (r["team_id"], r["kind"]): r["last"]
        for r in _rows(
            connection,
            "SELECT team_id, kind, max(last_seq) AS last FROM summary_units GROUP BY team_id, kind",
        )
    }
    waiting: dict[int, tuple[int, bool]] = {}
    for r in _rows(
        connection,
        "SELECT r.id, r.team_id, r.kind, r.seq, r.closed, t.pool_small_rounds "
        "FROM rounds r JOIN teams t ON t.id = r.team_id",
    ):
        if not r["closed"]:
            waiting[r["id"]] = (r["team_id"], True)
        elif r["pool_small_rounds"] and r["seq"] > (frozen.get((r["team_id"], r["kind"])) or 0):
            waiting[r["id"]] = (r["team_id"], False)
    return waiting


Sealable = tuple[int, str, str, dict[str, Any]]  # team id, kind, batch, payload


def _ballots_to_seal(
    connection: sa.Connection, waiting: dict[int, tuple[int, bool]]
) -> list[Sealable]:
    if not waiting:
        return []
    ids = list(waiting)
    answers = _rows(
        connection,
        "SELECT round_id, ballot, item_id, dimension, value, sector, position FROM answers "
        "WHERE round_id IN :ids",
        ids,
    )
    texts = _rows(
        connection,
        "SELECT round_id, question_id, text FROM open_answers WHERE round_id IN :ids",
        ids,
    )
    ballots: dict[tuple[int, str], dict[str, Any]] = {}
    for a in answers:
        ballot = ballots.setdefault(
            (a["round_id"], a["ballot"]),
            {"values": [], "sector": a["sector"], "position": a["position"]},
        )
        ballot["values"].append([a["item_id"], a["dimension"], a["value"]])
    payloads = [(round_id, b) for (round_id, _), b in ballots.items()]
    # An old open answer was never tied to its ballot: it becomes a ballot of its own with no
    # values (it counts in no cell).
    payloads += [
        (t["round_id"], {"values": [], "open": [t["question_id"], t["text"]]}) for t in texts
    ]
    if texts:
        connection.execute(
            sa.text("DELETE FROM open_answers WHERE round_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )
    return [(waiting[r][0], "ballot", f"round:{r}", payload) for r, payload in payloads]


def _texts_to_seal(connection: sa.Connection) -> list[Sealable]:
    """Tensions and anonymous successes not yet published, pre-reflections of meetings not
    yet posted: sealed for their batch, as they would be today. Summary-only successes become
    counts (`success_tallies`) at once: their text is never needed again."""
    found: list[Sealable] = []
    for t in _rows(
        connection,
        "SELECT team_id, text, theme, prompt_id, status, followup_hash FROM tensions "
        "WHERE status IN ('approved', 'pending_review')",
    ):
        batch = "review" if t["status"] == "pending_review" else "week"
        payload = {
            "text": t["text"],
            "theme": t["theme"],
            "prompt": t["prompt_id"] or "",
            "followup": t["followup_hash"],
        }
        found.append((t["team_id"], "tension", batch, payload))
    connection.execute(
        sa.text("DELETE FROM tensions WHERE status IN ('approved', 'pending_review')")
    )
    for s in _rows(
        connection,
        "SELECT team_id, text, prompt_id FROM successes "
        "WHERE consent = 'anonymous' AND status = 'pending'",
    ):
        payload = {"consent": "anonymous", "prompt": s["prompt_id"] or "", "text": s["text"]}
        found.append((s["team_id"], "success", "week", payload))
    # One tally per team, dated the upgrade's day: a count per day written would say how many
    # chose "summary only" on a day someone was seen active.
    today = dt.datetime.now(dt.UTC).date()
    for tally in _rows(
        connection,
        "SELECT team_id, count(*) AS n FROM successes WHERE consent = 'summary_only' "
        "GROUP BY team_id",
    ):
        connection.execute(
            sa.insert(
                sa.table(
                    "success_tallies",
                    sa.column("team_id"),
                    sa.column("day", sa.Date()),
                    sa.column("count"),
                )
            ),
            {"team_id": tally["team_id"], "day": today, "count": tally["n"]},
        )
    connection.execute(
        sa.text(
            "DELETE FROM successes WHERE consent = 'summary_only' "
            "OR (consent = 'anonymous' AND status = 'pending')"
        )
    )
    for p in _rows(
        connection,
        "SELECT s.team_id, p.occurrence_id, p.text FROM pre_reflections p "
        "JOIN reflexive_occurrences o ON o.id = p.occurrence_id "
        "JOIN reflexive_schedules s ON s.id = o.schedule_id WHERE NOT o.posted",
    ):
        found.append(
            (
                p["team_id"],
                "pre_reflection",
                f"occurrence:{p['occurrence_id']}",
                {"text": p["text"]},
            )
        )
    return found


def _seal(connection: sa.Connection, found: list[Sealable]) -> None:
    if not found:
        return
    sealer = context.config.attributes.get("sealer")
    if not isinstance(sealer, Sealer):
        raise RuntimeError(
            "this database holds submissions not yet published (ballots of open rounds, "
            "tensions, successes or pre-reflections waiting for their batch): upgrade it with "
            "`passerelle db upgrade` and the sealing key configured (docs/operations.md)"
        )
    random.SystemRandom().shuffle(found)
    sealed = sa.table(
        "sealed",
        *(sa.column(c) for c in ("id", "team_id", "kind", "batch")),
        sa.column("blob", sa.LargeBinary()),
    )
    connection.execute(
        sa.insert(sealed),
        [
            {
                "id": new_uuid(),
                "team_id": team_id,
                "kind": kind,
                "batch": batch,
                "blob": sealer.seal(f"{kind}|{team_id}|{batch}", payload),
            }
            for team_id, kind, batch, payload in found
        ],
    )


def _drop_unpublished_texts(connection: sa.Connection) -> None:
    """Open answers are kept only for rounds inside a frozen unit."""
    connection.execute(
        sa.text(
            "DELETE FROM open_answers WHERE round_id NOT IN ("
            "SELECT r.id FROM rounds r JOIN summary_units u ON u.team_id = r.team_id "
            "AND u.kind = r.kind AND r.seq BETWEEN u.first_seq AND u.last_seq)"
        )
    )


def _rewrite_unordered(connection: sa.Connection, name: str) -> None:
    """Delete and re-insert every row in a random order (same ids: buttons already sent
    name them), so neither SQLite's cells nor PostgreSQL's heap keep the order of writing."""
    table = sa.Table(name, sa.MetaData(), autoload_with=connection)
    rows = [dict(r) for r in connection.execute(sa.select(table)).mappings()]
    if not rows:
        return
    random.SystemRandom().shuffle(rows)
    replies: list[dict[str, Any]] = []
    if name == "tensions":  # replies point at tensions: out of the way while they move
        reply_table = sa.Table("tension_replies", sa.MetaData(), autoload_with=connection)
        replies = [dict(r) for r in connection.execute(sa.select(reply_table)).mappings()]
        connection.execute(sa.delete(reply_table))
    connection.execute(sa.delete(table))
    connection.execute(sa.insert(table), rows)
    if replies:
        random.SystemRandom().shuffle(replies)
        connection.execute(sa.insert(reply_table), replies)


def upgrade() -> None:
    # Sealing first: without a key it refuses before any DDL (SQLite's driver commits DDL at
    # once, so a refusal after it would leave a half-migrated schema).
    connection = op.get_bind()
    found = _ballots_to_seal(connection, _waiting_rounds(connection))
    found += _texts_to_seal(connection)
    _seal(connection, found)
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_with", sa.String(length=8), nullable=True))
    _drop_unpublished_texts(connection)
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index("answers_by_round")
    op.drop_table("answers")
    with op.batch_alter_table("pre_reflections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pre_reflections_occurrence_id"))
    op.drop_table("pre_reflections")
    for name in REWRITTEN:
        _rewrite_unordered(connection, name)


def downgrade() -> None:
    op.create_table(
        "pre_reflections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"], ["reflexive_occurrences.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("pre_reflections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pre_reflections_occurrence_id"), ["occurrence_id"], unique=False
        )
    op.create_table(
        "answers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("ballot", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=16), nullable=True),
        sa.Column("position", sa.String(length=16), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index("answers_by_round", ["round_id", "dimension"], unique=False)
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_column("sealed_with")
