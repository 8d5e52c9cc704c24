"""The limits of one object of the hierarchy (key, user, team, org, end-user, the whole gateway) in
the state layer's terms: a ``Budget``, request and token ``RateLimit``s over 60 s, a model allow-list.

Built once when the directory loads or changes an object, never per request. A budget needs a hard
maximum to refuse anything; an object with only a soft budget gets a budget whose maximum is the
largest amount the Redis scripts count exactly (2^53 - 1 micro-USD), so its spend is still counted
and its soft crossing still reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from switchgear.state import Budget, Period, RateLimit, Scope
from switchgear.state.types import ScopeKind
from switchgear.storage import Limits

log = logging.getLogger("switchgear.keys")

UNBOUNDED_MICROUSD = 2**53 - 1
WINDOW_S = 60  # rpm and tpm: per rolling minute
SCOPE_WORDS = {
    "key": "key",
    "user": "user",
    "team": "team",
    "org": "organization",
    "end_user": "end-user",
    "global": "gateway",
    "model": "model",
}


def period_of(duration: str | None) -> Period | None:
    """A stored ``budget_duration`` as a period: ``1h``, ``1d``, ``7d``, ``30d``, ``1mo``/``month``;
    None (never resets) for none. An unknown one is logged and treated as never resetting."""
    if duration is None or duration == "":
        return None
    try:
        return Period.parse("month" if duration == "1mo" else duration)
    except ValueError:
        log.warning("unknown budget_duration %r: the budget never resets", duration)
        return None


def usd_to_microusd(amount: Decimal) -> int:
    """USD (as configured) to integer micro-USD, rounded up."""
    return int((amount * 1_000_000).to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True, slots=True)
class ScopeLimits:
    """One object's own limits (a parent's apply besides, never instead)."""

    scope: Scope
    models: tuple[str, ...] = ()  # allow-list (names and wildcards); empty: no restriction here
    budget: Budget | None = None
    rpm: RateLimit | None = None
    tpm: RateLimit | None = None


def scope_limits(
    kind: ScopeKind, id_: str, limits: Limits, models: list[str] | None = None, *, fail_open: bool = False
) -> ScopeLimits:
    scope = Scope(kind, id_)
    return ScopeLimits(
        scope=scope,
        models=tuple(models or ()),
        budget=budget_of(scope, limits, fail_open=fail_open),
        rpm=_rate(scope, "requests", limits.rpm_limit, fail_open),
        tpm=_rate(scope, "tokens", limits.tpm_limit, fail_open),
    )


def budget_of(scope: Scope, limits: Limits, *, fail_open: bool = False) -> Budget | None:
    hard, soft = limits.max_budget_microusd, limits.soft_budget_microusd
    if hard is None and soft is None:
        return None
    return Budget(
        scope,
        UNBOUNDED_MICROUSD if hard is None else max(0, hard),
        period_of(limits.budget_duration),
        None if soft is None else max(0, soft),
        fail_open,
    )


def _rate(scope: Scope, unit: str, limit: int | None, fail_open: bool) -> RateLimit | None:
    if limit is None:
        return None
    return RateLimit(
        scope, "requests" if unit == "requests" else "tokens", max(0, limit), WINDOW_S, fail_open
    )


def describe(scope: Scope) -> str:
    """``key key_12``, ``team team_3``, ``end-user 'alice'``, ``gateway`` (for error messages)."""
    word = SCOPE_WORDS.get(scope.kind, scope.kind)
    if scope.kind == "global":
        return "the gateway's global budget"
    if scope.kind == "end_user":
        shown = scope.id if len(scope.id) <= 64 else scope.id[:61] + "..."
        return f"{word} {shown!r}"
    return f"{word} {scope.id}"


def usd(microusd: int) -> str:
    """Micro-USD as dollars with up to six decimals: ``$1.5``, ``$0.000125``."""
    whole, frac = divmod(microusd, 1_000_000)
    text = f"{frac:06d}".rstrip("0")
    return f"${whole}.{text}" if text else f"${whole}"
