"""Refusals as the client sees them, and the x-ratelimit-* headers."""

from __future__ import annotations

from switchgear.keys.refusals import BudgetExhausted, rate_headers, refusal_error
from switchgear.state import LimitStatus, RateLimit, Refusal, Scope

KEY = Scope("key", "key_1")


def test_budget_refusal_names_scope_limit_and_reset() -> None:
    refusal = Refusal("budget", KEY, 1_000_000, 999_000, 5_000, None, 1_767_225_600_000_000)
    error = refusal_error(refusal, [])
    assert isinstance(error, BudgetExhausted)
    assert (error.status, error.type, error.code) == (429, "insufficient_quota", "budget_exceeded")
    assert error.message == (
        "budget exceeded for key key_1: $0.999 of $1 spent or reserved, and this request may cost up to "
        "$0.005; it resets at 2026-01-01T00:00:00Z"
    )
    assert ("x-should-retry", "false") in error.headers


def test_a_request_larger_than_the_budget_says_so() -> None:
    error = refusal_error(Refusal("budget", Scope("end_user", "bob"), 100, 0, 200, None), [])
    assert "more than the whole budget of end-user 'bob' ($0.0001)" in error.message


def test_rate_and_concurrency_refusals_say_when_to_retry() -> None:
    rpm = refusal_error(Refusal("requests", Scope("team", "t1"), 10, 10, 1, 2.2), [("x-a", "1")])
    assert (rpm.status, rpm.code) == (429, "rate_limit_exceeded")
    assert rpm.headers == (("x-a", "1"), ("retry-after", "3"))
    assert "10 requests per minute reached for team t1" in rpm.message
    huge = refusal_error(Refusal("tokens", KEY, 100, 0, 500, None), [])
    assert huge.code == "request_exceeds_limit" and ("x-should-retry", "false") in huge.headers
    parallel = refusal_error(Refusal("concurrency", KEY, 2, 2, 1, 1.0), [])
    assert parallel.code == "too_many_parallel_requests" and ("retry-after", "1") in parallel.headers


def test_headers_show_the_tightest_limit_per_unit() -> None:
    key_rpm = RateLimit(KEY, "requests", 10)
    team_rpm = RateLimit(Scope("team", "t"), "requests", 100)
    tpm = RateLimit(KEY, "tokens", 5000)
    headers = dict(
        rate_headers(
            [
                LimitStatus(team_rpm, 98, 2, 0.25),
                LimitStatus(key_rpm, 1, 9, 59.5),
                LimitStatus(tpm, 10, 4990, 75),
            ]
        )
    )
    assert headers == {
        b"x-ratelimit-limit-requests": b"100",
        b"x-ratelimit-remaining-requests": b"2",
        b"x-ratelimit-reset-requests": b"250ms",
        b"x-ratelimit-limit-tokens": b"5000",
        b"x-ratelimit-remaining-tokens": b"4990",
        b"x-ratelimit-reset-tokens": b"1m15s",
    }
