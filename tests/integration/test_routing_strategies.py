"""Strategies, measured over real sockets (fixed seeds, tolerances that fail on a wrong strategy):
``weighted`` splits by weight, ``latency`` moves traffic to a faster deployment and back once the
slow one recovers, ``least-busy`` balances requests in flight."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY, base_config
from tests.fakes.gateway import GatewayThread
from tests.fakes.tcp_relay import TcpRelay

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def relay(sim: SimulatorThread) -> Iterator[TcpRelay]:
    made = TcpRelay("127.0.0.1", sim.port)
    made.up()
    yield made
    made.close()


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread, relay: TcpRelay) -> Iterator[GatewayThread]:
    config = base_config(sim)
    sim_v1 = sim.base_url + "/v1"
    for name in ("sim3", "sim4"):
        config["providers"][name] = {"type": "openai", "base_url": sim_v1, "api_key": UPSTREAM_KEY}
    config["providers"]["relayed"] = {
        "type": "openai",
        "base_url": f"http://127.0.0.1:{relay.port}/v1",
        "api_key": UPSTREAM_KEY,
    }
    config["models"] += [
        {
            "name": "split",
            "deployments": [
                {"provider": "sim", "model": "sim-small", "weight": 3},
                {"provider": "sim2", "model": "sim-small", "weight": 1},
            ],
        },
        {
            "name": "quick",
            "routing": "latency",
            "deployments": [
                {"provider": "sim", "model": "sim-small;latency_ms=10"},
                {"provider": "relayed", "model": "sim-small;latency_ms=10"},
            ],
        },
        {
            "name": "busy",
            "routing": "least-busy",
            "deployments": [
                {"provider": p, "model": "sim-small;latency_ms=1000"} for p in ("sim", "sim2", "sim3", "sim4")
            ],
        },
    ]
    gateway = GatewayThread(config).start()
    gateway.app.runtime.router.rng.seed(15)
    yield gateway
    gateway.stop()


def served_by(client: httpx.Client, model: str) -> str:
    response = client.post("/v1/chat/completions", json={"model": model, "messages": MESSAGES})
    assert response.status_code == 200, response.text
    return response.headers["x-switchgear-provider"]


def test_weighted_splits_by_weight(gw: GatewayThread) -> None:
    def ask(_: int) -> list[str]:
        with httpx.Client(base_url=gw.url, timeout=10) as client:
            return [served_by(client, "split") for _ in range(200)]

    with ThreadPoolExecutor(10) as pool:
        counts = Counter(label for batch in pool.map(ask, range(10)) for label in batch)
    assert abs(counts["sim"] / 2000 - 0.75) <= 0.05, counts
    assert abs(counts["sim2"] / 2000 - 0.25) <= 0.05, counts


def test_latency_moves_traffic_to_the_fast_deployment_and_back(gw: GatewayThread, relay: TcpRelay) -> None:
    relay.delay = 0.05  # the relayed deployment answers in 60 ms and more, the direct one in 10
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        slow = Counter(served_by(client, "quick") for _ in range(200))
        fast, slowest = latencies(gw)
        assert slowest >= 3 * fast  # the premise: one is several times slower (about 6x)
        assert slow["sim"] >= 180, slow  # >= 90 % within the first 200 requests
        relay.delay = 0.0  # it recovers
        back = Counter(served_by(client, "quick") for _ in range(400))
    fast, recovered = latencies(gw)
    assert recovered <= 1.5 * fast  # measured again (exploration): its average came down
    assert back["relayed"] >= 60, back  # and it wins traffic back (>= 15 %, 3x the exploration share)


def latencies(gw: GatewayThread) -> tuple[float, float]:
    view = httpx.get(gw.url + "/health/deployments", timeout=5).json()["models"]["quick"]["deployments"]
    return view[0]["latency_ms"], view[1]["latency_ms"]


def test_least_busy_balances_in_flight_requests(gw: GatewayThread) -> None:
    start = threading.Barrier(21)

    def ask(_: int) -> str:
        with httpx.Client(base_url=gw.url, timeout=10) as client:
            start.wait()
            return served_by(client, "busy")

    with ThreadPoolExecutor(20) as pool:
        served = pool.map(ask, range(20))
        start.wait()
        time.sleep(0.5)  # all 20 are in flight (each takes a second upstream)
        view = httpx.get(gw.url + "/health/deployments", timeout=5).json()["models"]["busy"]["deployments"]
        counts = Counter(served)
    assert [d["in_flight"] for d in view] == [5, 5, 5, 5]
    assert sorted(counts.values()) == [5, 5, 5, 5], counts


def test_admin_view_names_the_strategy(gw: GatewayThread) -> None:
    view: dict[str, Any] = httpx.get(gw.url + "/health/deployments", timeout=5).json()
    assert view["models"]["quick"]["routing"] == "latency"
    quick = view["models"]["quick"]["deployments"]
    assert all(d["latency_ms"] for d in quick) and all(d["in_flight"] == 0 for d in quick)
    assert view["models"]["busy"]["routing"] == "least-busy"
