"""The memory backend: budgets, rate limits and leases of one process.

Every operation runs as one synchronous block (there is no ``await`` inside it), so on one event
loop it is atomic: no other request can read or change a counter between a check and its
increment. It is exact for one process only; several workers each holding their own counters would
multiply every limit, which is why more than one worker needs the Redis backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from switchgear.state.memory_log import CountLog, SlidingLog
from switchgear.state.periods import Period, period_at
from switchgear.state.types import (
    Admission,
    Budget,
    Concurrency,
    LimitStatus,
    RateLimit,
    Refusal,
    Reservation,
    Scope,
    Settlement,
    SoftCrossing,
    Spend,
    StateStats,
)

KEEP_US = 86_400 * 1_000_000  # counters outlive their period (late settles), tombstones their expiry


def wall_clock_us() -> int:
    return time.time_ns() // 1000


@dataclass(slots=True)
class _Counter:
    spent: int = 0
    reserved: int = 0
    soft_reported: bool = False
    drop_after_us: int | None = None


@dataclass(slots=True)
class _Hold:
    """One admitted request: where its reservation sits, so settle and reap undo exactly that."""

    budgets: tuple[tuple[tuple[str, str], Scope, str, int | None], ...]  # counter key, scope, period, soft
    token_logs: tuple[CountLog | SlidingLog, ...]
    leases: tuple[dict[str, int], ...]
    cost: int
    expires_us: int
    reaped: bool = False


class MemoryState:
    """See ``protocol.StateBackend``. ``clock`` returns microseconds since the epoch (tests step it)."""

    def __init__(self, clock: Callable[[], int] = wall_clock_us) -> None:
        self.stats = StateStats()
        self._clock = clock
        self._last_us = 0
        self._counters: dict[tuple[str, str], _Counter] = {}
        self._logs: dict[tuple[str, int, str], CountLog | SlidingLog] = {}
        self._leases: dict[str, dict[str, int]] = {}
        self._holds: dict[str, _Hold] = {}
        self._tombstones: dict[str, tuple[_Hold, int]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _now(self) -> int:
        self._last_us = max(self._last_us, self._clock())  # never backwards: a log stays ordered
        return self._last_us

    async def admit(self, request: Admission) -> Reservation | Refusal:
        if request.id in self._holds or request.id in self._tombstones:
            raise ValueError(f"reservation id {request.id!r} is in use")
        now = self._now()
        cost = request.cost_microusd
        # Check everything first (nothing changes on a refusal), then reserve: no await in between.
        counters = []
        for budget in request.budgets:
            period_id, end_s = period_at(budget.period, now // 1_000_000)
            key = (budget.scope.name, period_id)
            counter = self._counters.get(key)
            used = counter.spent + counter.reserved if counter else 0
            if used + cost > budget.max_microusd:
                resets = end_s * 1_000_000 if end_s is not None else None
                return Refusal("budget", budget.scope, budget.max_microusd, used, cost, None, resets)
            counters.append((key, counter, budget, period_id, end_s))
        logs = [self._log(limit, now) for limit in request.rates]
        for limit, log in zip(request.rates, logs, strict=True):
            need = 1 if limit.unit == "requests" else request.tokens
            if log.total + need > limit.limit:
                wait = log.wait_us(now, limit.limit, need)
                retry = None if wait is None else wait / 1_000_000
                statuses = self._statuses(request.rates, logs, now)
                return Refusal(limit.unit, limit.scope, limit.limit, log.total, need, retry, limits=statuses)
        leases = [self._live_leases(limit, now) for limit in request.concurrency]
        for parallel, held in zip(request.concurrency, leases, strict=True):
            if len(held) + 1 > parallel.limit:
                return Refusal("concurrency", parallel.scope, parallel.limit, len(held), 1, 1.0)
        return self._reserve(request, now, counters, logs, leases)

    def _log(self, limit: RateLimit, now: int) -> CountLog | SlidingLog:
        key = (limit.unit, limit.window_s, limit.scope.name)
        log = self._logs.get(key)
        if log is None:
            kind = CountLog if limit.unit == "requests" else SlidingLog
            log = self._logs[key] = kind(limit.window_us)
        else:
            log.trim(now)
        return log

    @staticmethod
    def _statuses(
        limits: tuple[RateLimit, ...], logs: list[CountLog | SlidingLog], now: int
    ) -> tuple[LimitStatus, ...]:
        return tuple(
            LimitStatus(limit, log.total, max(0, limit.limit - log.total), log.reset_us(now) / 1_000_000)
            for limit, log in zip(limits, logs, strict=True)
        )

    def _live_leases(self, limit: Concurrency, now: int) -> dict[str, int]:
        leases = self._leases.get(limit.scope.name)
        if leases is None:
            leases = self._leases[limit.scope.name] = {}
        elif len(leases) >= limit.limit:  # only a full scope needs to look for expired leases
            expired = [id_ for id_, expires in leases.items() if expires <= now]
            for id_ in expired:
                del leases[id_]
            self.stats.expired_leases += len(expired)
        return leases

    def _reserve(
        self,
        request: Admission,
        now: int,
        counters: list[tuple[tuple[str, str], _Counter | None, Budget, str, int | None]],
        logs: list[CountLog | SlidingLog],
        leases: list[dict[str, int]],
    ) -> Reservation:
        id_, cost = request.id, request.cost_microusd
        expires = now + int(request.ttl_s * 1_000_000)
        budgets = []
        for key, found, budget, period_id, end_s in counters:
            counter = found if found is not None else self._counters.setdefault(key, _Counter())
            counter.reserved += cost
            if end_s is not None:
                keep = max(end_s * 1_000_000, expires) + KEEP_US
                if counter.drop_after_us is None or counter.drop_after_us < keep:
                    counter.drop_after_us = keep
            budgets.append((key, budget.scope, period_id, budget.soft_microusd))
        token_logs = []
        for limit, log in zip(request.rates, logs, strict=True):
            if limit.unit == "requests":
                log.add(now, id_, 1)
            else:
                log.add(now, id_, request.tokens)
                token_logs.append(log)
        for held in leases:
            held[id_] = expires
        self._holds[id_] = _Hold(tuple(budgets), tuple(token_logs), tuple(leases), cost, expires)
        statuses = self._statuses(request.rates, logs, now) if logs else ()
        return Reservation(id_, now, expires, cost, request.tokens, statuses)

    async def settle(self, reservation_id: str, actual_microusd: int, actual_tokens: int) -> Settlement:
        return self._settle(reservation_id, max(0, actual_microusd), max(0, actual_tokens))

    async def release(self, reservation_id: str) -> Settlement:
        return self._settle(reservation_id, 0, 0)

    def _settle(self, reservation_id: str, cost: int, tokens: int) -> Settlement:
        if isinstance(cost, bool) or not isinstance(cost, int) or not isinstance(tokens, int):
            raise TypeError("settle takes integer micro-USD and integer tokens")
        hold = self._holds.pop(reservation_id, None)
        late = False
        if hold is None:
            tomb = self._tombstones.pop(reservation_id, None)
            if tomb is None:
                return Settlement("unknown")
            hold, late = tomb[0], True
        else:
            self._give_back(reservation_id, hold)
        crossings = []
        for key, scope, period_id, soft in hold.budgets:
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = _Counter()
            counter.spent += cost
            if soft is not None and not counter.soft_reported and counter.spent >= soft:
                counter.soft_reported = True
                crossings.append(SoftCrossing(scope, period_id, soft, counter.spent))
        for log in hold.token_logs:
            log.settle(reservation_id, tokens)
        return Settlement("late" if late else "settled", tuple(crossings))

    def _give_back(self, reservation_id: str, hold: _Hold) -> None:
        """Release the reserved money and the leases (not the rate-limit entries: they happened)."""
        for key, _scope, _period, _soft in hold.budgets:
            self._counters[key].reserved -= hold.cost
        for leases in hold.leases:
            leases.pop(reservation_id, None)

    async def reap(self) -> int:
        now = self._now()
        expired = [id_ for id_, hold in self._holds.items() if hold.expires_us <= now]
        for id_ in expired:
            hold = self._holds.pop(id_)
            self._give_back(id_, hold)
            hold.reaped = True
            self._tombstones[id_] = (hold, now + KEEP_US)
        self.stats.reaped_reservations += len(expired)
        self._sweep(now)
        return len(expired)

    def _sweep(self, now: int) -> None:
        """Drop what nothing can reach any more: old tombstones, past periods, empty logs."""
        for id_ in [i for i, (_h, until) in self._tombstones.items() if until <= now]:
            del self._tombstones[id_]
        for key in [k for k, c in self._counters.items() if c.drop_after_us and c.drop_after_us <= now]:
            if not self._counters[key].reserved:
                del self._counters[key]
        for log_key, log in list(self._logs.items()):
            log.trim(now)
            log.forget_settled()
            if not log:
                del self._logs[log_key]
        for scope in [s for s, leases in self._leases.items() if not leases]:
            del self._leases[scope]

    async def spent(self, scope: Scope, period: Period | None = None, at_us: int | None = None) -> Spend:
        when = self._now() if at_us is None else at_us
        period_id, end_s = period_at(period, when // 1_000_000)
        counter = self._counters.get((scope.name, period_id)) or _Counter()
        resets = end_s * 1_000_000 if end_s is not None else None
        return Spend(scope, period_id, counter.spent, counter.reserved, resets)

    async def seed(self, budget: Budget, spent_microusd: int, at_us: int | None = None) -> int:
        when = self._now() if at_us is None else at_us
        period_id, end_s = period_at(budget.period, when // 1_000_000)
        counter = self._counters.setdefault((budget.scope.name, period_id), _Counter())
        counter.spent = max(counter.spent, spent_microusd, 0)
        if budget.soft_microusd is not None and counter.spent >= budget.soft_microusd:
            counter.soft_reported = True
        if end_s is not None:
            keep = end_s * 1_000_000 + KEEP_US
            if counter.drop_after_us is None or counter.drop_after_us < keep:
                counter.drop_after_us = keep
        return counter.spent

    async def rate(self, limit: RateLimit) -> LimitStatus:
        now = self._now()
        (status,) = self._statuses((limit,), [self._log(limit, now)], now)
        return status

    async def in_flight(self, limit: Concurrency) -> int:
        now = self._now()
        return sum(1 for expires in self._leases.get(limit.scope.name, {}).values() if expires > now)
