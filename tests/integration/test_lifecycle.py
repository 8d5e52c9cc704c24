"""Client disconnects cancel upstream work; the master key guards every API route; health."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "one two three four five six"}]


def test_client_disconnect_mid_stream_cancels_the_upstream_within_a_second(
    gateway: GatewayThread, sim: SimulatorThread
) -> None:
    sim.clear()
    model = "sim/sim-small;gap_ms=200;chunks=40"
    body = {"model": model, "messages": MESSAGES, "stream": True}
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, timeout=10) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                break
    closed_at = time.monotonic()
    record = sim.wait_for(lambda r: r.cancelled_at is not None, timeout=3)
    assert record.cancelled_at is not None and record.cancelled_at - closed_at < 1.0
    assert not record.completed


def test_client_disconnect_while_waiting_cancels_a_non_streaming_call(
    gateway: GatewayThread, sim: SimulatorThread
) -> None:
    sim.clear()
    body = {"model": "sim/sim-small;latency_ms=2500", "messages": MESSAGES}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=0.4)
    closed_at = time.monotonic()
    record = sim.wait_for(lambda r: r.cancelled_at is not None, timeout=3)
    assert record.cancelled_at is not None and record.cancelled_at - closed_at < 1.0


def test_cancelled_stream_is_settled_as_cancelled(gateway: GatewayThread, sim: SimulatorThread) -> None:
    before = len(gateway.settled)
    body = {"model": "sim/sim-small;gap_ms=150;chunks=30", "messages": MESSAGES, "stream": True}
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, timeout=10) as response:
        next(response.iter_lines())
    records = gateway.wait_settled(before + 1, timeout=3)
    assert records[-1].cancelled


async def test_many_concurrent_streams(aclient: openai.AsyncOpenAI) -> None:
    async def one(i: int) -> str:
        stream = await aclient.chat.completions.create(
            model="sim/sim-small;gap_ms=5", messages=[{"role": "user", "content": f"n{i}"}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    results = await asyncio.gather(*(one(i) for i in range(100)))
    assert results == [f"Hello! You said: n{i}" for i in range(100)]


@pytest.fixture()
def guarded(make_gateway: Any) -> GatewayThread:
    gateway: GatewayThread = make_gateway(master_key="sk-master-0123456789")
    return gateway


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/chat/completions"]
)
def test_master_key_required_on_api_routes(guarded: GatewayThread, sim: SimulatorThread, path: str) -> None:
    sim.clear()
    body = {"model": "fast", "messages": MESSAGES, "prompt": "x", "input": "x"}
    missing = httpx.post(guarded.url + path, json=body)
    wrong = httpx.post(guarded.url + path, json=body, headers={"authorization": "Bearer sk-master-wrong"})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-master-wrong" not in wrong.text
    assert sim.requests == []


def test_master_key_accepted_as_bearer_or_x_api_key(guarded: GatewayThread) -> None:
    with openai.OpenAI(base_url=guarded.url + "/v1", api_key="sk-master-0123456789", max_retries=0) as client:
        assert client.chat.completions.create(model="fast", messages=MESSAGES).choices
        assert [m.id for m in client.models.list()]
    response = httpx.get(guarded.url + "/v1/models", headers={"x-api-key": "sk-master-0123456789"})
    assert response.status_code == 200
    assert httpx.get(guarded.url + "/v1/models").status_code == 401


def test_health_needs_no_key(guarded: GatewayThread) -> None:
    assert httpx.get(guarded.url + "/health/live").json() == {"status": "ok"}
    assert httpx.get(guarded.url + "/health/ready").json() == {"status": "ready"}


def test_a_client_gone_before_the_answer_is_settled_as_cancelled(gateway: GatewayThread) -> None:
    before = len(gateway.settled)
    body = {"model": "sim/sim-small;latency_ms=1500", "messages": MESSAGES}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=0.3)
    record = gateway.wait_settled(before + 1, timeout=3)[-1]
    assert record.cancelled and record.status == 499
