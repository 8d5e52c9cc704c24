"""Retries, fallbacks and deadlines against the simulator's fault scripts (BAD-INPUTS F1, F3-F5):
jittered backoff, no retry on a plain 400, a blackholed deployment left for the next within the
deadline, no retry once a stream has begun, context-window, configured and requested fallbacks."""

from __future__ import annotations

import statistics
import time
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


def _config(sim: SimulatorThread) -> dict[str, Any]:
    config = base_config(sim)
    config["routing"] = {"circuit_breaker": {"enabled": False}, "backoff": "400ms", "deadline": "2s"}
    config["models"] += [
        {"name": "jitter", "deployments": [{"provider": "sim", "model": "jitter;status=503"}], "retries": 1},
        {
            "name": "strict",
            "routing": "ordered",
            "retries": 2,
            "deployments": [
                {"provider": "sim", "model": "strict-a;status=400;error_code=invalid_value"},
                {"provider": "sim2", "model": "strict-b"},
            ],
        },
        {
            "name": "hole",
            "routing": "ordered",
            "timeouts": {"first_byte": "500ms"},
            "deployments": [
                {"provider": "sim", "model": "hole-a;stall_after=0"},
                {"provider": "sim2", "model": "hole-b"},
            ],
        },
        {
            "name": "abyss",
            "retries": 5,
            "timeouts": {"first_byte": "700ms"},
            "deployments": [{"provider": "sim", "model": "abyss;stall_after=0"}],
        },
        {
            "name": "resetting",
            "retries": 2,
            "deployments": [{"provider": "sim", "model": "resetting;disconnect_after=3;gap_ms=20"}],
        },
        {
            "name": "tiny",
            "context_window": 60,
            "context_window_fallbacks": ["roomy"],
            "deployments": [{"provider": "sim", "model": "tiny"}],
        },
        {"name": "roomy", "deployments": [{"provider": "sim2", "model": "roomy"}]},
        {"name": "primary-down", "deployments": [{"provider": "down", "model": "p"}], "fallbacks": ["fast"]},
    ]
    return config


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(_config(sim)).start()
    yield gateway
    gateway.stop()


@pytest.fixture()
def client(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=10) as made:
        yield made


def upstream_calls(sim: SimulatorThread, marker: str) -> list[Any]:
    return [r for r in sim.requests if r.json and str(r.json.get("model", "")).split(";")[0] == marker]


def test_f1_retries_are_spread_by_full_jitter(gw: GatewayThread, sim: SimulatorThread) -> None:
    def ask(n: int) -> int:
        body = {"model": "jitter", "messages": [{"role": "user", "content": f"client {n}"}]}
        return httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=10).status_code

    with ThreadPoolExecutor(10) as pool:
        assert set(pool.map(ask, range(10))) == {503}
    gaps = []
    for n in range(10):
        calls = [
            c for c in upstream_calls(sim, "jitter") if c.json["messages"][0]["content"] == f"client {n}"
        ]
        assert len(calls) == 2  # one retry each (retries: 1)
        gaps.append(calls[1].received_at - calls[0].received_at)
    assert max(gaps) < 0.4 + 0.2  # full jitter under the first backoff ceiling (400 ms)
    assert statistics.pstdev(gaps) > 0.05  # spread out, not in lockstep
    assert max(gaps) - min(gaps) > 0.15


def test_f3_a_plain_400_goes_straight_back(client: openai.OpenAI, sim: SimulatorThread) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="strict", messages=MESSAGES)
    assert caught.value.code == "invalid_value"
    assert caught.value.response.headers["x-switchgear-attempts"] == "1"
    assert len(upstream_calls(sim, "strict-a")) == 1 and upstream_calls(sim, "strict-b") == []


def test_f4_blackhole_moves_on_after_first_byte_timeout(client: openai.OpenAI) -> None:
    started = time.monotonic()
    raw = client.chat.completions.with_raw_response.create(model="hole", messages=MESSAGES)
    elapsed = time.monotonic() - started
    assert raw.headers["x-switchgear-provider"] == "sim2" and raw.headers["x-switchgear-attempts"] == "2"
    assert 0.5 <= elapsed < 1.5


def test_f4_retries_stop_at_the_deadline(client: openai.OpenAI, sim: SimulatorThread) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="abyss", messages=MESSAGES)
    elapsed = time.monotonic() - started
    assert caught.value.status_code == 504
    assert elapsed < 2.3  # routing.deadline: 2s, though 6 attempts of 700 ms were allowed
    assert 2 <= len(upstream_calls(sim, "abyss")) < 6


def test_f5_a_stream_cut_after_its_first_chunks_is_not_retried(
    gw: GatewayThread, client: openai.OpenAI, sim: SimulatorThread
) -> None:
    received = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(model="resetting", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert received
    assert len(upstream_calls(sim, "resetting")) == 1
    view = httpx.get(gw.url + "/health/deployments", timeout=5).json()["models"]["resetting"]
    assert view["deployments"][0]["errors"] == 1  # the cut counts against the deployment's health


def test_context_window_fallback_skips_the_small_model(client: openai.OpenAI, sim: SimulatorThread) -> None:
    small = client.chat.completions.with_raw_response.create(model="tiny", messages=MESSAGES)
    assert (
        small.headers["x-switchgear-provider"] == "sim" and "x-switchgear-fallback-from" not in small.headers
    )
    before = len(upstream_calls(sim, "tiny"))
    big = [{"role": "user", "content": "word " * 200}]
    raw = client.chat.completions.with_raw_response.create(model="tiny", messages=big)
    assert raw.headers["x-switchgear-provider"] == "sim2"
    assert raw.headers["x-switchgear-fallback-from"] == "tiny"
    assert raw.headers["x-switchgear-attempts"] == "1"
    assert len(upstream_calls(sim, "tiny")) == before  # no upstream call to the small model


def test_configured_fallbacks(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="primary-down", messages=MESSAGES)
    assert raw.headers["x-switchgear-provider"] == "sim"
    assert raw.headers["x-switchgear-fallback-from"] == "primary-down"
    assert raw.headers["x-switchgear-attempts"] == "2"


def test_request_models_are_tried_in_order(client: openai.OpenAI, sim: SimulatorThread) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="down/m1",
        messages=MESSAGES,
        extra_body={"models": ["down/m2", "sim2/order-b", "sim/order-c"]},
    )
    assert raw.headers["x-switchgear-provider"] == "sim2"
    assert raw.headers["x-switchgear-attempts"] == "3"
    assert upstream_calls(sim, "order-c") == []


def test_an_unknown_model_with_models_falls_through(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="no-such-model", messages=MESSAGES, extra_body={"models": ["fast"]}
    )
    assert raw.status_code == 200 and raw.headers["x-switchgear-fallback-from"] == "no-such-model"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
