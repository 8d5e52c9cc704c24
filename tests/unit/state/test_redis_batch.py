"""Admissions and settles made in one loop turn share one pipelined round trip, and each caller
still gets its own answer: its reservation, its refusal or its error."""

from __future__ import annotations

import asyncio

import pytest

from switchgear.state import Admission, Budget, RateLimit, Refusal, Reservation, Scope
from tests.fakes.state import redis_state

KEY = Scope("key", "batch")


def ask(id_: str, cost: int = 100) -> Admission:
    return Admission(
        id_, cost, 10, 30.0, budgets=(Budget(KEY, 1000),), rates=(RateLimit(KEY, "requests", 7),)
    )


async def test_concurrent_admissions_share_round_trips_and_stay_exact(redis_url: str) -> None:
    async with redis_state(redis_url) as state:
        results = await asyncio.gather(*(state.admit(ask(f"r{i}")) for i in range(40)))
        admitted = [r for r in results if isinstance(r, Reservation)]
        refused = [r for r in results if isinstance(r, Refusal)]
        assert len(admitted) == 7 and len(refused) == 33  # rpm 7 (budget would allow 10)
        assert [r.id for r in admitted] == [f"r{i}" for i in range(7)]  # in call order
        assert state._batcher.calls == 40 and state._batcher.batches < 5
        settled = await asyncio.gather(*(state.settle(r.id, 50, 5) for r in admitted))
        assert {s.outcome for s in settled} == {"settled"}
        spend = await state.spent(KEY)
        assert (spend.spent_microusd, spend.reserved_microusd) == (350, 0)


async def test_one_callers_script_error_is_its_own(redis_url: str) -> None:
    async with redis_state(redis_url) as state:
        assert isinstance(await state.admit(ask("dup")), Reservation)
        results = await asyncio.gather(
            state.admit(ask("dup")), state.admit(ask("other")), return_exceptions=True
        )
        assert isinstance(results[0], ValueError) and "in use" in str(results[0])
        assert isinstance(results[1], Reservation)


async def test_a_flushed_script_cache_is_reloaded_for_the_whole_batch(redis_url: str) -> None:
    async with redis_state(redis_url) as state:
        await state.client.script_flush()
        results = await asyncio.gather(*(state.admit(ask(f"f{i}", cost=1)) for i in range(5)))
        assert all(isinstance(r, Reservation) for r in results)
        await state.client.script_flush()
        settled = await asyncio.gather(*(state.settle(f"f{i}", 1, 1) for i in range(5)))
        assert [s.outcome for s in settled] == ["settled"] * 5


@pytest.mark.parametrize("calls", [1, 3])
async def test_an_unreachable_server_fails_every_caller_of_the_batch(calls: int) -> None:
    from switchgear.state import RedisState, StateUnavailable
    from tests.fakes.gateway import closed_port

    state = RedisState.from_url(f"redis://127.0.0.1:{closed_port()}/0", timeout_s=0.5)
    try:
        results = await asyncio.gather(
            *(state.admit(ask(f"u{i}")) for i in range(calls)), return_exceptions=True
        )
        assert all(isinstance(r, StateUnavailable) for r in results), results
    finally:
        await state.close()
