"""Instruments put around the code under test while a bench runs: a statement counter on the
engine, functions wrapped where they are called from so their time adds up, and one call
timed on a session already in a transaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from sqlalchemy import event, text

from storage.database import Database

# (where the function is looked up, its name, the label its time is added under)
Part = tuple[Any, str, str]


@contextmanager
def counting_statements(db: Database) -> Iterator[list[int]]:
    """Statements sent to the database inside the block (BEGIN/COMMIT are not statements)."""
    count = [0]

    def on_execute(*_: Any) -> None:
        count[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield count
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", on_execute)


@contextmanager
def patched(owner: Any, name: str, wrapper: Callable[[Any], Any]) -> Iterator[None]:
    """`owner.name` replaced by `wrapper(original)` inside the block. An attribute the owner
    did not hold itself (a method, found on an instance's class) is deleted afterwards rather
    than set back, so the instance looks it up on its class again."""
    own = name in vars(owner)
    original = getattr(owner, name)
    setattr(owner, name, wrapper(original))
    try:
        yield
    finally:
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


def timing(on_done: Callable[[float], None]) -> Callable[[Any], Any]:
    """A wrapper factory for `patched`: each call of the wrapped function (coroutine function
    or not) reports its milliseconds to `on_done`, even when it raises."""

    def wrap(original: Any) -> Any:
        if asyncio.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    on_done((time.perf_counter() - start) * 1000)

            return timed_async

        def timed_sync(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                on_done((time.perf_counter() - start) * 1000)

        return timed_sync

    return wrap


@contextmanager
def timed_parts(
    parts: Sequence[Part], spent: dict[str, float], calls: dict[str, int] | None = None
) -> Iterator[None]:
    """Every part wrapped inside the block: its milliseconds added to `spent[label]` and, when
    `calls` is given, its calls counted there."""

    def recorder(label: str) -> Callable[[float], None]:
        def record(ms: float) -> None:
            spent[label] += ms
            if calls is not None:
                calls[label] = calls.get(label, 0) + 1

        return record

    with ExitStack() as stack:
        for owner, name, label in parts:
            spent.setdefault(label, 0.0)
            stack.enter_context(patched(owner, name, timing(recorder(label))))
        yield


async def timed(db: Database, call: Callable[[Any], Awaitable[Any]]) -> float:
    """Milliseconds of `call(session)` on a session whose connection is already checked out and
    in a transaction, so pool checkout, pre-ping and BEGIN are left out of every figure. The
    session is closed without commit: whatever the call wrote is rolled back."""
    async with db.session() as session:
        await session.execute(text("SELECT 1"))
        start = time.perf_counter()
        await call(session)
        return (time.perf_counter() - start) * 1000
