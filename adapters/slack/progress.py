"""How far an outbox delivery got on Slack, so that a retry posts only what is missing.

A card may go out as several parts: its messages (a long card is split), then its files (a
chart, a CSV). Slack has no idempotency key for chat.postMessage or
files.completeUploadExternal: when a later part fails (a 429 with a long Retry-After, a
timeout) and the outbox tries the delivery again, the parts already posted would be posted
twice. So each part posted before the last is marked in the database (`marks`, committed
before the next part is tried), and a retry, on any process, skips the marked parts. When the
whole delivery is through, its marks go: a later delivery with the same content (a summary
that did not change) is not mistaken for a retry.

A mark's key is a keyed hash of the delivery's identity and the part's index (`Sealer.tag`):
the table names no person and no conversation. The identity is the outbox row's key when the
delivery carries it (`Delivery.key`), else a digest of where it goes and what it says, which
is the same on every try of one row.

A delivery of one part (most of them: one message, no file) never touches the database here.
What is left: a process that dies between a part's post and its mark posts that part again
(Slack gives us nothing to ask whether it arrived).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from sqlalchemy import delete, select

from dialogs.ports import Delivery
from storage import marks
from storage.coordination import Mark
from storage.database import Database
from storage.sealing import Sealer

# Longer than any retry of a row: eight attempts backed off up to ten minutes each, and the
# holds of rate limits between them. Marks of a finished delivery are deleted at once.
PART_TTL = dt.timedelta(days=2)
KIND = "slack part"


def identity(delivery: Delivery) -> str:
    """What stays the same on every try of one outbox row."""
    key = delivery.key  # the row's idem_key, when the worker gives it
    if key:
        return f"key:{key}"
    content = json.dumps(delivery.card.model_dump(mode="json"), sort_keys=True)
    where = "\x1f".join((delivery.workspace, delivery.kind, delivery.address))
    return "content:" + hashlib.sha256(f"{where}\x1f{content}".encode()).hexdigest()


class Progress:
    """The parts of one delivery already posted (`done`), recorded as they are (`posted`)."""

    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        clock: Callable[[], dt.datetime],
        delivery: Delivery,
        parts: int,
    ) -> None:
        self.database, self.clock, self.parts = database, clock, parts
        ident = identity(delivery)
        self.keys = [sealer.tag("mark", KIND, ident, n) for n in range(parts)]
        self.done: set[int] = set()
        self._marked = False

    async def load(self) -> set[int]:
        """The parts an earlier try posted (none to look for when there is one part)."""
        if self.parts < 2:
            return self.done
        async with self.database.session() as session:
            found = await session.scalars(
                select(Mark.key).where(Mark.key.in_(self.keys), Mark.expires_at > self.clock())
            )
            present = set(found.all())
        self.done = {n for n, key in enumerate(self.keys) if key in present}
        self._marked = bool(self.done)
        return self.done

    async def posted(self, part: int) -> None:
        """Part `part` is on Slack: committed before the next part is tried. The last part
        needs no mark (nothing after it can fail and bring a retry)."""
        self.done.add(part)
        if part >= self.parts - 1:
            return
        async with self.database.session() as session, session.begin():
            await marks.first_times(session, [self.keys[part]], PART_TTL, self.clock())
        self._marked = True

    async def finished(self) -> None:
        """Every part is on Slack: the marks go."""
        if not self._marked:
            return
        async with self.database.session() as session, session.begin():
            await session.execute(delete(Mark).where(Mark.key.in_(self.keys)))
        self._marked = False


class Ledger:
    """Makes a `Progress` per delivery (the sender holds one; none: nothing is recorded)."""

    def __init__(
        self, database: Database, sealer: Sealer, clock: Callable[[], dt.datetime]
    ) -> None:
        self.database, self.sealer, self.clock = database, sealer, clock

    def progress(self, delivery: Delivery, parts: int) -> Progress:
        return Progress(self.database, self.sealer, self.clock, delivery, parts)


class Unrecorded(Progress):
    """For a sender without a database (a test's): nothing posted before, nothing recorded."""

    def __init__(self) -> None:
        self.done = set()

    async def load(self) -> set[int]:
        return self.done

    async def posted(self, part: int) -> None:
        self.done.add(part)

    async def finished(self) -> None:
        return None
