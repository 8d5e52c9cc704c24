"""Faults under governance, BAD-INPUTS rows B5, B6 and B7, on real stores over real sockets.

B5: Redis taken away for real (the gateway reaches it through a loopback relay that is switched to
hang, then to refuse) while requests are in flight, then given back. B6: PostgreSQL taken away the
same way for a while; and a `switchgear serve` replica SIGKILLed mid-request, its reservation
returned by another replica's reaper. B7: a budget period rolling over with reservations in
flight, at the state-backend level (the memory backend on a stepped clock with the real `1h`
period; Redis on its own clock with a 2 s period, three backend instances), and end to end through
a gateway whose memory backend's clock is stepped across an hour boundary mid-request.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
import pytest
from redis import Redis

from switchgear.keys.ledger import SpendLedger, stored_period
from switchgear.simulator.server import SimulatorThread
from switchgear.state import Admission, Budget, MemoryState, Period, Reservation, Scope
from switchgear.state.redis_backend import RedisState
from switchgear.storage import Database, Limits
from switchgear.storage.budgets import get_counter
from switchgear.storage.migrate import upgrade
from tests.conftest import base_config
from tests.fakes.governance import ANSWER_MICROUSD, MASTER_KEY, GovernedGateway, Stores, make_key
from tests.fakes.governed_load import body, db_spent, exact_model, spend_rows, wait_rows, worst_case_microusd
from tests.fakes.postgres import PostgresServer
from tests.fakes.redis_server import RedisServer
from tests.fakes.served import ServedGateway
from tests.fakes.tcp_relay import TcpRelay

HI = [{"role": "user", "content": "hi"}]
USD = 1_000_000
DAY = Period.parse("1d")
HOUR = Period.parse("1h")
TTL_S = 3.0  # governance.reservation_ttl in these tests
# the killed-replica test: long enough that a loaded machine still asks the survivor before it expires
KILL_TTL_S = 8.0
REAPER_S = 5.0  # the reaper's interval (state/reaper.py)
BACKEND_TIMEOUT_S = 1.0  # the Redis backend's bound on every operation


# helpers ------------------------------------------------------------------------------------


def relayed(url: str, relay: TcpRelay) -> str:
    """``url`` with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{relay.port}" if userinfo else f"127.0.0.1:{relay.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def relay_to(url: str) -> TcpRelay:
    parts = urlsplit(url)
    relay = TcpRelay(parts.hostname or "127.0.0.1", parts.port or 0)
    relay.up()
    return relay


def post_chat(url: str, key: str, model: str = "metered", timeout: float = 30.0) -> tuple[int, Any, float]:
    """(status, decoded body, seconds) of one chat request, over a plain HTTP client."""
    started = time.monotonic()
    answer = httpx.post(
        url + "/v1/chat/completions",
        json={"model": model, "messages": HI, "max_tokens": 100},
        headers={"authorization": f"Bearer {key}"},
        timeout=timeout,
    )
    return answer.status_code, (answer.json(), answer.headers), time.monotonic() - started


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def redis_budget(redis_url: str, budget: Budget, at_us: int | None = None) -> tuple[int, int]:
    """(spent, reserved) of a budget in Redis, read directly (not through any relay)."""

    async def read() -> tuple[int, int]:
        state = RedisState.from_url(redis_url)
        await state.start()
        try:
            found = await state.spent(budget.scope, budget.period, at_us)
        finally:
            await state.close()
        return found.spent_microusd, found.reserved_microusd

    return asyncio.run(read())


def redis_counters_of(redis_url: str, scope: Scope) -> dict[str, Any]:
    """Every Redis value kept for ``scope``: budget counters (per period), lease sets, rate logs."""
    found: dict[str, Any] = {}
    with Redis.from_url(redis_url, decode_responses=True) as client:
        for name in client.scan_iter(f"sg:*{scope.name}*"):
            kind = client.type(name)
            if kind == "hash":
                found[name] = client.hgetall(name)
            elif kind == "zset":
                found[name] = client.zcard(name)
    return found


def assert_nothing_negative(redis_url: str, scope: Scope) -> None:
    for name, value in redis_counters_of(redis_url, scope).items():
        if isinstance(value, dict):
            for field, amount in value.items():
                assert int(amount) >= 0, (name, field, amount)


def error_of(answer: Any) -> dict[str, Any]:
    decoded, _headers = answer
    assert set(decoded) == {"error"}, decoded
    error: dict[str, Any] = decoded["error"]
    assert {"message", "type", "code"} <= set(error), error
    return error


# B5: Redis unreachable during admission, then back -------------------------------------------


@pytest.fixture
def redis_relay(redis_server: RedisServer) -> Iterator[tuple[str, str, TcpRelay]]:
    """(direct Redis URL, the same Redis through a relay, the relay)."""
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    relay = relay_to(redis_server.url)
    yield redis_server.url, relayed(redis_server.url, relay), relay
    relay.close()


def outage_gateway(
    sim: SimulatorThread, tmp_path: Path, redis_url: str, **governance: Any
) -> GovernedGateway:
    stores = Stores(f"sqlite:///{tmp_path}/faults.db", redis_url)
    return GovernedGateway(sim, stores, reservation_ttl=TTL_S, **governance)


def limited_key(database_url: str) -> tuple[str, str]:
    limits = Limits(
        max_budget_microusd=10 * USD, budget_duration="1d", rpm_limit=1000, max_parallel_requests=20
    )
    return make_key(database_url, limits)


def in_flight_then_outage(
    gw: GovernedGateway, direct: str, relay: TcpRelay, key: str, key_id: str, pool: ThreadPoolExecutor
) -> list[Future[tuple[int, Any, float]]]:
    """Three slow requests admitted (their leases seen in Redis), then Redis made to hang."""
    slow = [pool.submit(post_chat, gw.url, key, "metered-slow") for _ in range(3)]
    with Redis.from_url(direct) as client:
        until(lambda: client.zcard(f"sg:c:key:{key_id}") == 3, 10, "three requests in flight")
    relay.hang()
    return slow


def test_b5_redis_down_fails_closed_fast_and_counters_are_right_after_it_returns(
    sim: SimulatorThread, tmp_path: Path, redis_relay: tuple[str, str, TcpRelay]
) -> None:
    direct, through_relay, relay = redis_relay
    gw = outage_gateway(sim, tmp_path, through_relay)
    key, key_id = limited_key(gw_db(tmp_path))
    free_key, _ = make_key(gw_db(tmp_path))  # no limits: never touches Redis
    gw.start()
    budget = Budget(Scope("key", key_id), 10 * USD, DAY)
    try:
        assert post_chat(gw.url, key)[0] == 200
        with ThreadPoolExecutor(4) as pool:
            slow = in_flight_then_outage(gw, direct, relay, key, key_id, pool)
            refusals = []
            for mode in ("hang", "down"):
                if mode == "down":
                    relay.down()
                for _ in range(3):
                    status, answer, seconds = post_chat(gw.url, key)
                    assert status == 503, answer
                    assert seconds < BACKEND_TIMEOUT_S + 1.0, (mode, seconds)  # bounded, not a hang
                    refusals.append(answer)
                    free = post_chat(gw.url, free_key)
                    assert free[0] == 200 and free[2] < 1.0, free
            assert [f.result()[0] for f in slow] == [200, 200, 200]  # ended while Redis was away
            until(lambda: gw.governance.unsettled.pending, 5, "their settles kept, not lost")
        relay.up()
        for answer in refusals:
            error = error_of(answer)
            assert (error["type"], error["code"]) == ("service_unavailable", "state_unavailable")
            assert answer[1]["retry-after"] == "1"
            assert key not in orjson.dumps(answer[0]).decode()
        until(lambda: post_chat(gw.url, key)[0] == 200, 5, "admission after Redis returned")
        after = 1 + sum(post_chat(gw.url, key)[0] == 200 for _ in range(3))
        expected = (1 + 3 + after) * ANSWER_MICROUSD
        found = until(
            lambda: (got := redis_budget(direct, budget)) == (expected, 0) and got,
            TTL_S + REAPER_S + 2,
            f"spent {expected}, nothing reserved",
        )
        assert found == (expected, 0)
        # a settle whose reply the outage cut may have run on Redis already: its retry (every second)
        # finds it settled and changes nothing; wait for the queue to empty
        assert until(lambda: not gw.governance.unsettled.pending, 5, "kept settles retried")
        assert gw.governance.unsettled.retried == 3
        with Redis.from_url(direct) as client:
            assert client.zcard(f"sg:c:key:{key_id}") == 0  # every lease returned
        assert_nothing_negative(direct, budget.scope)
        assert gw.governance.state.stats.unavailable >= 6
        period = stored_period(budget, int(time.time()))
        assert until(
            lambda: db_spent(gw_db(tmp_path), "key", key_id, period) == expected, 5, "the durable counter"
        )
    finally:
        relay.up()
        gw.stop()


def test_b5_redis_down_with_fail_open_admits_degraded_and_counts_them(
    sim: SimulatorThread, tmp_path: Path, redis_relay: tuple[str, str, TcpRelay]
) -> None:
    direct, through_relay, relay = redis_relay
    gw = outage_gateway(sim, tmp_path, through_relay, fail_open=True)
    key, key_id = limited_key(gw_db(tmp_path))
    gw.start()
    budget = Budget(Scope("key", key_id), 10 * USD, DAY)
    try:
        assert post_chat(gw.url, key)[0] == 200
        with ThreadPoolExecutor(4) as pool:
            slow = in_flight_then_outage(gw, direct, relay, key, key_id, pool)
            for mode in ("hang", "down"):
                if mode == "down":
                    relay.down()
                for _ in range(2):
                    status, answer, seconds = post_chat(gw.url, key)
                    assert status == 200, answer
                    assert seconds < BACKEND_TIMEOUT_S + 1.5, (mode, seconds)
            assert [f.result()[0] for f in slow] == [200, 200, 200]
        assert gw.governance.state.stats.fail_open_admits == 4
        relay.up()
        until(lambda: post_chat(gw.url, key)[0] == 200, 5, "admission after Redis returned")
        assert gw.governance.state.stats.fail_open_admits == 4  # the one after it was counted
        counted = (1 + 3 + 1) * ANSWER_MICROUSD  # admitted with Redis up
        everything = counted + 4 * ANSWER_MICROUSD  # and the 4 admitted degraded
        period = stored_period(budget, int(time.time()))
        assert until(
            lambda: db_spent(gw_db(tmp_path), "key", key_id, period) == everything, 5, "the durable counter"
        )
        # degraded admissions held nothing in Redis; their spend reaches it from the durable counters
        found = until(
            lambda: (got := redis_budget(direct, budget)) == (everything, 0) and got,
            TTL_S + REAPER_S + 6,
            f"spent {everything} in Redis too, nothing reserved",
        )
        assert found == (everything, 0)
        assert_nothing_negative(direct, budget.scope)
    finally:
        relay.up()
        gw.stop()


def gw_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/faults.db"


# B6: PostgreSQL down for a while -------------------------------------------------------------


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"sg_faults_{time.monotonic_ns()}"
    url = asyncio.run(postgres_server.create_database(name))
    yield url
    asyncio.run(postgres_server.drop_database(name))


def spend_log_stats(gw: GovernedGateway) -> Any:
    stage = next(s for s in gw.thread.app.runtime.engine.chain.stages if s.name == "spend_log")
    return stage.stats()


def test_b6_postgres_down_keys_still_work_and_spend_is_written_once_when_it_returns(
    sim: SimulatorThread, postgres_db: str
) -> None:
    key, key_id = make_key(postgres_db, Limits(max_budget_microusd=10 * USD, budget_duration="1d"))
    relay = relay_to(postgres_db)
    spend_log = {"flush_interval": 0.2, "buffer": 1000}
    gw = GovernedGateway(
        sim, Stores(relayed(postgres_db, relay), None), refresh_interval=0.5, spend_log=spend_log
    )
    gw.start()
    budget = Budget(Scope("key", key_id), 10 * USD, DAY)
    try:
        for _ in range(2):
            assert post_chat(gw.url, key)[0] == 200
        until(lambda: len(spend_rows(postgres_db, key_id=key_id)) == 2, 5, "two rows before the outage")
        failures_before = gw.governance.directory.refresh_failures
        during = 0
        for mode in ("down", "hang", "down"):
            getattr(relay, mode)()
            for _ in range(4):
                status, answer, seconds = post_chat(gw.url, key)
                assert status == 200 and seconds < 2.0, (mode, status, answer, seconds)
                during += 1
            time.sleep(1.2)  # refreshes and spend-log writes fail meanwhile
        assert gw.governance.directory.refresh_failures > failures_before  # served from memory
        stats = spend_log_stats(gw)
        assert stats.failing and stats.buffered == during and stats.dropped == 0, stats
        until(lambda: gw.governance.ledger.failures >= 1 and gw.governance.ledger.pending, 3, "held spend")
        assert len(spend_rows(postgres_db, key_id=key_id)) == 2  # nothing got through
        relay.up()
        total = 2 + during
        rows = wait_rows(postgres_db, total, timeout=45, key_id=key_id)
        assert len(rows) == total and len({r.request_id for r in rows}) == total
        time.sleep(1.5)  # a retried batch would show up now
        assert len(spend_rows(postgres_db, key_id=key_id)) == total
        period = stored_period(budget, int(time.time()))
        assert until(
            lambda: db_spent(postgres_db, "key", key_id, period) == total * ANSWER_MICROUSD,
            15,
            "the durable budget counter",
        )
        assert spend_log_stats(gw).buffered == 0 and not gw.governance.ledger.pending
        assert post_chat(gw.url, key)[0] == 200
    finally:
        relay.up()
        gw.stop()
        relay.close()


# B6: a replica killed mid-request --------------------------------------------------------------

KILL = body("kill-slow")
KILL_WORST = worst_case_microusd(KILL, 1 * USD, 2 * USD)


def post_raw(url: str, key: str, raw: bytes, timeout: float = 30.0) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        content=raw,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        timeout=timeout,
    )


