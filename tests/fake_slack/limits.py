"""Rate limits (published and hidden) and forced failures, as a test sets them."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from tests.fake_slack.records import Bucket, Forced, Limit
from tests.fake_slack.state import SlackState


class RateLimits(SlackState):
    """429s and forced failures: ``rate_limit``, ``hidden_limit``, ``fail_next``."""

    def rate_limit(
        self,
        method: str | None,
        per_minute: int,
        *,
        window_seconds: float = 60.0,
        per_channel: bool = False,
    ) -> None:
        """Allow ``per_minute`` calls of ``method`` (``None``: of all Web API methods together)
        per workspace in any sliding window of ``window_seconds`` (60 unless shortened for
        speed); beyond that answer HTTP 429 with ``Retry-After``. ``per_channel`` counts each
        channel apart, like chat.postMessage's one message per second per channel."""
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._limits[method] = Limit(per_minute, window_seconds, per_channel)

    def hidden_limit(
        self, method: str | None, rate: float, *, burst: int = 1, per_channel: bool = False
    ) -> None:
        """A token bucket on ``method`` (``None``: every Web API method together), per
        workspace or, with ``per_channel``, per workspace and channel: ``rate`` calls a second
        on average, ``burst`` at once after a lull; beyond, HTTP 429 with the whole seconds
        until a token is back as ``Retry-After`` (at least 1, as Slack sends). Several may hold
        at once (a workspace ceiling and one per channel); none is published to the client."""
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._buckets.append(Bucket(method, rate, burst, per_channel))

    def clear_rate_limits(self) -> None:
        self._limits.clear()
        self._buckets.clear()

    def fail_next(
        self,
        method: str | None,
        status: int = 429,
        retry_after: int = 1,
        *,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``None``: any method; ``UPLOAD``: the
        upload POST) fail: 429 with ``Retry-After: retry_after``, a 5xx, or with ``status=200``
        a plain ``{"ok": false, "error": error}``."""
        for _ in range(times):
            self._forced[method].append(Forced(status, max(1, int(retry_after)), error))

    def _take_forced(self, method: str) -> Forced | None:
        for key in (method, None):
            queue = self._forced.get(key)
            if queue:
                return queue.popleft()
        return None

    @staticmethod
    def _forced_answer(forced: Forced) -> tuple[dict[str, Any], int, int | None]:
        if forced.status == 429:
            return {"ok": False, "error": forced.error or "ratelimited"}, 429, forced.retry_after
        return {"ok": False, "error": forced.error or "internal_error"}, forced.status, None

    def _over_limit(
        self, method: str, team_id: str | None, params: dict[str, Any], now: float
    ) -> int | None:
        limits = [self._limits[m] for m in (method, None) if m in self._limits]
        worst: int | None = None
        buckets: list[deque[float]] = []
        for limit in limits:
            channel = str(params.get("channel", "")) if limit.per_channel else None
            hits = limit.hits[(team_id, channel)]
            while hits and hits[0] <= now - limit.window:
                hits.popleft()
            if len(hits) >= limit.per_window:
                wait = max(1, math.ceil(hits[0] + limit.window - now))
                worst = max(worst or 0, wait)
            buckets.append(hits)
        levels = []
        for bucket in self._buckets:
            if bucket.method not in (method, None):
                continue
            key = bucket.key(team_id, params)
            level = bucket.level(key, now)
            if level < 1:
                wait = max(1, math.ceil((1 - level) / bucket.rate))
                worst = max(worst or 0, wait)
            levels.append((bucket, key, level))
        if worst is not None:
            return worst
        for hits in buckets:
            hits.append(now)
        for bucket, key, level in levels:
            bucket.tokens[key] = (level - 1, now)
        return None
