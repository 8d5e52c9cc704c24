"""The state backend protocol: one atomic admission, idempotent settle and release, a reaper.

Two implementations: ``MemoryState`` (one process; each operation is one synchronous block) and
``RedisState`` (many processes and machines; each operation is one Lua script). Both keep the same
promises (docs/state.md):

- ``admit`` checks every budget, rate limit and concurrency limit of the request and, only if all
  of them pass, reserves the worst-case cost in every budget scope, records the request (and its
  estimated tokens) in every rate-limit log and takes a lease in every concurrency scope. Nothing
  is reserved anywhere on a refusal.
- ``settle`` moves a reservation's worst case to its actual cost, once: ``reserved -= estimate;
  spent += actual`` in the period the reservation was made in. ``release`` is a settle of nothing
  (the request failed before generating anything). A second settle or release changes nothing.
- ``seed`` raises a budget counter to what the durable ledger says was spent (after a restart of
  the memory backend, or a flushed Redis); it never lowers a counter.
- ``reap`` returns reservations and leases whose expiry passed (a crashed or killed worker's); a
  settle that arrives after the reaper records its spend without releasing twice.
"""

from __future__ import annotations

from typing import Protocol

from switchgear.core.errors import GatewayError
from switchgear.state.periods import Period
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
    Spend,
    StateStats,
)


class StateUnavailable(GatewayError):
    """The shared state backend could not be reached in time: limits fail closed (503)."""

    status = 503
    type = "service_unavailable"
    code = "state_unavailable"
    anthropic_type = "overloaded_error"
    retryable = True


class StateBackend(Protocol):
    stats: StateStats

    async def start(self) -> None:
        """Connect and load what the backend needs (scripts); safe to call twice."""

    async def close(self) -> None: ...

    async def admit(self, request: Admission) -> Reservation | Refusal: ...

    async def settle(self, reservation_id: str, actual_microusd: int, actual_tokens: int) -> Settlement:
        """Record the actual cost and tokens (negative values count as 0) and release the rest."""

    async def release(self, reservation_id: str) -> Settlement:
        """Give everything back: the request generated nothing billable."""

    async def reap(self) -> int:
        """Return expired reservations and their leases; the number returned (also in ``stats``)."""

    async def spent(self, scope: Scope, period: Period | None = None, at_us: int | None = None) -> Spend:
        """A budget scope's counters in the period holding ``at_us`` (default: now)."""

    async def seed(self, budget: Budget, spent_microusd: int, at_us: int | None = None) -> int:
        """Raise ``budget``'s spent in the period holding ``at_us`` (default: now) to at least
        ``spent_microusd`` (the durable ledger's figure, at start-up); never lowers it. A soft
        budget already reached counts as reported. Answers the counter's spent afterwards."""

    async def rate(self, limit: RateLimit) -> LimitStatus:
        """A rate limit's standing now (``x-ratelimit-*`` values) without admitting anything."""

    async def in_flight(self, limit: Concurrency) -> int:
        """Live leases of a concurrency scope."""