def test_b6_a_replica_killed_mid_request_has_its_reservation_reaped_by_another(
    sim: SimulatorThread, postgres_db: str, redis_server: RedisServer
) -> None:
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    redis_url = redis_server.url
    limits = Limits(max_budget_microusd=100 * KILL_WORST, budget_duration="1d", max_parallel_requests=1)
    key, key_id = make_key(postgres_db, limits)
    config = base_config(sim, master_key=MASTER_KEY)
    config["models"] = [
        *config["models"],
        exact_model("kill-slow", KILL, latency_ms=15000),
        exact_model("kill-fast", KILL),
    ]
    config["storage"] = {"database_url": postgres_db, "redis_url": redis_url}
    config["governance"] = {"reservation_ttl": KILL_TTL_S}
    victim, survivor = ServedGateway(config), ServedGateway(config)
    budget = Budget(Scope("key", key_id), 100 * KILL_WORST, DAY)
    reaped_before = int(Redis.from_url(redis_url).hget("sg:stats", "reaped") or 0)
    try:
        victim.start(60)
        survivor.start(60)
        cut: list[BaseException] = []

        def doomed() -> None:
            try:
                post_raw(victim.url, key, KILL)
            except httpx.HTTPError as exc:
                cut.append(exc)

        client = threading.Thread(target=doomed)
        client.start()
        until(lambda: redis_budget(redis_url, budget) == (0, KILL_WORST), 10, "the victim's reservation")
        victim.signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert victim.wait(10) == -signal.SIGKILL
        client.join(10)
        assert cut, "the client of the killed replica got an answer"
        held = post_raw(survivor.url, key, body("kill-fast"))  # the dead worker's lease still counts
        assert time.monotonic() - killed_at < KILL_TTL_S
        assert held.status_code == 429, held.text
        assert held.json()["error"]["code"] == "too_many_parallel_requests"
        assert redis_budget(redis_url, budget) == (0, KILL_WORST)
        until(
            lambda: redis_budget(redis_url, budget) == (0, 0),
            KILL_TTL_S + 2 * REAPER_S + 5,
            "the survivor's reaper to return the reservation",
        )
        with Redis.from_url(redis_url) as r:
            assert int(r.hget("sg:stats", "reaped") or 0) > reaped_before
        for _ in range(3):
            answer = post_raw(survivor.url, key, KILL.replace(b"kill-slow", b"kill-fast"))
            assert answer.status_code == 200, answer.text
        fast_worst = worst_case_microusd(KILL.replace(b"kill-slow", b"kill-fast"), 1 * USD, 2 * USD)
        expected = 3 * fast_worst  # the answers report exactly their worst case
        until(lambda: redis_budget(redis_url, budget) == (expected, 0), 5, "three settled, none twice")
        assert_nothing_negative(redis_url, budget.scope)
        period = stored_period(budget, int(time.time()))
        assert until(
            lambda: db_spent(postgres_db, "key", key_id, period) == expected, 5, "the durable counter"
        )
        rows = wait_rows(postgres_db, 4, key_id=key_id)
        assert sorted(r.status for r in rows) == [200, 200, 200, 429]  # none for the killed request
    finally:
        victim.stop()
        survivor.stop()


