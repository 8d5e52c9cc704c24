"""The Redis backend: budgets, rate limits and leases shared by every process and machine.

Each operation is one Lua script (``lua/``), so it is atomic on the server: an admission checks
every budget scope, rate limit and concurrency limit and reserves in all of them or in none, in one
round trip. Time comes from the server (``TIME``), never from a replica's clock; money moves with
``HINCRBY`` in integer micro-USD; every budget counter's key carries its period id. Keys (all under
``prefix``)::

    b:<scope>:<period>           hash  s (spent), r (reserved), soft (crossing reported)
    rl:<unit>:<window>:<scope>   zset  reservation id -> admission time (the sliding log)
    rl:tokens:<window>:<scope>:a hash  reservation id -> tokens, " sum" -> their total
    c:<scope>                    zset  reservation id -> lease expiry
    r:<id>                       hash  the reservation record; rx: zset id -> expiry (the reaper's)

The scripts build the period's key on the server, so they need a single Redis (or a primary with
replicas), not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError, ResponseError

from switchgear.state.periods import Period, period_at
from switchgear.state.protocol import StateUnavailable
from switchgear.state.redis_batch import ScriptBatcher
from switchgear.state.redis_scripts import Scripts
from switchgear.state.types import (
    Admission,
    Budget,
    Concurrency,
    LimitStatus,
    RateLimit,
    Refusal,
    RefusalKind,
    Reservation,
    Scope,
    Settlement,
    SoftCrossing,
    Spend,
    StateStats,
)

_REAP_BATCH = 500
_POOL_SIZE = 64  # connections per process; one script per admission keeps each busy briefly
_UNREACHABLE = (RedisError, OSError, asyncio.TimeoutError)


class RedisState:
    """See ``protocol.StateBackend``. ``timeout_s`` bounds every operation (then: ``StateUnavailable``)."""

    def __init__(
        self, client: Redis, *, prefix: str = "sg:", timeout_s: float = 1.0, owner: str | None = None
    ) -> None:
        self.stats = StateStats()
        self.client = client
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self._scripts = Scripts()
        self._batcher = ScriptBatcher(client, timeout_s)  # admissions and settles: pipelined per loop turn
        self._index = prefix + "rx"
        self._stats_key = prefix + "stats"

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "sg:", timeout_s: float = 1.0) -> RedisState:
        """``redis://[user:password@]host:port/db`` (``rediss://`` for TLS, ``unix://`` for a socket);
        query parameters of the URL (``?max_connections=128``) override the defaults."""
        pool = BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            max_connections=_POOL_SIZE,  # more concurrent calls wait for a connection (in timeout_s)
            timeout=timeout_s,
        )
        return cls(Redis.from_pool(pool), prefix=prefix, timeout_s=timeout_s)

    async def start(self) -> None:
        await self._call(self._scripts.load(self.client))

    async def close(self) -> None:
        await self._batcher.close()
        await self.client.aclose()

    async def _call(self, operation: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await operation
        except ResponseError as exc:
            if "reservation id in use" in str(exc):
                raise ValueError(str(exc)) from exc
            raise
        except _UNREACHABLE as exc:
            self.stats.unavailable += 1
            raise StateUnavailable(
                "the rate-limit and budget store is unreachable", headers=[("retry-after", "1")]
            ) from exc

    # keys ----------------------------------------------------------------------------------
    def _budget_key(self, scope: Scope) -> str:
        return f"{self.prefix}b:{scope.name}"

    def _rate_key(self, limit: RateLimit) -> str:
        return f"{self.prefix}rl:{limit.unit}:{limit.window_s}:{limit.scope.name}"

    def _lease_key(self, limit: Concurrency) -> str:
        return f"{self.prefix}c:{limit.scope.name}"

    # admit ---------------------------------------------------------------------------------
    async def admit(self, request: Admission) -> Reservation | Refusal:
        keys = [self.prefix + "r:" + request.id, self._index, self._stats_key]
        keys += [self._budget_key(b.scope) for b in request.budgets]
        keys += [self._rate_key(r) for r in request.rates]
        keys += [self._lease_key(c) for c in request.concurrency]
        args: list[str | int] = [request.id, request.cost_microusd, request.tokens]
        args += [max(1, int(request.ttl_s * 1_000_000)), self.owner]
        args += [len(request.budgets), len(request.rates), len(request.concurrency)]
        for budget in request.budgets:
            soft = "" if budget.soft_microusd is None else budget.soft_microusd
            args += [budget.max_microusd, soft, "" if budget.period is None else budget.period.code]
        for rate in request.rates:
            args += ["r" if rate.unit == "requests" else "t", rate.limit, rate.window_us]
        args += [c.limit for c in request.concurrency]
        try:
            reply = await self._call(self._batcher.call(self._scripts.admit, keys, args))
        except StateUnavailable:
            if not _all_fail_open(request):
                raise
            self.stats.fail_open_admits += 1
            return Reservation(request.id, 0, 0, request.cost_microusd, request.tokens, degraded=True)
        return _decode_admission(request, reply)

    # settle, release, reap -----------------------------------------------------------------
    async def settle(self, reservation_id: str, actual_microusd: int, actual_tokens: int) -> Settlement:
        cost, tokens = max(0, actual_microusd), max(0, actual_tokens)
        if isinstance(cost, bool) or not isinstance(cost, int) or not isinstance(tokens, int):
            raise TypeError("settle takes integer micro-USD and integer tokens")
        keys = [self.prefix + "r:" + reservation_id, self._index]
        reply = await self._call(
            self._batcher.call(self._scripts.settle, keys, [reservation_id, cost, tokens])
        )
        crossings = []
        for i in range(1, len(reply), 4):
            key, period_id, soft, spent = reply[i : i + 4]
            name = key[len(self.prefix) + 2 : -(len(period_id) + 1)]
            crossings.append(SoftCrossing(_scope(name), period_id, int(soft), int(spent)))
        return Settlement(reply[0], tuple(crossings))

    async def release(self, reservation_id: str) -> Settlement:
        return await self.settle(reservation_id, 0, 0)

    async def reap(self) -> int:
        total = 0
        for _ in range(100):  # bounded: 50,000 reservations per call at most
            args: list[str | int] = [self.prefix + "r:", _REAP_BATCH]
            reaped, _leases, more = await self._call(
                self._scripts.reap(self.client, [self._index, self._stats_key], args)
            )
            total += reaped
            if not more:
                break
        self.stats.reaped_reservations += total
        return total

    # reads ---------------------------------------------------------------------------------
    async def spent(self, scope: Scope, period: Period | None = None, at_us: int | None = None) -> Spend:
        code = "" if period is None else period.code
        args: list[str | int] = ["budget", code, "" if at_us is None else at_us // 1_000_000]
        period_id, end_s, spent, reserved = await self._call(
            self._scripts.read(self.client, [self._budget_key(scope)], args)
        )
        resets = None if end_s < 0 else end_s * 1_000_000
        return Spend(scope, str(period_id), spent, reserved, resets)

    async def seed(self, budget: Budget, spent_microusd: int, at_us: int | None = None) -> int:
        when = time.time_ns() // 1000 if at_us is None else at_us
        period_id, end_s = period_at(budget.period, when // 1_000_000)
        soft = "" if budget.soft_microusd is None else budget.soft_microusd
        args: list[str | int] = [max(0, spent_microusd), -1 if end_s is None else end_s, soft]
        key = f"{self._budget_key(budget.scope)}:{period_id}"
        return int(await self._call(self._scripts.seed(self.client, [key], args)))

    async def rate(self, limit: RateLimit) -> LimitStatus:
        unit = "r" if limit.unit == "requests" else "t"
        args: list[str | int] = ["rate", unit, limit.limit, limit.window_us]
        used, remaining, reset_us = await self._call(
            self._scripts.read(self.client, [self._rate_key(limit)], args)
        )
        return LimitStatus(limit, used, remaining, reset_us / 1_000_000)

    async def in_flight(self, limit: Concurrency) -> int:
        reply = await self._call(self._scripts.read(self.client, [self._lease_key(limit)], ["leases"]))
        return int(reply[0])


def _all_fail_open(request: Admission) -> bool:
    limits: list[Budget | RateLimit | Concurrency] = [*request.budgets, *request.rates, *request.concurrency]
    return all(limit.fail_open for limit in limits)


def _scope(name: str) -> Scope:
    kind, _, id_ = name.partition(":")
    return Scope(kind, id_)  # type: ignore[arg-type]  # written by this backend from a Scope


def _statuses(request: Admission, flat: list[int]) -> tuple[LimitStatus, ...]:
    return tuple(
        LimitStatus(rate, flat[3 * i], flat[3 * i + 1], flat[3 * i + 2] / 1_000_000)
        for i, rate in enumerate(request.rates)
    )


def _decode_admission(request: Admission, reply: list[Any]) -> Reservation | Refusal:
    if reply[0] == 1:
        _, at_us, expires_us, *flat = reply
        statuses = _statuses(request, flat)
        return Reservation(request.id, at_us, expires_us, request.cost_microusd, request.tokens, statuses)
    _, kind, index, used, requested, retry_us, resets_s, *flat = reply
    kind_: RefusalKind = kind
    limit: Any = {
        "budget": request.budgets,
        "requests": request.rates,
        "tokens": request.rates,
        "concurrency": request.concurrency,
    }[kind_][index - 1]
    configured = limit.max_microusd if kind_ == "budget" else limit.limit
    retry = None if retry_us < 0 else retry_us / 1_000_000
    resets = None if resets_s < 0 else resets_s * 1_000_000
    return Refusal(
        kind_, limit.scope, configured, used, requested, retry, resets, limits=_statuses(request, flat)
    )
