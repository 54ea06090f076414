"""The lull that work after an ack waits for: on a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.lull import Lull


class Clock:
    """A clock that only sleeping moves; `each` is called after every sleep (a request)."""

    def __init__(self, each: Callable[[], None] = lambda: None) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.each = each

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert len(self.slept) < 10_000, "the lull spins"
        self.slept.append(seconds)
        self.now += seconds
        self.each()


def lull_on(clock: Clock, quiet: float = 0.125, patience: float = 2.0) -> Lull:
    return Lull(quiet_seconds=quiet, patience_seconds=patience, clock=clock, sleep=clock.sleep)


def one_request(lull: Lull) -> None:
    lull.arrived()
    lull.answered()


async def test_no_wait_when_nothing_arrived_lately() -> None:
    clock = Clock()
    lull = lull_on(clock)
    assert await lull.wait() is True
    one_request(lull)
    clock.now += 0.125  # binary fractions: exact sums
    assert await lull.wait() is True
    assert clock.slept == []


async def test_waits_until_the_last_arrival_is_quiet_seconds_old() -> None:
    clock = Clock()
    lull = lull_on(clock)
    one_request(lull)
    clock.now += 0.0625
    assert await lull.wait() is True
    assert clock.slept == [0.0625]


async def test_a_stream_of_requests_holds_the_work_until_it_stops() -> None:
    stream_ends = 101.0

    def one_more_request() -> None:
        if clock.now < stream_ends:
            one_request(lull)

    clock = Clock(one_more_request)
    lull = lull_on(clock)
    one_request(lull)
    assert await lull.wait() is True
    assert lull.last_arrival > stream_ends - 0.25  # it waited the whole stream out...
    assert clock.now == lull.last_arrival + 0.125  # ...then a quiet 0.125 s, no more


async def test_patience_runs_out_under_a_steady_stream() -> None:
    clock = Clock()
    lull = lull_on(clock)
    clock.each = lambda: one_request(lull)  # a request after every sleep, for ever
    one_request(lull)
    assert await lull.wait() is False
    assert sum(clock.slept) == pytest.approx(2.0)


async def test_a_request_being_answered_is_not_a_lull() -> None:
    clock = Clock()
    lull = lull_on(clock, patience=0.5)
    lull.arrived()  # not answered: however long ago it came
    clock.now += 60
    assert await lull.wait() is False
    assert sum(clock.slept) == pytest.approx(0.5)
    lull.answered()
    lull.answered()  # one too many: the count never goes below zero
    assert lull.in_flight == 0
    assert await lull.wait() is True


async def test_a_remainder_rounded_to_nothing_does_not_spin() -> None:
    clock = Clock()
    lull = lull_on(clock)
    one_request(lull)
    lull.quiet_seconds = 0.1
    clock.now += 0.1  # 100.1 - 100.0 is a hair under 0.1 in floating point
    assert await lull.wait() is True
    assert len(clock.slept) == 1
