"""Per-person weekly limit on tensions, held in memory only.

A count stored per member next to dated tensions would say who wrote the week's only tension,
so nothing is written: each process keeps counts under a keyed hash whose key is made at
start-up and never stored. A restart forgets the counts; with several processes each keeps its
own, so the limit is per process. It curbs flooding; it is not a quota.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading


class WeeklyLimiter:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def _slot(self, member_id: int, week: str) -> tuple[str, str]:
        tag = hmac.new(self._key, str(member_id).encode(), hashlib.sha256).hexdigest()
        return tag, week

    def used(self, member_id: int, week: str) -> int:
        return self._counts.get(self._slot(member_id, week), 0)

    def take(self, member_id: int, week: str, limit: int) -> bool:
        """Use one of the week's `limit` slots; False when none is left. Check and count are
        one step, so simultaneous submissions cannot both take the last slot."""
        slot = self._slot(member_id, week)
        with self._lock:
            # Only the current week matters: forget the others as weeks turn.
            for old in [s for s in self._counts if s[1] != week]:
                del self._counts[old]
            if self._counts.get(slot, 0) >= limit:
                return False
            self._counts[slot] = self._counts.get(slot, 0) + 1
            return True

    def give_back(self, member_id: int, week: str) -> None:
        """Return a slot taken for a submission that turned out to be a repeat."""
        slot = self._slot(member_id, week)
        with self._lock:
            if self._counts.get(slot, 0) > 0:
                self._counts[slot] -= 1
