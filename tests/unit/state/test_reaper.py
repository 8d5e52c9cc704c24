"""The reaper task returns what crashed workers left behind, and survives a backend that fails."""

from __future__ import annotations

import asyncio

from switchgear.state import Admission, Budget, MemoryState, Period, Reaper, Scope

KEY = Scope("key", "k1")
DAY = Period.parse("1d")


async def test_the_reaper_task_returns_expired_reservations() -> None:
    state = MemoryState()
    await state.admit(Admission("lost", 100, 1, 0.02, budgets=(Budget(KEY, 1000, DAY),)))
    reaper = Reaper(state, interval_s=0.02)
    reaper.start()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if state.stats.reaped_reservations:
            break
    await reaper.stop()
    assert state.stats.reaped_reservations == 1 and reaper.runs >= 1
    assert (await state.spent(KEY, DAY)).reserved_microusd == 0


class _Broken(MemoryState):
    async def reap(self) -> int:
        raise ConnectionError("store down")


async def test_a_failing_reap_is_counted_and_the_task_goes_on() -> None:
    reaper = Reaper(_Broken(), interval_s=0.01)
    reaper.start()
    await asyncio.sleep(0.1)
    await reaper.stop()
    assert reaper.failures >= 2 and reaper.runs == 0
