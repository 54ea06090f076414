"""A bounded map whose entries expire: deliveries already processed, people's profiles."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class TtlCache:
    """A bounded map whose entries expire: processed deliveries, people's profiles."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        found = self._items.get(key)
        if found is None or found[0] < self.clock():
            self._items.pop(key, None)
            return None
        return found[1]

    def put(self, key: str, value: Any) -> None:
        self._items[key] = (self.clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen within the ttl (and remember it)."""
        if self.get(key) is not None:
            return False
        self.put(key, True)
        return True
