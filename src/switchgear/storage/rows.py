"""The typed values storage functions take and return (no SQLAlchemy types leak out of storage).

Money: limits and budget counters in integer micro-USD, a request's cost in integer nano-USD.
Times: timezone-aware UTC ``datetime``s.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

ScopeKind = Literal["key", "user", "team", "org", "end_user", "global"]
SCOPE_ORDER: dict[str, int] = {"key": 0, "user": 1, "team": 2, "org": 3, "end_user": 4, "global": 5}
Role = Literal["member", "team_admin", "org_admin"]
LIMIT_FIELDS = (
    "max_budget_microusd",
    "soft_budget_microusd",
    "budget_duration",
    "rpm_limit",
    "tpm_limit",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits of one object; ``None``: none at this level (a parent's may still apply)."""

    max_budget_microusd: int | None = None
    soft_budget_microusd: int | None = None
    budget_duration: str | None = None  # "1h", "1d", "7d", "30d", "1mo"; None: never resets
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None  # keys only

    def columns(self, *, parallel: bool) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in LIMIT_FIELDS}
        if parallel:
            values["max_parallel_requests"] = self.max_parallel_requests
        elif self.max_parallel_requests is not None:
            raise ValueError("max_parallel_requests is a limit of keys only")
        return values

    @classmethod
    def of(cls, row: Any, *, parallel: bool = False) -> Limits:
        values = {name: getattr(row, name) for name in LIMIT_FIELDS}
        return cls(**values, max_parallel_requests=row.max_parallel_requests if parallel else None)


NO_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    models: list[str]
    metadata: dict[str, Any]
    limits: Limits
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    org_id: str | None
    name: str
    models: list[str]
    metadata: dict[str, Any]
    limits: Limits
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    id: str
    org_id: str | None
    team_id: str | None
    email: str | None
    name: str | None
    role: str
    metadata: dict[str, Any]
    limits: Limits
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EndUser:
    id: str
    blocked: bool
    metadata: dict[str, Any]
    limits: Limits
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VirtualKey:
    id: str
    key_hash: str  # sha256 hex of the whole key
    key_prefix: str  # for display only
    name: str | None
    org_id: str | None
    team_id: str | None
    user_id: str | None
    models: list[str]
    metadata: dict[str, Any]
    tags: list[str]
    limits: Limits
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_from: str | None
    rotation_grace_until: datetime | None
    created_at: datetime
    updated_at: datetime

    def usable(self, now: datetime) -> bool:
        """Neither revoked (a rotated key until its grace deadline) nor expired at ``now``."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class Scope:
    """One budget a reservation counts against. ``limit`` None: counted, never refused."""

    kind: ScopeKind
    id: str
    period: str = ""  # the budget period's id ("2026-11", "2026-11-04T05"); "" never resets
    limit: int | None = None  # micro-USD

    @property
    def order(self) -> tuple[int, str, str]:
        return (SCOPE_ORDER[self.kind], self.id, self.period)


@dataclass(frozen=True, slots=True)
class BudgetCounter:
    kind: str
    id: str
    period: str
    spent_microusd: int
    reserved_microusd: int


@dataclass(frozen=True, slots=True)
class AttemptStep:
    """One upstream attempt of a request that took more than one: where it went and how it ended."""

    deployment: str  # "provider/model"
    status: int | None  # the upstream's status (None: no answer: a timeout, a refused connection)
    ms: float  # how long the attempt took
    error: str | None = None  # the error's code or type (None: it answered)


@dataclass(frozen=True, slots=True)
class GuardStep:
    """One guardrail that ran on a request: what it did and what types it found (never values)."""

    name: str
    action: str  # "pass", "flag", "redact", "deny", "error"
    direction: str  # "input", "output"
    found: dict[str, int] = field(default_factory=dict)  # entity/rule type -> count
    ms: float = 0.0
    score: float | None = None


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One finished request, as the spend log keeps it."""

    request_id: str
    created_at: datetime  # when the request arrived
    model: str  # as the client asked for it
    api: str = "chat"
    key_id: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    org_id: str | None = None
    end_user: str | None = None
    tags: tuple[str, ...] = ()
    provider: str | None = None
    deployment: str | None = None  # the provider's model id
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_nanousd: int | None = None  # None: unpriced
    duration_ms: float = 0.0
    ttfb_ms: float | None = None
    status: int = 200
    error_type: str | None = None
    cache: str | None = None
    stream: bool = False
    attempts: int = 0
    path: tuple[AttemptStep, ...] = ()  # every attempt, when there was more than one
    tier: str | None = None  # the tier a tiering policy chose
    tier_reason: str | None = None  # why (a rule, a score and its threshold, an escalation)
    guardrails: tuple[GuardStep, ...] = ()  # each guardrail that ran


@dataclass(frozen=True, slots=True)
class Payload:
    """A logged request's prompt and answer as the client sent and got them (secrets masked)."""

    request_id: str
    created_at: datetime
    key_id: str | None
    request: str | None
    response: str | None  # None: no answer reached the client
    truncated: bool  # one side was longer than the configured size and was cut


@dataclass(frozen=True, slots=True)
class SpendTotal:
    """One group of a spend report (``group`` is None for requests without that dimension)."""

    group: str | date | None
    requests: int
    failed_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanousd: int


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, newest first; ``next_cursor`` asks for the next (None: the last)."""

    rows: list[SpendRow]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    object_kind: str
    object_id: str
    details: dict[str, Any] = field(default_factory=dict)


def new_id(prefix: str) -> str:
    """A new object id: ``prefix`` and 64 random bits in hex (``team_4f0c…``)."""
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class UiSession:
    """A signed-in admin UI session: ``id`` is the SHA-256 hex digest of the token the cookie holds."""

    id: str
    actor: str  # the Actor's label: "master" or an admin key's id
    csrf: str  # the token every form of this session carries
    created_at: datetime
    expires_at: datetime
