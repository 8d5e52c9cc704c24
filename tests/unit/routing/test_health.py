"""The breaker's state machine on a stepped clock, the 429 cool-down, the retry budget."""

from __future__ import annotations

import orjson

from switchgear.config.model import BreakerSettings, RetryBudgetSettings
from switchgear.routing.budget import RetryBudget
from switchgear.routing.health import PROBE, Health
from switchgear.routing.shared import HealthFeed
from switchgear.routing.stage import retry_after

BREAKER = BreakerSettings(failures=3, window=10, error_rate=0.5, min_requests=10, cooldown=5)


def test_failures_in_a_row_open_it_and_a_success_resets_the_count() -> None:
    h = Health(BREAKER)
    h.failed(0)
    h.failed(0)
    h.succeeded(0, 10, stream=False)
    h.failed(0)
    h.failed(0)
    assert h.state(0) == "closed" and h.usable(0)
    h.failed(0)
    assert h.state(0) == "open" and not h.usable(4.9) and not h.begin(4.9)
    assert h.ready_in(1) == 4


def test_one_probe_after_the_cooldown_then_closed_on_success() -> None:
    h = Health(BREAKER)
    for _ in range(3):
        h.failed(0)
    assert h.state(5) == "half_open" and h.usable(5)
    assert h.begin(5)  # the probe
    assert not h.usable(5.1) and not h.begin(5.1)  # only one
    h.end()
    h.succeeded(5.2, 10, stream=False)
    assert h.state(5.2) == "closed" and h.begin(5.2) and h.begin(5.2)


def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    h = Health(BREAKER)
    for _ in range(3):
        h.failed(0)
    assert h.begin(6)
    h.end()
    h.failed(6.5)
    assert h.state(6.5) == "open" and not h.usable(11) and h.usable(11.5)
    assert h.opened == 2


def test_an_abandoned_probe_frees_the_half_open_slot() -> None:
    h = Health(BREAKER)
    for _ in range(3):
        h.failed(0)
    took = h.begin(5)
    assert took == PROBE
    h.end()
    h.abandon(1)  # another attempt's cancellation does not free the probe
    assert not h.begin(5.1)
    h.abandon(took)
    assert h.begin(5.1) == PROBE


def test_error_rate_over_the_window_opens_it() -> None:
    h = Health(BREAKER)
    for i in range(10):  # alternate: never 3 failures in a row, but 50 % over 10 attempts
        if i % 2:
            h.failed(1)
        else:
            h.succeeded(1, 10, stream=False)
    assert h.state(1) == "open"
    fresh = Health(BREAKER)
    for i in range(10):  # the same split across two windows does not
        at = 1 if i < 5 else 12
        if i % 2:
            fresh.failed(at)
        else:
            fresh.succeeded(at, 10, stream=False)
    assert fresh.state(12) == "closed"


def test_a_disabled_breaker_never_opens() -> None:
    h = Health(BreakerSettings(enabled=False, failures=1))
    for _ in range(100):
        h.failed(0)
    assert h.usable(0)


def test_rate_limited_cools_down_without_counting_as_a_failure() -> None:
    h = Health(BREAKER)
    h.rate_limited(0, 2)
    assert h.state(1) == "cooling_down" and not h.begin(1) and h.begin(2)
    assert h.failures == 0


def test_latency_is_a_decaying_average_apart_for_streams() -> None:
    h = Health(BREAKER, decay=0.5)
    h.succeeded(0, 100, stream=False)
    h.succeeded(0, 200, stream=False)
    h.succeeded(0, 40, stream=True)
    assert h.latency_ms == 150 and h.ttft_ms == 40


def test_usage_counts_requests_and_tokens_per_minute() -> None:
    h = Health(BREAKER)
    assert h.begin(0) and h.begin(1)
    h.end(300)
    assert h.rpm_headroom(4, 2) == 0.5 and h.tpm_headroom(1000, 2) == 0.7 and h.in_flight == 1
    assert h.rpm_headroom(4, 61) == 1.0  # a new minute


def test_retry_after_seconds_are_capped() -> None:
    assert retry_after((("retry-after", "2"),), 30, 5) == 2
    assert retry_after((("retry-after", "120"),), 30, 5) == 30
    assert retry_after((("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),), 30, 5) == 5
    assert retry_after((), 3, 5) == 3


def test_retry_budget_is_a_share_of_requests() -> None:
    budget = RetryBudget(RetryBudgetSettings(ratio=0.2, burst=2))
    assert budget.take() and budget.take() and not budget.take()
    for _ in range(4):
        budget.deposit()
    assert not budget.take()  # 0.8 of a token
    budget.deposit()
    assert budget.take() and budget.refused == 2 and budget.spent == 3
    for _ in range(100):
        budget.deposit()
    assert budget.tokens == 2  # never more than the burst


def test_opened_elsewhere_opens_for_the_time_left_without_counting_it_as_its_own() -> None:
    h = Health(BREAKER)
    h.opened_elsewhere(100.0, 7.0)
    assert h.state(106.9) == "open" and h.opened == 0
    assert h.state(107.1) == "half_open"
    h.opened_elsewhere(100.0, 1.0)  # an earlier end never shortens it
    assert h.state(106.0) == "open"


def test_the_health_feed_ignores_its_own_malformed_and_unknown_messages() -> None:
    class Known:  # the router's part the feed reads: the health of each known deployment
        health = {"sim/m": Health(BREAKER)}

    router = Known()
    feed = HealthFeed(router, object())  # type: ignore[arg-type]

    def message(**fact: object) -> dict[str, object]:
        return {"type": "message", "data": orjson.dumps({"origin": "other", **fact})}

    assert feed.apply(message(deployment="sim/m", event="open", seconds=5)) == 1
    assert router.health["sim/m"].state() == "open"
    assert feed.apply(message(deployment="sim/unknown", event="open", seconds=5)) == 0
    assert feed.apply(message(deployment="sim/m", event="explode", seconds=5)) == 0
    assert feed.apply(message(deployment="sim/m", event="cool", seconds=-1)) == 0
    assert feed.apply({"type": "message", "data": b"not json"}) == 0
    own = {"origin": feed.origin, "deployment": "sim/m", "event": "cool", "seconds": 5}
    assert feed.apply({"type": "message", "data": orjson.dumps(own)}) == 0
