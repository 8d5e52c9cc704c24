"""Hedging (BAD-INPUTS F12) over real sockets: one deployment with a slow tail (every tenth answer
held 2 s by a relay); with ``hedge`` a second attempt after 300 ms cuts the tail, and the held
attempt's connection is closed (the upstream sees the abort)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
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
    config: dict[str, Any] = base_config(sim)
    config["providers"]["tail"] = {
        "type": "openai",
        "base_url": f"http://127.0.0.1:{relay.port}/v1",
        "api_key": UPSTREAM_KEY,
    }
    config["providers"]["tail2"] = {**config["providers"]["tail"]}  # its own health
    config["providers"]["tail3"] = {**config["providers"]["tail"]}
    deployments = [{"provider": "tail", "model": "sim-small"}]
    config["models"] += [
        {"name": "tail", "deployments": deployments},
        {"name": "tail-hedged", "deployments": deployments, "hedge": {"after": "300ms"}},
        {
            "name": "tail-priced",
            "deployments": [{"provider": "tail3", "model": "sim-small"}],
            "hedge": {"after": "300ms"},
            "pricing": {"input": "2", "output": "10"},  # USD per million tokens
        },
        {
            "name": "tail-p95",
            "deployments": [{"provider": "tail2", "model": "sim-small"}],
            "hedge": {"after": "p95"},
        },
    ]
    gateway = GatewayThread(config).start()
    yield gateway
    gateway.stop()


def timings(gw: GatewayThread, model: str, n: int, stream: bool = False) -> list[float]:
    took = []
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        for _ in range(n):
            started = time.monotonic()
            body = {"model": model, "messages": MESSAGES, "stream": stream}
            response = client.post("/v1/chat/completions", json=body)
            assert response.status_code == 200, response.text
            assert "Hello" in response.text
            took.append(time.monotonic() - started)
    return took


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def test_hedging_cuts_the_slow_tail_and_cancels_the_loser(gw: GatewayThread, relay: TcpRelay) -> None:
    count = itertools.count()
    relay.per_request = lambda: 2.0 if next(count) % 10 == 5 else 0.0
    plain = timings(gw, "tail", 50)
    assert p99(plain) >= 2.0  # the tail is there
    relay.aborted = 0
    hedged = timings(gw, "tail-hedged", 50)
    assert p99(hedged) <= 0.5 * p99(plain), (p99(hedged), p99(plain))
    assert p99(hedged) < 1.0
    time.sleep(0.2)
    assert relay.aborted >= 4  # the held attempts were cut, not left to finish (~5 of ~55 upstream calls)


def test_hedging_streams_before_the_first_byte(gw: GatewayThread, relay: TcpRelay) -> None:
    count = itertools.count()
    relay.per_request = lambda: 2.0 if next(count) % 10 == 5 else 0.0
    hedged = timings(gw, "tail-hedged", 20, stream=True)
    assert max(hedged) < 1.0
    assert all(t < 1.0 for t in hedged)


def test_p95_hedges_once_the_pool_has_samples(gw: GatewayThread, relay: TcpRelay) -> None:
    count = itertools.count()
    relay.per_request = lambda: 2.0 if next(count) % 33 == 5 else 0.0  # a 3 % tail: above the p95
    took = timings(gw, "tail-p95", 60)
    assert max(took[:20]) >= 2.0  # no hedging before 20 samples: the tail shows
    assert p99(took[20:]) < 1.0  # then the pool's p95 is the threshold


def test_a_hedge_bills_the_losing_attempt_its_prompt(gw: GatewayThread, relay: TcpRelay) -> None:
    """F12: both attempts count. The first is held 2 s, the hedge answers; the answer's cost is its
    own plus the cancelled attempt's prompt (its output is unknown), at the deployment's prices."""
    count = itertools.count()
    relay.per_request = lambda: 2.0 if next(count) == 0 else 0.0
    relay.aborted = 0
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        response = client.post("/v1/chat/completions", json={"model": "tail-priced", "messages": MESSAGES})
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
    winner = prompt * 2 + completion * 10  # micro-USD: tokens x USD per million tokens
    loser = prompt * 2
    expected = Decimal(winner + loser) / 1_000_000
    assert Decimal(str(usage["cost"])) == expected
    assert Decimal(response.headers["x-switchgear-cost"]) == expected
    deadline = time.monotonic() + 5
    while relay.aborted < 1 and time.monotonic() < deadline:  # the held attempt is cancelled upstream
        time.sleep(0.05)
    assert relay.aborted >= 1
