"""Deployment health against the simulator's fault scripts (BAD-INPUTS F1, F2): the circuit breaker
opens after its threshold, fails fast without an upstream call, lets one probe through after the
cool-down and closes on its success; a 429 cools its deployment down for its Retry-After; the
admin view and the model list show it."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "hello there"}]
KEY = uuid.uuid4().hex[:8]  # fail_times counters are the simulator's, shared by the session


def _config(sim: SimulatorThread) -> dict[str, Any]:
    config = base_config(sim)
    config["routing"] = {
        "circuit_breaker": {"failures": 3, "cooldown": "1s"},
        "max_retry_after": "3s",
        "backoff": "50ms",
        "cooldown_on": [503],
    }
    config["models"] += [
        {
            "name": "storm",
            "deployments": [
                {"provider": "sim", "model": f"storm;status=500;fail_times=3;fail_key={KEY}s;latency_ms=600"}
            ],
        },
        {"name": "dead", "deployments": [{"provider": "sim", "model": "dead;status=500"}]},
        {
            "name": "guarded",
            "deployments": [{"provider": "sim", "model": "guarded;status=503"}],
            "fallbacks": ["fast"],
        },
        {
            "name": "limited",
            "deployments": [
                {"provider": "sim", "model": f"limited;status=429;retry_after=1;fail_times=1;fail_key={KEY}l"}
            ],
            "retries": 1,
        },
        {
            "name": "limited-pool",
            "routing": "ordered",
            "deployments": [
                {"provider": "sim", "model": "lpool-a;status=429;retry_after=2"},
                {"provider": "sim2", "model": "lpool-b"},
            ],
        },
        {
            "name": "overloaded-pool",
            "routing": "ordered",
            "deployments": [
                {"provider": "sim", "model": "opool-a;status=503;retry_after=2"},
                {"provider": "sim2", "model": "opool-b"},
            ],
        },
        {
            "name": "always-limited",
            "deployments": [{"provider": "sim", "model": "always;status=429;retry_after=0.2"}],
            "retries": 2,
        },
    ]
    return config


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(_config(sim)).start()
    yield gateway
    gateway.stop()


def post(gw: GatewayThread, model: str) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/chat/completions", json={"model": model, "messages": MESSAGES}, timeout=10
    )


def upstream_calls(sim: SimulatorThread, marker: str) -> list[Any]:
    return [r for r in sim.requests if r.json and str(r.json.get("model", "")).startswith(marker + ";")]


def deployment_health(gw: GatewayThread, model: str) -> dict[str, Any]:
    view = httpx.get(gw.url + "/health/deployments", timeout=5).json()
    health: dict[str, Any] = view["models"][model]["deployments"][0]
    return health


def test_f2_breaker_opens_fails_fast_probes_once_and_closes(gw: GatewayThread, sim: SimulatorThread) -> None:
    for _ in range(3):
        assert post(gw, "storm").status_code == 502
    assert len(upstream_calls(sim, "storm")) == 3
    assert deployment_health(gw, "storm")["state"] == "open"

    settled = len(gw.settled)
    for _ in range(5):
        response = post(gw, "storm")
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "no_deployment_available"
        assert "'storm'" in error["message"] and "circuit breaker open" in error["message"]
        assert response.headers["retry-after"] == "1"
    assert len(upstream_calls(sim, "storm")) == 3  # open: nothing was sent
    fast_fails = gw.wait_settled(settled + 5)[settled : settled + 5]
    assert all(r.status == 503 and r.attempts == () for r in fast_fails)
    assert sorted(r.duration_ms for r in fast_fails)[2] < 10  # the median, in the gateway

    time.sleep(1.05)  # the cool-down: the next request is the one probe (the simulator takes 600 ms)
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(r.status_code for r in pool.map(lambda _: post(gw, "storm"), range(4)))
    assert statuses == [200, 503, 503, 503]
    assert len(upstream_calls(sim, "storm")) == 4
    assert deployment_health(gw, "storm")["state"] == "closed"
    assert [post(gw, "storm").status_code for _ in range(3)] == [200, 200, 200]


def test_f2_a_failed_probe_opens_the_breaker_again(gw: GatewayThread, sim: SimulatorThread) -> None:
    for _ in range(3):
        assert post(gw, "dead").status_code == 502
    assert post(gw, "dead").status_code == 503
    time.sleep(1.05)
    assert post(gw, "dead").status_code == 502  # the probe went upstream and failed
    assert post(gw, "dead").status_code == 503  # open again at once
    assert len(upstream_calls(sim, "dead")) == 4
    health = deployment_health(gw, "dead")
    assert health["state"] == "open" and health["opened"] == 2


def test_an_open_pool_falls_back_without_trying_it(gw: GatewayThread, sim: SimulatorThread) -> None:
    for _ in range(3):
        assert post(gw, "guarded").headers["x-switchgear-attempts"] == "2"  # guarded, then fast
    response = post(gw, "guarded")
    assert response.status_code == 200
    assert response.headers["x-switchgear-attempts"] == "1"  # the open deployment is skipped
    assert response.headers["x-switchgear-fallback-from"] == "guarded"
    assert response.headers["x-switchgear-provider"] == "sim"
    assert len(upstream_calls(sim, "guarded")) == 3


def test_f1_429_retry_waits_for_retry_after(gw: GatewayThread, sim: SimulatorThread) -> None:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=10) as client:
        started = time.monotonic()
        raw = client.chat.completions.with_raw_response.create(model="limited", messages=MESSAGES)
        elapsed = time.monotonic() - started
    assert raw.status_code == 200 and raw.headers["x-switchgear-attempts"] == "2"
    first, second = upstream_calls(sim, "limited")
    assert 1.0 <= second.received_at - first.received_at < 1.5  # Retry-After: 1, honoured
    assert elapsed >= 1.0


def test_f1_429_fails_over_and_cools_the_deployment_down(gw: GatewayThread, sim: SimulatorThread) -> None:
    first = post(gw, "limited-pool")
    assert first.status_code == 200 and first.headers["x-switchgear-attempts"] == "2"
    second = post(gw, "limited-pool")
    assert second.headers["x-switchgear-attempts"] == "1"  # still cooling down: not tried
    assert second.headers["x-switchgear-provider"] == "sim2"
    assert len(upstream_calls(sim, "lpool-a")) == 1
    assert deployment_health(gw, "limited-pool")["state"] == "cooling_down"
    time.sleep(2.05)
    assert post(gw, "limited-pool").headers["x-switchgear-attempts"] == "2"  # tried again, limited again
    assert len(upstream_calls(sim, "lpool-a")) == 2


def test_a_503_with_retry_after_cools_the_deployment_down(gw: GatewayThread, sim: SimulatorThread) -> None:
    first = post(gw, "overloaded-pool")
    assert first.status_code == 200 and first.headers["x-switchgear-attempts"] == "2"
    second = post(gw, "overloaded-pool")
    assert second.headers["x-switchgear-attempts"] == "1"  # unavailable for 2 s, as it said: not tried
    assert second.headers["x-switchgear-provider"] == "sim2"
    assert len(upstream_calls(sim, "opool-a")) == 1
    assert deployment_health(gw, "overloaded-pool")["state"] == "cooling_down"


def test_f1_429_attempts_are_capped(gw: GatewayThread, sim: SimulatorThread) -> None:
    with (
        openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=10) as client,
        pytest.raises(openai.RateLimitError) as caught,
    ):
        client.chat.completions.create(model="always-limited", messages=MESSAGES)
    assert caught.value.response.headers["x-switchgear-attempts"] == "3"  # 1 + retries: 2
    calls = upstream_calls(sim, "always")
    assert len(calls) == 3
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(calls)]
    assert all(gap >= 0.2 for gap in gaps)  # each retry waited for Retry-After: 0.2


def test_health_shows_in_the_model_list(gw: GatewayThread) -> None:
    models = {m["id"]: m for m in httpx.get(gw.url + "/v1/models", timeout=5).json()["data"]}
    health = models["fast"]["health"]
    assert health[0]["deployment"] == "sim/sim-small"
    assert health[0]["state"] in ("closed", "open", "half_open", "cooling_down")
    assert set(health[0]) == {"deployment", "state", "in_flight", "latency_ms"}
