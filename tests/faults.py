"""Faults injected into a real database engine (SQLite or PostgreSQL), at the points where a
real outage strikes: a transaction's COMMIT lost with the connection, or the database gone
for every statement. Raised as the drivers raise a lost connection (an OSError), which
`storage.database.unavailable` takes for an outage."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event

from storage.database import Database


class CommitFault:
    """Counts what was injected (tests assert the fault struck)."""

    def __init__(self) -> None:
        self.struck = 0
        self.away = False  # the database is gone (every statement fails)


@contextlib.contextmanager
def commit_fails(
    database: Database, statement: str, times: int = 1, *, then_away: bool = False
) -> Iterator[CommitFault]:
    """The COMMIT of the next `times` transactions that ran a statement starting with
    `statement` (e.g. "INSERT INTO intake") fails, as when the connection is lost then: the
    transaction is rolled back, nothing of it stays. `then_away`: the database stays gone
    afterwards (every statement fails) until the block ends, so nothing can be undone."""
    engine = database.engine.sync_engine
    fault = CommitFault()
    wanted = statement.upper()

    def ran(conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if fault.away:
            raise OSError("injected: the database is unreachable")
        if fault.struck < times and sql.lstrip().upper().startswith(wanted):
            conn.info["passerelle_fail_commit"] = True

    def commit(conn: Any) -> None:
        if conn.info.pop("passerelle_fail_commit", False):
            fault.struck += 1
            fault.away = then_away
            raise OSError("injected: the connection was lost at COMMIT")

    def rollback(conn: Any) -> None:
        conn.info.pop("passerelle_fail_commit", None)

    event.listen(engine, "before_cursor_execute", ran)
    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", rollback)
    try:
        yield fault
    finally:
        event.remove(engine, "before_cursor_execute", ran)
        event.remove(engine, "commit", commit)
        event.remove(engine, "rollback", rollback)


@contextlib.contextmanager
def database_away(database: Database) -> Iterator[CommitFault]:
    """Every statement fails as if the server were unreachable, until the block ends."""
    engine = database.engine.sync_engine
    fault = CommitFault()

    def refuse(*_: Any) -> None:
        fault.struck += 1
        raise OSError("injected: the database is unreachable")

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield fault
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