# B7: period rollover with reservations in flight ----------------------------------------------


class SteppedClock:
    """A clock for the memory backend, in microseconds; the test moves it."""

    def __init__(self, now_us: int) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us


def admission(id_: str, cost: int, budget: Budget) -> Admission:
    return Admission(id_, cost, 100, TTL_S, (budget,))


def next_hour_s() -> int:
    return (int(time.time()) // 3600 + 1) * 3600


async def test_b7_memory_backend_rollover_with_reservations_in_flight() -> None:
    boundary = next_hour_s()
    clock = SteppedClock((boundary - 1) * 1_000_000)
    state = MemoryState(clock)
    budget = Budget(Scope("key", "k-rollover"), 200, HOUR)
    before, after = (boundary - 1) * 1_000_000, (boundary + 1) * 1_000_000
    p1 = [await state.admit(admission(f"p1-{i}", 100, budget)) for i in range(3)]
    assert [type(r) is Reservation for r in p1] == [True, True, False]  # P full
    clock.now_us = after
    p2 = [await state.admit(admission(f"p2-{i}", 100, budget)) for i in range(3)]
    assert [type(r) is Reservation for r in p2] == [True, True, False]  # reset once: P+1's own 200
    assert (await state.settle("p1-0", 60, 10)).outcome == "settled"  # settled in P+1, lands in P
    assert (await state.release("p1-1")).outcome == "settled"
    first = await state.spent(budget.scope, HOUR, before)
    second = await state.spent(budget.scope, HOUR, after)
    hour = boundary // 3600
    assert (first.period_id, first.spent_microusd, first.reserved_microusd) == (str(hour - 1), 60, 0)
    assert (second.period_id, second.spent_microusd, second.reserved_microusd) == (str(hour), 0, 200)
    refused = await state.admit(admission("p2-x", 1, budget))
    assert type(refused) is not Reservation  # settling in P freed nothing in P+1
    clock.now_us = after + int(TTL_S * 1_000_000) + 1  # p2's reservations expire in P+1: reaped there
    assert await state.reap() == 2
    assert (await state.settle("p2-0", 50, 10)).outcome == "late"  # recorded once, not released twice
    second = await state.spent(budget.scope, HOUR, after)
    assert (second.spent_microusd, second.reserved_microusd) == (50, 0)
    first = await state.spent(budget.scope, HOUR, before)
    assert (first.spent_microusd, first.reserved_microusd) == (60, 0)


async def test_b7_ledger_writes_settled_spend_to_the_period_of_its_admission(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path}/ledger.db")
    try:
        await upgrade(db)
        ledger = SpendLedger(db)
        budget = Budget(Scope("key", "k-ledger"), 10 * USD, HOUR)
        boundary = next_hour_s()
        ledger.add(budget, boundary - 1, 70)  # admitted in P, settled after the boundary
        ledger.add(budget, boundary, 30)
        assert await ledger.flush()
        earlier = await get_counter(db, "key", "k-ledger", str(boundary // 3600 - 1))
        later = await get_counter(db, "key", "k-ledger", str(boundary // 3600))
        assert earlier is not None and later is not None
        assert (earlier.spent_microusd, later.spent_microusd) == (70, 30)
    finally:
        await db.close()


async def redis_seconds(client: RedisState) -> float:
    seconds, micros = await client.client.time()
    return float(seconds) + micros / 1_000_000


async def test_b7_redis_rollover_on_three_backends_resets_once_and_settles_in_the_right_period(
    redis_server: RedisServer,
) -> None:
    if redis_server.url is None:
        pytest.skip(redis_server.reason)
    period = Period("fixed", 2)  # the scripts' period arithmetic is the same for 3600 s
    states = [RedisState.from_url(redis_server.url) for _ in range(3)]
    for state in states:
        await state.start()
    try:
        scope_id = f"k-roll-{time.monotonic_ns()}"
        budget = Budget(Scope("key", scope_id), 200, period)
        while (await redis_seconds(states[0])) % 2 < 1.0 or (await redis_seconds(states[0])) % 2 > 1.3:
            await asyncio.sleep(0.02)  # in the second half of a period, with time to spare

        async def round_of(tag: str) -> list[Reservation]:
            found = await asyncio.gather(
                *(states[i % 3].admit(admission(f"{scope_id}-{tag}-{i}", 100, budget)) for i in range(6))
            )
            return [r for r in found if type(r) is Reservation]

        first = await round_of("a")
        assert len(first) == 2  # exactly the budget, across three backends
        first_at = first[0].at_us
        now = await redis_seconds(states[0])
        await asyncio.sleep(2 - now % 2 + 0.1)  # into the next period
        second = await round_of("b")
        assert len(second) == 2  # reset exactly once: the new period's own budget, no more
        second_at = second[0].at_us
        assert second_at // 2_000_000 == first_at // 2_000_000 + 1
        for i, held in enumerate(first):  # settled in the new period, by different backends
            assert (await states[(i + 1) % 3].settle(held.id, 40, 10)).outcome == "settled"
        old = await states[2].spent(budget.scope, period, first_at)
        new = await states[2].spent(budget.scope, period, second_at)
        assert (old.spent_microusd, old.reserved_microusd) == (80, 0)
        assert (new.spent_microusd, new.reserved_microusd) == (0, 200)
        assert old.period_id == str(first_at // 2_000_000)  # the Lua and Python period ids agree
        for held in second:
            assert (await states[0].settle(held.id, 100, 10)).outcome == "settled"
        new = await states[1].spent(budget.scope, period, second_at)
        assert (new.spent_microusd, new.reserved_microusd) == (200, 0)
    finally:
        for state in states:
            await state.close()


def test_b7_end_to_end_a_request_admitted_before_the_hour_settles_in_that_hour(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    """A gateway on the memory backend with the real `1h` period, whose backend clock is stepped
    past the hour while a request is in flight (the only thing not real here is that clock)."""
    database = f"sqlite:///{tmp_path}/rollover.db"
    key, key_id = make_key(database, Limits(max_budget_microusd=10 * USD, budget_duration="1h"))
    gw = GovernedGateway(sim, Stores(database, None)).start()
    try:
        state = gw.governance.state
        assert isinstance(state, MemoryState)
        boundary = next_hour_s()
        clock = SteppedClock((boundary - 1) * 1_000_000)
        state._clock = clock  # the backend's clock parameter, set after construction
        budget = Budget(Scope("key", key_id), 10 * USD, HOUR)
        before, after = (boundary - 1) * 1_000_000, (boundary + 1) * 1_000_000
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(post_chat, gw.url, key, "metered-slow")
            until(
                lambda: gw.call(state.spent(budget.scope, HOUR, before)).reserved_microusd > 0, 5, "admission"
            )
            clock.now_us = after
            assert slow.result()[0] == 200
        assert post_chat(gw.url, key)[0] == 200  # admitted and settled in the new hour

        def both() -> tuple[tuple[int, int], tuple[int, int]]:
            old = gw.call(state.spent(budget.scope, HOUR, before))
            new = gw.call(state.spent(budget.scope, HOUR, after))
            return (old.spent_microusd, old.reserved_microusd), (new.spent_microusd, new.reserved_microusd)

        until(lambda: both() == ((ANSWER_MICROUSD, 0), (ANSWER_MICROUSD, 0)), 5, "one answer in each hour")
        for hour in (boundary // 3600 - 1, boundary // 3600):
            assert until(
                lambda h=hour: db_spent(database, "key", key_id, str(h)) == ANSWER_MICROUSD, 5, "ledger"
            )
    finally:
        gw.stop()
