"""One of several processes sharing a Redis state backend, driven by a test.

Run as ``python -m tests.fakes.state_worker REDIS_URL PREFIX``. Each line on stdin is a JSON round;
the worker gets its admissions ready, prints ``armed``, waits on the Redis list named ``go`` (so
every process starts at once), runs the round and prints its result as one JSON line:

- ``{"mode": "burst", "go": ..., "ids": "w1-r3", "n": 67, "budget": 3700, "cost": 100}``: ``n``
  admissions at once against one key budget; answers the admitted ids.
- ``{"mode": "stream", "go": ..., "ids": ..., "limit": 20, "window_s": 1, "seconds": 2.0}``: admissions
  against one request limit, a few at a time, for ``seconds``; answers the admission times.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from switchgear.state import Admission, Budget, RateLimit, RedisState, Reservation, Scope

KEY = Scope("key", "shared")


async def burst(state: RedisState, job: dict[str, Any], go: asyncio.Event) -> dict[str, Any]:
    budget = Budget(KEY, job["budget"])

    async def one(i: int) -> str | None:
        await go.wait()
        result = await state.admit(Admission(f"{job['ids']}-{i}", job["cost"], 1, 30.0, budgets=(budget,)))
        return result.id if isinstance(result, Reservation) else None

    tasks = [asyncio.create_task(one(i)) for i in range(job["n"])]
    await _armed_then_go(state, job, go)
    admitted = [id_ for id_ in await asyncio.gather(*tasks) if id_]
    return {"admitted": admitted}


async def stream(state: RedisState, job: dict[str, Any], go: asyncio.Event) -> dict[str, Any]:
    limit = RateLimit(KEY, "requests", job["limit"], window_s=job["window_s"])
    times: list[int] = []
    refused = 0

    async def one(id_: str) -> None:
        nonlocal refused
        result = await state.admit(Admission(id_, 0, 1, 30.0, rates=(limit,)))
        if isinstance(result, Reservation):
            times.append(result.at_us)
        else:
            refused += 1

    await _armed_then_go(state, job, go)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + job["seconds"]
    i = 0
    while loop.time() < deadline:
        await asyncio.gather(*(one(f"{job['ids']}-{i + j}") for j in range(3)))
        i += 3
        await asyncio.sleep(0.004)
    return {"times": times, "refused": refused}


async def _armed_then_go(state: RedisState, job: dict[str, Any], go: asyncio.Event) -> None:
    print("armed", flush=True)
    await state.client.blpop([job["go"]], timeout=4)
    go.set()


async def main(url: str, prefix: str) -> None:
    state = RedisState.from_url(url, prefix=prefix, timeout_s=5.0)
    await state.start()
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        job = json.loads(line)
        run = burst if job["mode"] == "burst" else stream
        print(json.dumps(await run(state, job, asyncio.Event())), flush=True)
    await state.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
