"""Deployment health shared through Redis: two gateways (as two replicas) on one real Redis. When
one's breaker for a failing deployment opens, the other opens its own within a second and stops
calling that deployment; a deployment that asked one gateway to back off (429 Retry-After) is left
alone by the other too. Without Redis, or with routing.share_health off, nothing is shared."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "hi"}]
DEAD = "shared-dead;status=500"
LIMITED = "shared-limited;status=429;retry_after=30"


def _config(sim: SimulatorThread, redis_url: str, *, share: bool = True) -> dict[str, Any]:
    config = base_config(sim)
    config["storage"] = {"redis_url": redis_url}
    config["routing"] = {"circuit_breaker": {"failures": 3, "cooldown": "30s"}, "share_health": share}
    config["models"] += [
        {"name": "dead", "deployments": [{"provider": "sim", "model": DEAD}]},
        {"name": "limited", "deployments": [{"provider": "sim", "model": LIMITED}]},
    ]
    return config


@pytest.fixture
def pair(sim: SimulatorThread, redis_url: str) -> Iterator[tuple[GatewayThread, GatewayThread]]:
    a = GatewayThread(_config(sim, redis_url)).start()
    b = GatewayThread(_config(sim, redis_url)).start()
    yield a, b
    a.stop()
    b.stop()


def _post(gw: GatewayThread, model: str) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/chat/completions", json={"model": model, "messages": MESSAGES}, timeout=10
    )


def _state(gw: GatewayThread, model: str) -> str:
    view = httpx.get(gw.url + "/health/deployments", timeout=5).json()
    return str(view["models"][model]["deployments"][0]["state"])


def _calls(sim: SimulatorThread, model: str) -> int:
    return sum(1 for r in sim.requests if r.json and r.json.get("model") == model)


def _within(seconds: float, check: Any) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_breaker_opened_by_one_replica_opens_on_the_other(
    pair: tuple[GatewayThread, GatewayThread], sim: SimulatorThread
) -> None:
    a, b = pair
    assert _state(b, "dead") == "closed"
    for _ in range(3):
        assert _post(a, "dead").status_code == 502
    assert _state(a, "dead") == "open"
    assert _within(1.0, lambda: _state(b, "dead") == "open")
    calls = _calls(sim, DEAD)
    refused = _post(b, "dead")
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "no_deployment_available"
    assert _calls(sim, DEAD) == calls  # b never called the dead deployment


def test_a_rate_limit_told_to_one_replica_cools_the_other_down(
    pair: tuple[GatewayThread, GatewayThread], sim: SimulatorThread
) -> None:
    a, b = pair
    assert _post(a, "limited").status_code == 429
    assert _within(1.0, lambda: _state(b, "limited") == "cooling_down")
    calls = _calls(sim, LIMITED)
    assert _post(b, "limited").status_code == 503
    assert _calls(sim, LIMITED) == calls


def test_with_sharing_off_each_replica_learns_alone(sim: SimulatorThread, redis_url: str) -> None:
    a = GatewayThread(_config(sim, redis_url, share=False)).start()
    b = GatewayThread(_config(sim, redis_url, share=False)).start()
    try:
        for _ in range(3):
            _post(a, "dead")
        assert _state(a, "dead") == "open"
        time.sleep(0.3)
        assert _state(b, "dead") == "closed"
    finally:
        a.stop()
        b.stop()
