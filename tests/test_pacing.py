"""The pace arithmetic (storage.send_paces.advance / penalized) and the pacer's waiting
(adapters.pacing.Pacer) on the in-memory store, with a controlled clock: no real sleep."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.pacing import MemoryStore, Pacer, Paused
from storage.send_paces import Rule, advance, fresh, penalized

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
RULE = Rule(interval=0.5, fastest=0.1, slowest=8.0, probe_after=4, faster=0.5, slower=2.0)
FAR = T0 + dt.timedelta(days=1)


def seconds(at: dt.datetime) -> float:
    return (at - T0).total_seconds()


def test_slots_are_spaced_by_the_interval_and_an_idle_scope_goes_at_once() -> None:
    state, slots = fresh(T0, RULE), []
    for _ in range(4):
        state, slot = advance(state, T0, RULE, 0, FAR)
        slots.append(seconds(slot.at))
    assert slots == [0.0, 0.5, 1.0, 1.5]
    later = T0 + dt.timedelta(seconds=60)  # a lull earns no burst beyond the rule's
    state, slot = advance(state, later, RULE, 0, FAR)
    assert slot.at == later and not slot.busy


def test_a_burst_goes_at_once_then_the_interval_holds() -> None:
    rule = Rule(interval=1.0, fastest=1.0, slowest=30.0, burst=3)
    state, slots = fresh(T0, rule), []
    for _ in range(5):
        state, slot = advance(state, T0, rule, 0, FAR)
        slots.append(seconds(slot.at))
    assert slots == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_a_429_slows_down_once_per_hold_and_holds_until_retry_after() -> None:
    state = fresh(T0, RULE)
    state = penalized(state, T0, RULE, retry_after=3)
    held = T0 + dt.timedelta(seconds=3)
    assert (state.interval, state.paused_until, state.streak) == (1.0, held, 0)
    # More 429s from calls already in flight: the same episode, not slower again.
    state = penalized(state, T0 + dt.timedelta(seconds=1), RULE, retry_after=1)
    assert state.interval == 1.0 and state.paused_until == T0 + dt.timedelta(seconds=3)
    state, slot = advance(state, T0, RULE, 0, FAR)
    assert seconds(slot.at) == 3.0  # nothing before the hold ends
    for _ in range(5):
        state = penalized(state, state.paused_until or T0, RULE, retry_after=1)
    assert state.interval == RULE.slowest  # capped


def test_a_streak_of_answered_calls_probes_faster_down_to_the_floor() -> None:
    state = fresh(T0, RULE)
    intervals = []
    for _ in range(4):
        state, _slot = advance(state, T0, RULE, successes=4, latest=FAR)
        intervals.append(state.interval)
    assert intervals == [0.25, 0.125, 0.1, 0.1]
    state, _slot = advance(state, T0, RULE, successes=3, latest=FAR)
    assert state.streak == 3 and state.interval == 0.1


def test_a_slot_past_the_latest_is_not_taken() -> None:
    state = penalized(fresh(T0, RULE), T0, RULE, retry_after=60)
    after, slot = advance(state, T0, RULE, 2, T0 + dt.timedelta(seconds=10))
    assert not slot.reserved and seconds(slot.at) == 60.0
    assert after == state  # nothing taken, nothing counted


class FakeTime:
    def __init__(self) -> None:
        self.now = T0
        self.slept: list[float] = []

    def clock(self) -> dt.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += dt.timedelta(seconds=seconds)


async def test_the_pacer_sleeps_until_each_slot_narrowest_scope_first() -> None:
    time = FakeTime()
    pacer = Pacer("slack", MemoryStore(), clock=time.clock, sleep=time.sleep)
    channel = Rule(interval=1.0, fastest=1.0, slowest=30.0)
    workspace = Rule(interval=0.25, fastest=0.1, slowest=8.0)
    for _ in range(3):
        await pacer.wait([("T1/chat/c/x", channel), ("T1/chat", workspace)])
    assert time.slept == [1.0, 1.0]  # the channel's pace; the workspace's had room each time
    assert seconds(time.now) == 2.0


async def test_the_pacer_gives_up_on_a_long_hold_and_sees_its_own_429s() -> None:
    time = FakeTime()
    pacer = Pacer("slack", MemoryStore(), clock=time.clock, sleep=time.sleep, max_wait=10)
    await pacer.limited("T1/chat", RULE, retry_after=30)
    with pytest.raises(Paused) as paused:
        await pacer.wait([("T1/chat", RULE)])
    assert paused.value.until == T0 + dt.timedelta(seconds=30)
    await pacer.wait([("T2/chat", RULE)])  # another workspace is not held
    assert time.slept == []


async def test_successes_are_counted_with_the_next_reservation() -> None:
    time = FakeTime()
    store = MemoryStore()
    pacer = Pacer("slack", store, clock=time.clock, sleep=time.sleep)
    await pacer.wait([("T1/chat", RULE)])
    pacer.succeeded(["T1/chat"] * 4)
    time.now += dt.timedelta(seconds=5)
    await pacer.wait([("T1/chat", RULE)])
    assert store.states[("slack", "T1/chat")].interval == 0.25


def test_conversations_are_named_by_keyed_hash_when_a_tagger_is_given() -> None:
    pacer = Pacer("slack", tag=lambda key: "h" * 64)
    assert pacer.conversation("T1:U0ANNE") == "h" * 32
    assert Pacer("slack").conversation("T1:U0ANNE") == "T1:U0ANNE"
