"""The memory backend on a stepped clock: period resets, expiries and what it forgets."""

from __future__ import annotations

from switchgear.state import (
    Admission,
    Budget,
    Concurrency,
    MemoryState,
    Period,
    RateLimit,
    Reservation,
    Scope,
)
from tests.fakes.state import SteppedClock

KEY = Scope("key", "k1")
HOUR = Period.parse("1h")


def ask(id_: str, cost: int = 100, ttl: float = 30.0, **limits: object) -> Admission:
    return Admission(id_, cost, 10, ttl, **limits)  # type: ignore[arg-type]


async def test_a_period_resets_once_and_late_settles_land_in_their_own_period() -> None:
    clock = SteppedClock()
    state = MemoryState(clock)
    budget = Budget(KEY, 200, HOUR, soft_microusd=100)
    first = await state.admit(ask("a", budgets=(budget,)))
    assert isinstance(first, Reservation)
    assert isinstance(await state.admit(ask("b", budgets=(budget,))), Reservation)
    assert not isinstance(await state.admit(ask("c", budgets=(budget,))), Reservation)
    clock.advance(3600)  # the next hour: a new counter, nothing carried over
    assert isinstance(await state.admit(ask("c", budgets=(budget,))), Reservation)
    crossed = await state.settle("a", 150, 0)  # lands in the hour it was reserved in
    assert [c.period_id for c in crossed.soft_crossings] == [HOUR.at(first.at_us // 1_000_000)[0]]
    await state.settle("b", 0, 0)
    old = await state.spent(KEY, HOUR, at_us=first.at_us)
    assert (old.spent_microusd, old.reserved_microusd) == (150, 0)
    new = await state.settle("c", 150, 0)  # the new hour reports its own soft crossing
    assert len(new.soft_crossings) == 1
    now = await state.spent(KEY, HOUR)
    assert (now.spent_microusd, now.reserved_microusd) == (150, 0)


async def test_a_sweep_forgets_past_periods_tombstones_and_idle_logs() -> None:
    clock = SteppedClock()
    state = MemoryState(clock)
    rpm = RateLimit(KEY, "requests", 5)
    await state.admit(ask("a", ttl=1, budgets=(Budget(KEY, 500, HOUR),), rates=(rpm,)))
    await state.admit(ask("b", budgets=(Budget(KEY, 500, HOUR),), concurrency=(Concurrency(KEY, 2),)))
    await state.settle("b", 10, 0)
    clock.advance(2)
    assert await state.reap() == 1  # "a" expired
    clock.advance(3 * 86_400)  # past the hour, its day of keeping, and the tombstone's day
    await state.reap()
    assert (state._counters, state._logs, state._leases, state._tombstones) == ({}, {}, {}, {})
    assert (await state.settle("a", 10, 0)).outcome == "unknown"


async def test_a_clock_stepping_back_does_not_reorder_the_log() -> None:
    clock = SteppedClock()
    state = MemoryState(clock)
    rpm = RateLimit(KEY, "requests", 2, window_s=10)
    first = await state.admit(ask("a", rates=(rpm,)))
    clock.advance(-5)
    second = await state.admit(ask("b", rates=(rpm,)))
    assert isinstance(first, Reservation) and isinstance(second, Reservation)
    assert second.at_us >= first.at_us
