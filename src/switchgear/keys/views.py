"""What the admin API and the CLI answer: keys (never the key itself, except once when made),
organizations, teams, users, end-users, budgets, spend reports, request-log pages and audit entries.

USD amounts are Decimals written as JSON numbers; each spend figure also comes as integer nano-USD
(``cost_nanousd``) for sums that must be exact.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, PlainSerializer

from switchgear.keys.money import micro_to_usd, nano_to_usd
from switchgear.storage import (
    AuditEntry,
    BudgetCounter,
    EndUser,
    Limits,
    Organization,
    Payload,
    SpendRow,
    SpendTotal,
    Team,
    User,
    VirtualKey,
)

T = TypeVar("T")
UsdOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class LimitsView(BaseModel):
    max_budget: UsdOut | None
    soft_budget: UsdOut | None
    budget_duration: str | None
    rpm_limit: int | None
    tpm_limit: int | None

    @staticmethod
    def fields(limits: Limits) -> dict[str, Any]:
        return {
            "max_budget": micro_to_usd(limits.max_budget_microusd),
            "soft_budget": micro_to_usd(limits.soft_budget_microusd),
            "budget_duration": limits.budget_duration,
            "rpm_limit": limits.rpm_limit,
            "tpm_limit": limits.tpm_limit,
        }


class KeyView(LimitsView):
    id: str
    key_prefix: str
    name: str | None
    status: Literal["active", "revoked", "expired"]
    org_id: str | None
    team_id: str | None
    user_id: str | None
    models: list[str]
    metadata: dict[str, Any]
    tags: list[str]
    max_parallel_requests: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_from: str | None
    rotation_grace_until: datetime | None
    created_at: datetime
    updated_at: datetime
    spend: UsdOut | None = None  # every request of the key, from the spend log (single reads only)

    @classmethod
    def of(cls, key: VirtualKey, now: datetime, spend_nanousd: int | None = None) -> KeyView:
        status: Literal["active", "revoked", "expired"] = "active"
        if key.revoked_at is not None and key.revoked_at <= now:
            status = "revoked"
        elif key.expires_at is not None and key.expires_at <= now:
            status = "expired"
        return cls(
            id=key.id,
            key_prefix=key.key_prefix,
            name=key.name,
            status=status,
            org_id=key.org_id,
            team_id=key.team_id,
            user_id=key.user_id,
            models=key.models,
            metadata=key.metadata,
            tags=key.tags,
            max_parallel_requests=key.limits.max_parallel_requests,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            rotated_from=key.rotated_from,
            rotation_grace_until=key.rotation_grace_until,
            created_at=key.created_at,
            updated_at=key.updated_at,
            spend=None if spend_nanousd is None else nano_to_usd(spend_nanousd),
            **cls.fields(key.limits),
        )


class KeyCreated(KeyView):
    key: str  # shown this once; only its digest and prefix are stored


class OrgView(LimitsView):
    id: str
    name: str
    models: list[str]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, org: Organization) -> OrgView:
        return cls(
            id=org.id,
            name=org.name,
            models=org.models,
            metadata=org.metadata,
            created_at=org.created_at,
            updated_at=org.updated_at,
            **cls.fields(org.limits),
        )


class TeamView(OrgView):
    org_id: str | None

    @classmethod
    def of_team(cls, team: Team) -> TeamView:
        return cls(
            id=team.id,
            org_id=team.org_id,
            name=team.name,
            models=team.models,
            metadata=team.metadata,
            created_at=team.created_at,
            updated_at=team.updated_at,
            **cls.fields(team.limits),
        )


class UserView(LimitsView):
    id: str
    org_id: str | None
    team_id: str | None
    email: str | None
    name: str | None
    role: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            org_id=user.org_id,
            team_id=user.team_id,
            email=user.email,
            name=user.name,
            role=user.role,
            metadata=user.metadata,
            created_at=user.created_at,
            updated_at=user.updated_at,
            **cls.fields(user.limits),
        )


class EndUserView(LimitsView):
    id: str
    blocked: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, end_user: EndUser) -> EndUserView:
        return cls(
            id=end_user.id,
            blocked=end_user.blocked,
            metadata=end_user.metadata,
            created_at=end_user.created_at,
            updated_at=end_user.updated_at,
            **cls.fields(end_user.limits),
        )


class Listing(BaseModel, Generic[T]):
    """One page; pass ``next_offset`` as ``offset`` for the next (None: this was the last)."""

    object: Literal["list"] = "list"
    data: list[T]
    next_offset: int | None


class CounterView(BaseModel):
    period: str  # "" for a budget that never resets
    spent: UsdOut
    reserved: UsdOut

    @classmethod
    def of(cls, counter: BudgetCounter) -> CounterView:
        spent = micro_to_usd(counter.spent_microusd)
        reserved = micro_to_usd(counter.reserved_microusd)
        assert spent is not None and reserved is not None
        return cls(period=counter.period, spent=spent, reserved=reserved)


class BudgetView(LimitsView):
    kind: str
    id: str
    periods: list[CounterView]  # the budget counters recorded for this scope, oldest first


class SpendGroup(BaseModel):
    group: str | None
    requests: int
    failed_requests: int
    prompt_tokens: int
    completion_tokens: int
    spend: UsdOut
    cost_nanousd: int

    @classmethod
    def of(cls, total: SpendTotal) -> SpendGroup:
        group = total.group.isoformat() if isinstance(total.group, date) else total.group
        return cls(
            group=group,
            requests=total.requests,
            failed_requests=total.failed_requests,
            prompt_tokens=total.prompt_tokens,
            completion_tokens=total.completion_tokens,
            spend=nano_to_usd(total.cost_nanousd),
            cost_nanousd=total.cost_nanousd,
        )


class SpendReport(BaseModel):
    group_by: str
    start: date
    end: date
    data: list[SpendGroup]
    total_spend: UsdOut
    total_cost_nanousd: int


class RequestView(BaseModel):
    request_id: str
    created_at: datetime
    api: str
    model: str
    key_id: str | None
    user_id: str | None
    team_id: str | None
    org_id: str | None
    end_user: str | None
    tags: list[str]
    provider: str | None
    deployment: str | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    spend: UsdOut | None
    cost_nanousd: int | None
    duration_ms: float
    ttfb_ms: float | None
    status: int
    error_type: str | None
    cache: str | None
    stream: bool
    attempts: int
    path: list[AttemptView]  # every attempt, when there was more than one (the fallback path)
    tier: str | None = None  # the tier a tiering policy chose, and why
    tier_reason: str | None = None
    guardrails: list[GuardView] = []  # each guardrail that ran: what it did and found (no values)

    @classmethod
    def of(cls, row: SpendRow) -> RequestView:
        values = {name: getattr(row, name) for name in SpendRow.__dataclass_fields__}
        values["tags"] = list(row.tags)
        values["path"] = [AttemptView(**asdict(step)) for step in row.path]
        values["guardrails"] = [GuardView(**asdict(step)) for step in row.guardrails]
        cost = row.cost_nanousd
        return cls(**values, spend=None if cost is None else nano_to_usd(cost))


class AttemptView(BaseModel):
    deployment: str  # "provider/model"
    status: int | None  # the upstream's status; None: no answer (timeout, refused connection)
    ms: float
    error: str | None  # the error's code or type; None: it answered


class PayloadView(BaseModel):
    """A logged request's prompt and answer as the client sent and got them (secrets masked)."""

    request_id: str
    created_at: datetime
    request: str | None
    response: str | None  # None: no answer body reached the client (a failure, a cache hit)
    truncated: bool

    @classmethod
    def of(cls, payload: Payload) -> PayloadView:
        return cls(
            request_id=payload.request_id,
            created_at=payload.created_at,
            request=payload.request,
            response=payload.response,
            truncated=payload.truncated,
        )


class GuardView(BaseModel):
    name: str
    action: str  # "pass", "flag", "redact", "deny", "error"
    direction: str  # "input", "output"
    found: dict[str, int]  # entity or rule type -> how many (never the values)
    ms: float
    score: float | None = None  # a scorer's value (prompt injection)


RequestView.model_rebuild()


class RequestPage(BaseModel):
    """Newest first; pass ``next_cursor`` as ``cursor`` for the next page (None: the last)."""

    object: Literal["list"] = "list"
    data: list[RequestView]
    next_cursor: str | None


class AuditView(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    object_kind: str
    object_id: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditView:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            object_kind=entry.object_kind,
            object_id=entry.object_id,
            details=entry.details,
        )


class AuditPage(BaseModel):
    """Newest first; pass ``next_before_id`` as ``before_id`` for the next page (None: the last)."""

    object: Literal["list"] = "list"
    data: list[AuditView]
    next_before_id: int | None
