"""What a client is told when governance refuses its request, and the ``x-ratelimit-*`` headers.

- A budget that the request's worst case would exceed: **429** with OpenAI's quota error type
  (``insufficient_quota``, code ``budget_exceeded``) and ``x-should-retry: false``, so the official
  SDKs do not retry it; the message names the scope, its limit, what it holds and when it resets.
- A request or token rate limit: **429** ``rate_limit_exceeded`` with ``Retry-After`` (whole
  seconds, rounded up). A request whose own estimated tokens exceed a token limit can never pass:
  429 ``request_exceeds_limit`` with ``x-should-retry: false``.
- A concurrency limit (``max_parallel_requests``): **429** ``too_many_parallel_requests`` with
  ``Retry-After: 1``.
- A model outside an allow-list: **403** ``model_not_allowed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from switchgear.core.errors import ClientError, PermissionDenied, RateLimited
from switchgear.keys.limits import describe, usd
from switchgear.state import LimitStatus, Refusal


class BudgetExhausted(ClientError):
    """A budget would be exceeded by this request's worst case (429, OpenAI's quota error)."""

    status = 429
    type = "insufficient_quota"
    code = "budget_exceeded"
    anthropic_type = "rate_limit_error"


class ModelNotAllowed(PermissionDenied):
    code = "model_not_allowed"


_NO_RETRY = ("x-should-retry", "false")


def model_not_allowed(model: str, key_id: str, who: str, patterns: Sequence[str]) -> ModelNotAllowed:
    allowed = ", ".join(patterns)
    return ModelNotAllowed(
        f"key {key_id} may not use model {model!r}: {who} allows only {allowed}", param="model"
    )


def refusal_error(refusal: Refusal, headers: list[tuple[str, str]]) -> ClientError:
    """The error for a state refusal; ``headers`` (the rate-limit headers) go with it."""
    who = describe(refusal.scope)
    kind = refusal.kind
    if kind == "budget":
        return BudgetExhausted(_budget_message(refusal, who), headers=[*headers, _NO_RETRY])
    if kind == "concurrency":
        message = (
            f"{who} already has {refusal.used} requests in flight, its limit "
            f"(max_parallel_requests {refusal.limit}); retry when one has finished"
        )
        return RateLimited(
            message, code="too_many_parallel_requests", headers=[*headers, ("retry-after", "1")]
        )
    unit = "requests" if kind == "requests" else "tokens"
    if refusal.retry_after_s is None:
        message = (
            f"this request's estimated {refusal.requested} {unit} are more than the {refusal.limit} {unit} "
            f"per minute {who} allows; lower max_tokens or shorten the prompt"
        )
        return RateLimited(message, code="request_exceeds_limit", headers=[*headers, _NO_RETRY])
    wait = max(1, math.ceil(refusal.retry_after_s))
    message = f"rate limit of {refusal.limit} {unit} per minute reached for {who}; retry after {wait} s"
    return RateLimited(message, headers=[*headers, ("retry-after", str(wait))])


def _budget_message(refusal: Refusal, who: str) -> str:
    resets = ""
    if refusal.resets_at_us is not None:
        when = datetime.fromtimestamp(refusal.resets_at_us / 1_000_000, UTC)
        resets = f"; it resets at {when.isoformat(timespec='seconds').replace('+00:00', 'Z')}"
    if refusal.never_fits:
        return (
            f"this request may cost up to {usd(refusal.requested)} (its prompt and max_tokens at the "
            f"model's prices), more than the whole budget of {who} ({usd(refusal.limit)}); "
            f"lower max_tokens"
        )
    return (
        f"budget exceeded for {who}: {usd(refusal.used)} of {usd(refusal.limit)} spent or reserved, "
        f"and this request may cost up to {usd(refusal.requested)}{resets}"
    )


_NAMES = {
    "requests": (
        b"x-ratelimit-limit-requests",
        b"x-ratelimit-remaining-requests",
        b"x-ratelimit-reset-requests",
    ),
    "tokens": (b"x-ratelimit-limit-tokens", b"x-ratelimit-remaining-tokens", b"x-ratelimit-reset-tokens"),
}


def rate_headers(limits: Sequence[LimitStatus]) -> list[tuple[bytes, bytes]]:
    """OpenAI's ``x-ratelimit-*`` headers: per unit, the limit with the least remaining."""
    tightest: dict[str, LimitStatus] = {}  # by unit
    for status in limits:
        unit = status.limit.unit
        held = tightest.get(unit)
        if held is None or status.remaining < held.remaining:
            tightest[unit] = status
    headers = []
    for unit_name, status in tightest.items():
        limit_name, remaining_name, reset_name = _NAMES[unit_name]
        headers.append((limit_name, str(status.limit.limit).encode()))
        headers.append((remaining_name, str(status.remaining).encode()))
        headers.append((reset_name, _duration(status.reset_s).encode()))
    return headers


def _duration(seconds: float) -> str:
    """OpenAI's form: ``20ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest}s"
