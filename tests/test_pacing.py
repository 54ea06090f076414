"""The token bucket that paces Teams sends: a burst, then one send per 1/rate seconds."""

from __future__ import annotations

import pytest

from adapters import pacing
from adapters.pacing import Pacer, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    time = FakeTime()
    monkeypatch.setattr(pacing.asyncio, "sleep", time.sleep)
    return time


async def test_a_burst_goes_at_once_then_the_rate_holds(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=2.0, burst=3, clock=fake_time.clock)
    for _ in range(3):
        await bucket.take()
    assert fake_time.slept == []
    for _ in range(4):
        await bucket.take()
    assert fake_time.slept == [0.5, 0.5, 0.5, 0.5]
    assert fake_time.now == pytest.approx(2.0)  # 7 sends: 3 at once, then 2 a second


async def test_idle_time_refills_up_to_the_burst_only(fake_time: FakeTime) -> None:
    bucket = TokenBucket(rate=1.0, burst=2, clock=fake_time.clock)
    await bucket.take()
    await bucket.take()
    fake_time.now += 60  # a long pause earns 2 sends, not 60
    for _ in range(3):
        await bucket.take()
    assert fake_time.slept == [1.0]


def test_a_bucket_needs_a_rate_and_a_burst() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0)


async def test_a_pacer_keeps_one_bucket_per_key(fake_time: FakeTime) -> None:
    pacer = Pacer(rate=1.0, burst=1)
    for bucket in ("tenant-a", "tenant-b"):
        await pacer.take(bucket)
    assert fake_time.slept == []  # two keys, two buckets: no wait
    assert set(pacer._buckets) == {"tenant-a", "tenant-b"}
