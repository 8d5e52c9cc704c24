"""What only the Redis backend has: keys with periods and expiries, script reloading, the server's
clock, an unreachable server, and reaping shared by several processes."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest

from switchgear.state import (
    Admission,
    Budget,
    Concurrency,
    Period,
    RateLimit,
    RedisState,
    Reservation,
    Scope,
    StateUnavailable,
)
from switchgear.state.redis_scripts import Script
from tests.fakes.gateway import closed_port
from tests.fakes.state import new_prefix, redis_state

KEY = Scope("key", "k1")
DAY = Period.parse("1d")


def ask(id_: str, ttl: float = 30.0, **limits: object) -> Admission:
    return Admission(id_, 100, 10, ttl, **limits)  # type: ignore[arg-type]


async def test_every_counter_key_carries_its_period_and_expires(redis_url: str) -> None:
    async with redis_state(redis_url) as state:
        limits = {
            "budgets": (Budget(KEY, 1000, DAY), Budget(Scope("org", "o"), 1000)),
            "rates": (RateLimit(KEY, "tokens", 100),),
            "concurrency": (Concurrency(KEY, 3),),
        }
        reservation = await state.admit(ask("a", **limits))
        assert isinstance(reservation, Reservation)
        day_id, day_end = DAY.at(reservation.at_us // 1_000_000)
        day_key = f"{state.prefix}b:key:k1:{day_id}"
        assert await state.client.hgetall(day_key) == {"r": "100"}
        expires_ms = await state.client.pexpiretime(day_key)
        assert expires_ms == (day_end + 86_400) * 1000  # the period's end plus a day for late settles
        assert await state.client.pttl(f"{state.prefix}b:org:o:all") == -1  # no period: no reset
        for key in ("rl:tokens:60:key:k1", "rl:tokens:60:key:k1:a", "c:key:k1", "r:a"):
            assert await state.client.pttl(state.prefix + key) > 0, key


async def test_a_script_missing_from_the_server_is_loaded_again(redis_url: str) -> None:
    async with redis_state(redis_url) as state:
        script = Script("read")
        script.source += f"\n-- a variant the server has not seen: {uuid.uuid4()}"
        script.sha = hashlib.sha1(script.source.encode()).hexdigest()
        assert await state.client.script_exists(script.sha) == [False]
        reply = await script(state.client, [state.prefix + "c:x"], ["leases"])
        assert reply == [0]
        assert await state.client.script_exists(script.sha) == [True]


async def test_time_comes_from_the_server(redis_url: str) -> None:
    async with redis_state(redis_url) as state:
        seconds, micros = await state.client.time()
        reservation = await state.admit(ask("a"))
        assert isinstance(reservation, Reservation)
        assert 0 <= reservation.at_us - (seconds * 1_000_000 + micros) < 1_000_000


async def test_an_unreachable_server_fails_closed() -> None:
    state = RedisState.from_url(f"redis://127.0.0.1:{closed_port()}/0", prefix=new_prefix(), timeout_s=0.5)
    with pytest.raises(StateUnavailable) as caught:
        await state.admit(
            ask(
                "a", budgets=(Budget(KEY, 1000, DAY, fail_open=True),), rates=(RateLimit(KEY, "requests", 5),)
            )
        )
    assert caught.value.status == 503 and ("retry-after", "1") in caught.value.headers
    with pytest.raises(StateUnavailable):
        await state.settle("a", 1, 1)
    assert state.stats.unavailable == 2
    await state.close()


async def test_limits_configured_fail_open_admit_while_the_server_is_unreachable() -> None:
    state = RedisState.from_url(f"redis://127.0.0.1:{closed_port()}/0", prefix=new_prefix(), timeout_s=0.5)
    limits = (Budget(KEY, 1000, DAY, fail_open=True),)
    reservation = await state.admit(
        ask("a", budgets=limits, rates=(RateLimit(KEY, "requests", 5, fail_open=True),))
    )
    assert isinstance(reservation, Reservation) and reservation.degraded
    assert state.stats.fail_open_admits == 1
    await state.close()


async def test_a_server_that_never_answers_counts_as_unreachable() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)  # takes the command, never answers
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state = RedisState.from_url(f"redis://127.0.0.1:{port}/0", prefix=new_prefix(), timeout_s=0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StateUnavailable):
        await state.admit(ask("a", budgets=(Budget(KEY, 1000, DAY),)))
    assert loop.time() - started < 0.5
    await state.close()
    server.close()


async def test_each_expired_reservation_is_reaped_once_across_processes(redis_url: str) -> None:
    prefix = new_prefix()
    async with redis_state(redis_url, prefix) as one, redis_state(redis_url, prefix) as two:
        for i in range(40):
            await one.admit(ask(f"r{i}", ttl=0.05, budgets=(Budget(KEY, 10_000, DAY),)))
        await asyncio.sleep(0.08)
        counts = await asyncio.gather(one.reap(), two.reap(), one.reap(), two.reap())
        assert sum(counts) == 40
        assert (await one.spent(KEY, DAY)).reserved_microusd == 0
        assert await one.client.hget(prefix + "stats", "reaped") == "40"
