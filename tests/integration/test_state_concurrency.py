"""Concurrency proofs of the state layer (BAD-INPUTS B1, B2, R1 and the conservation invariant),
on the memory backend and on a real Redis, from one process and from three processes at once.

Each proof repeats enough rounds to catch a race: requests are released together by one event (or,
across processes, by one Redis list), so any check-then-act gap would let more than the limit in.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from switchgear.state import (
    Admission,
    Budget,
    Concurrency,
    MemoryState,
    Period,
    RateLimit,
    RedisState,
    Reservation,
    Scope,
)
from tests.fakes.redis_server import RedisServer
from tests.fakes.state import delete_prefix, new_prefix, redis_state

State = MemoryState | RedisState
ROOT = Path(__file__).resolve().parents[2]
DAY = Period.parse("1d")
COST = 1_000  # micro-USD: every request's worst case


@pytest.fixture(params=["memory", "redis"])
async def make_state(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    """A factory of fresh, empty backends (one per round)."""
    opened: list[RedisState] = []
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    async def make() -> State:
        if url is None:
            return MemoryState()
        state = RedisState.from_url(url, prefix=new_prefix(), timeout_s=5.0)
        await state.start()
        opened.append(state)
        return state

    yield make
    for state in opened:
        await delete_prefix(state, state.prefix)
        await state.close()


async def test_200_requests_released_together_admit_at_most_k(make_state: object) -> None:
    rng = random.Random(13)
    for round_ in range(15):
        state: State = await make_state()  # type: ignore[operator]
        k = rng.randint(1, 150)
        key = Scope("end_user", f"new-{round_}")  # a scope nobody has used: its counter starts now
        budgets = (Budget(key, k * COST + COST - 1, DAY), Budget(Scope("team", "t"), 10**9, DAY))
        go = asyncio.Event()
        tasks = [asyncio.create_task(admit_when(go, state, f"b{round_}-{i}", budgets)) for i in range(200)]
        await asyncio.sleep(0)
        go.set()
        admitted = sum(await asyncio.gather(*tasks))
        assert admitted == k, f"round {round_}: {admitted} admitted against a budget for {k}"
        await asyncio.gather(*(state.settle(f"b{round_}-{i}", COST, 1) for i in range(200)))
        spend = await state.spent(key, DAY)
        assert spend.spent_microusd == k * COST <= budgets[0].max_microusd
        assert spend.reserved_microusd == 0


async def admit_when(go: asyncio.Event, state: State, id_: str, budgets: tuple[Budget, ...]) -> bool:
    await go.wait()
    return isinstance(await state.admit(Admission(id_, COST, 1, 30.0, budgets=budgets)), Reservation)


class Workers:
    """Worker processes (tests/fakes/state_worker.py) sharing one Redis prefix."""

    def __init__(self, url: str, prefix: str, count: int = 3) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.fakes.state_worker", url, prefix],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]

    @staticmethod
    async def _line(proc: subprocess.Popen[str]) -> str:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        if not line:
            raise AssertionError(f"a state worker exited with {proc.wait(5)}")
        return line.strip()

    async def ready(self) -> None:
        for proc in self.procs:
            assert await self._line(proc) == "ready"

    async def round(self, state: RedisState, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Give each worker its job, start them all at once, collect what each answers."""
        go = f"{state.prefix}go:{uuid.uuid4().hex}"
        for proc, job in zip(self.procs, jobs, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({**job, "go": go}) + "\n")
            proc.stdin.flush()
        for proc in self.procs:
            assert await self._line(proc) == "armed"
        await state.client.rpush(go, *["go"] * len(self.procs))
        return [json.loads(await self._line(proc)) for proc in self.procs]

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(10)


@pytest.fixture(scope="module")
async def shared(redis_server: RedisServer) -> AsyncIterator[tuple[RedisState, Workers]]:
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    async with redis_state(redis_server.url, timeout_s=5.0) as state:
        workers = Workers(redis_server.url, state.prefix)
        try:
            await workers.ready()
            yield state, workers
        finally:
            workers.close()


async def test_three_processes_sharing_redis_admit_at_most_k(shared: tuple[RedisState, Workers]) -> None:
    state, workers = shared
    rng = random.Random(7)
    for round_ in range(8):
        k = rng.randint(1, 180)
        budget = k * COST + COST - 1
        jobs = [
            {"mode": "burst", "ids": f"w{w}-r{round_}", "n": 67, "budget": budget, "cost": COST}
            for w in range(3)
        ]
        admitted = [id_ for answer in await workers.round(state, jobs) for id_ in answer["admitted"]]
        assert len(admitted) == k, f"round {round_}: {len(admitted)} of 201 admitted against {k}"
        await asyncio.gather(*(state.settle(id_, COST, 1) for id_ in admitted))
        spend = await state.spent(Scope("key", "shared"))
        assert (spend.spent_microusd, spend.reserved_microusd) == (k * COST, 0)
        await state.client.delete(f"{state.prefix}b:key:shared:all")  # the next round starts empty


