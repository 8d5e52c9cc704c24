"""The values the state layer takes and answers with: scopes, limits, admissions, reservations.

Money is integer micro-USD everywhere in this package (``*_microusd``); tokens and request counts
are integers; times are integer microseconds since the Unix epoch (``*_us``) on the backend's
clock (Redis ``TIME`` for the Redis backend). Nothing here is a float except the seconds of a
``Retry-After``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from switchgear.state.periods import Period

ScopeKind = Literal["key", "user", "team", "org", "end_user", "global", "model"]

_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose counter: ``Scope("key", "k_12")``, ``Scope("global")``. Its ``name`` keys the counters."""

    kind: ScopeKind
    id: str = ""
    name: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.kind}:{self.id}")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Budget:
    """A hard spend limit on one scope, per period (``None``: one period forever)."""

    scope: Scope
    max_microusd: int
    period: Period | None = None
    soft_microusd: int | None = None  # crossing it is reported once per period (settle)
    fail_open: bool = False  # admit without this limit while the backend is unreachable

    def __post_init__(self) -> None:
        _count("max_microusd", self.max_microusd)
        if self.soft_microusd is not None:
            _count("soft_microusd", self.soft_microusd)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` requests (or tokens) in every rolling window of ``window_s`` seconds."""

    scope: Scope
    unit: Literal["requests", "tokens"]
    limit: int
    window_s: int = 60
    fail_open: bool = False

    def __post_init__(self) -> None:
        _count("limit", self.limit)
        if isinstance(self.window_s, bool) or not isinstance(self.window_s, int) or self.window_s < 1:
            raise ValueError(f"window_s must be a whole number of seconds >= 1, got {self.window_s!r}")

    @property
    def window_us(self) -> int:
        return self.window_s * 1_000_000


@dataclass(frozen=True, slots=True)
class Concurrency:
    """At most ``limit`` requests of this scope in flight (leases with an expiry)."""

    scope: Scope
    limit: int
    fail_open: bool = False

    def __post_init__(self) -> None:
        _count("limit", self.limit)


@dataclass(slots=True, eq=False)
class Admission:
    """What one request asks for: its worst case, and every limit that applies to it.

    Treat as immutable (not frozen only because a frozen dataclass costs a microsecond more to
    build, on every request; the same holds for ``Reservation`` and ``LimitStatus``)."""

    id: str  # the reservation id (the request id): settle and release are idempotent by it
    cost_microusd: int  # worst-case cost, rounded up
    tokens: int  # worst-case tokens (prompt estimate + max output), for token rate limits
    ttl_s: float  # the reservation and its leases expire after this (request deadline + margin)
    budgets: tuple[Budget, ...] = ()
    rates: tuple[RateLimit, ...] = ()
    concurrency: tuple[Concurrency, ...] = ()

    def __post_init__(self) -> None:
        _count("cost_microusd", self.cost_microusd)
        _count("tokens", self.tokens)
        if not _ID.match(self.id):
            raise ValueError(f"an admission id is 1-200 of A-Z a-z 0-9 . _ : - (got {self.id!r})")
        if not self.ttl_s > 0:
            raise ValueError(f"ttl_s must be > 0, got {self.ttl_s!r}")
        if len(self.budgets) > 1:
            _unique("budget", [(b.scope.name, b.period) for b in self.budgets])
        if len(self.rates) > 1:
            _unique("rate limit", [(r.scope.name, r.unit, r.window_s) for r in self.rates])
        if len(self.concurrency) > 1:
            _unique("concurrency limit", [c.scope.name for c in self.concurrency])


@dataclass(slots=True, eq=False)
class LimitStatus:
    """A rate limit as it stands after a decision: the values of ``x-ratelimit-*`` headers."""

    limit: RateLimit
    used: int
    remaining: int
    reset_s: float  # until the window has let go of every entry it holds (OpenAI's "reset")


@dataclass(slots=True, eq=False)
class Reservation:
    """An admitted request's hold on its budgets, rate limits and concurrency slots."""

    id: str
    at_us: int  # admission time on the backend's clock
    expires_us: int
    cost_microusd: int
    tokens: int
    limits: tuple[LimitStatus, ...] = ()
    degraded: bool = False  # admitted fail-open while the backend was unreachable: nothing is held


RefusalKind = Literal["budget", "requests", "tokens", "concurrency"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was not admitted; nothing was reserved anywhere."""

    kind: RefusalKind
    scope: Scope
    limit: int  # the configured limit (micro-USD for a budget, requests, tokens, parallel requests)
    used: int  # what the scope holds now (spent + reserved for a budget)
    requested: int  # what this request would have added
    retry_after_s: float | None  # None: waiting does not help (a budget, or more than the limit)
    resets_at_us: int | None = None  # a budget's period end
    limits: tuple[LimitStatus, ...] = ()

    @property
    def never_fits(self) -> bool:
        """The request alone is more than the limit allows (a 4xx, not a wait)."""
        return self.requested > self.limit


@dataclass(frozen=True, slots=True)
class SoftCrossing:
    """A scope whose spend crossed its soft budget in this settle: reported once per period."""

    scope: Scope
    period_id: str
    soft_microusd: int
    spent_microusd: int


SettleOutcome = Literal["settled", "late", "unknown"]


@dataclass(frozen=True, slots=True)
class Settlement:
    """``settled``: reserved released and spend recorded. ``late``: the reaper had released the
    reservation already, the spend is recorded now. ``unknown``: settled before (or never made, or
    its record expired): nothing changed."""

    outcome: SettleOutcome
    soft_crossings: tuple[SoftCrossing, ...] = ()


@dataclass(frozen=True, slots=True)
class Spend:
    """A budget scope's counters in one period."""

    scope: Scope
    period_id: str
    spent_microusd: int
    reserved_microusd: int
    resets_at_us: int | None


@dataclass(slots=True)
class StateStats:
    """Counted decisions of one backend instance (reaper work, degraded admissions)."""

    reaped_reservations: int = 0
    expired_leases: int = 0
    unavailable: int = 0  # operations that found the backend unreachable
    fail_open_admits: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def _unique(what: str, keys: list[object]) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError(f"the same {what} is given twice for one scope")


def _count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