def most_in_any_window(times_us: list[int], window_us: int) -> int:
    """The largest number of admissions in any rolling window (t - w, t] ending at an admission."""
    times = sorted(times_us)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window_us:
            start += 1
        most = max(most, end - start + 1)
    return most


LIMIT, WINDOW_S, RUN_S = 20, 1, 2.2


async def test_a_request_limit_holds_in_every_rolling_window_in_one_process() -> None:
    state = MemoryState()
    limit = RateLimit(Scope("key", "k"), "requests", LIMIT, window_s=WINDOW_S)
    times: list[int] = []
    loop = asyncio.get_running_loop()
    deadline, i = loop.time() + RUN_S, 0
    while loop.time() < deadline:
        for _ in range(3):
            result = await state.admit(Admission(f"s{i}", 0, 1, 30.0, rates=(limit,)))
            i += 1
            if isinstance(result, Reservation):
                times.append(result.at_us)
        await asyncio.sleep(0.004)
    assert most_in_any_window(times, WINDOW_S * 1_000_000) == LIMIT
    assert len(times) >= 2 * LIMIT and i > len(times)  # the limit was reached, and held


async def test_a_request_limit_holds_in_every_rolling_window_across_three_processes(
    shared: tuple[RedisState, Workers],
) -> None:
    state, workers = shared
    jobs = [
        {"mode": "stream", "ids": f"w{w}", "limit": LIMIT, "window_s": WINDOW_S, "seconds": RUN_S}
        for w in range(3)
    ]
    answers = await workers.round(state, jobs)
    times = [t for answer in answers for t in answer["times"]]
    assert most_in_any_window(times, WINDOW_S * 1_000_000) == LIMIT
    assert len(times) >= 2 * LIMIT and sum(a["refused"] for a in answers) > len(times)
    assert all(answer["times"] for answer in answers)  # every process got some of the limit


async def test_conservation_after_a_mixed_load(make_state: object) -> None:
    """Settles (below and above the estimate), releases, double settles, abandoned requests the
    reaper returns, late settles racing the reaper: afterwards nothing is reserved, no lease is
    held, and every scope's spend is the sum of the actual costs recorded for it."""
    for seed in range(3):
        state: State = await make_state()  # type: ignore[operator]
        expected = await mixed_load(state, seed)
        for scope, total in expected.items():
            spend = await state.spent(scope, DAY)
            assert (spend.spent_microusd, spend.reserved_microusd) == (total, 0), (seed, scope)
        for key in KEYS:
            assert await state.in_flight(Concurrency(key, 1_000)) == 0


KEYS = [Scope("key", f"k{i}") for i in range(3)]
TEAM, GLOBAL = Scope("team", "t"), Scope("global")
FATES = ("settle", "over", "release", "double", "abandon", "late")


async def mixed_load(state: State, seed: int) -> dict[Scope, int]:
    rng = random.Random(seed)
    expected: dict[Scope, int] = defaultdict(int)
    late: list[tuple[str, tuple[Scope, ...], int]] = []

    def record(scopes: tuple[Scope, ...], actual: int) -> None:
        for scope in scopes:
            expected[scope] += actual

    async def one(i: int) -> None:
        key, fate, cost = rng.choice(KEYS), rng.choice(FATES), rng.randint(1, 2_000)
        scopes = (key, TEAM, GLOBAL)
        budgets = (Budget(key, 60_000, DAY), Budget(TEAM, 150_000, DAY), Budget(GLOBAL, 10**12, DAY))
        id_ = f"m{seed}-{i}"
        await asyncio.sleep(rng.random() * 0.02)
        admission = Admission(
            id_, cost, 50, 0.1 if fate in ("abandon", "late") else 30.0, budgets=budgets,
            rates=(RateLimit(key, "tokens", 10**6),), concurrency=(Concurrency(key, 1_000),),
        )  # fmt: skip
        if not isinstance(await state.admit(admission), Reservation):
            return
        await asyncio.sleep(rng.random() * 0.02)
        if fate in ("settle", "over", "double"):
            actual = rng.randint(0, cost) if fate != "over" else cost + rng.randint(1, 500)
            assert (await state.settle(id_, actual, 40)).outcome == "settled"
            record(scopes, actual)
            if fate == "double":
                assert (await state.settle(id_, actual, 40)).outcome == "unknown"
        elif fate == "release":
            await state.release(id_)
        elif fate == "late":
            late.append((id_, scopes, rng.randint(0, cost)))

    async def reaper(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await state.reap()
            await asyncio.sleep(0.005)

    stop = asyncio.Event()
    reaping = asyncio.create_task(reaper(stop))
    await asyncio.gather(*(one(i) for i in range(300)))
    await asyncio.sleep(0.1)  # past every short reservation's expiry: settles now race the reaper
    for id_, scopes, actual in late:
        assert (await state.settle(id_, actual, 40)).outcome in ("settled", "late")
        record(scopes, actual)
    await asyncio.sleep(0.02)
    stop.set()
    await reaping
    await state.reap()
    assert late and state.stats.reaped_reservations > 0
    return expected
