"""A provider whose base_url leads back to the gateway: the loop ends after a few hops (S4).

Every upstream request carries ``x-switchgear-hop`` (the client's count plus one); a request
whose count is past ``server.max_hops`` is refused with 508 before its body is read. The tests
point a provider at the gateway itself and count the requests it receives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread, closed_port

HI = [{"role": "user", "content": "hi"}]


def looping(port: int, sim: SimulatorThread, **server: Any) -> dict[str, Any]:
    own = f"http://127.0.0.1:{port}"
    return {
        "server": server,
        "upstream": {"timeouts": {"connect": "2s", "first_byte": "5s", "chunk_gap": "2s", "total": "20s"}},
        "providers": {
            "self-openai": {"type": "openai", "base_url": own + "/v1", "api_key": "sk-loop-1234567"},
            "self-anthropic": {"type": "anthropic", "base_url": own, "api_key": "sk-loop-1234567"},
            "sim": {"type": "openai", "base_url": sim.base_url + "/v1", "api_key": "sk-sim-1234567"},
        },
        "models": [
            {"name": "loop", "deployments": [{"provider": "self-openai", "model": "loop"}]},
            {"name": "loop-claude", "deployments": [{"provider": "self-anthropic", "model": "loop-claude"}]},
            {
                "name": "loop-then-sim",
                "deployments": [
                    {"provider": "self-openai", "model": "loop-then-sim", "weight": 1},
                    {"provider": "sim", "model": "sim-small", "weight": 0},
                ],
            },
            {"name": "fast", "deployments": [{"provider": "sim", "model": "sim-small"}]},
        ],
    }


@pytest.fixture()
def make_looping(sim: SimulatorThread) -> Iterator[Callable[..., GatewayThread]]:
    started: list[GatewayThread] = []

    def make(**server: Any) -> GatewayThread:
        port = closed_port()
        gw = GatewayThread(looping(port, sim, **server), port=port).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


def connections_to(port: int) -> int:
    """Established TCP connections whose local end is ``port`` (the gateway's accepted ones)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    count += 1
    return count


def settled_after(gw: GatewayThread, seconds: float) -> int:
    received = gw.received
    time.sleep(seconds)
    assert gw.received == received, "requests still arrive after the client's request ended"
    return received


@pytest.mark.parametrize("stream", [False, True])
def test_a_self_loop_ends_with_508_after_max_hops(
    make_looping: Callable[..., GatewayThread], stream: bool
) -> None:
    gw = make_looping()
    started = time.monotonic()
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=15)
    with client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="loop", messages=HI, stream=stream)  # type: ignore[call-overload]
    assert time.monotonic() - started < 2
    assert caught.value.status_code == 508
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "loop_detected"
    assert "loop" in error["message"].lower()
    assert settled_after(gw, 0.5) == 3 + 2  # the client's request, hops 1..3 served, hop 4 refused
    assert connections_to(gw.port) <= 3 + 2  # no storm of connections left behind


def test_the_anthropic_route_loop_ends_the_same_way(make_looping: Callable[..., GatewayThread]) -> None:
    gw = make_looping(max_hops=1)
    claude = anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=0, timeout=15)
    with pytest.raises(anthropic.APIStatusError) as caught:
        claude.messages.create(model="loop-claude", max_tokens=10, messages=HI)  # type: ignore[arg-type]
    assert caught.value.status_code == 508
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error" and body["error"]["type"] == "api_error"
    assert settled_after(gw, 0.5) == 1 + 2


def test_a_looping_deployment_fails_over_to_the_next(make_looping: Callable[..., GatewayThread]) -> None:
    gw = make_looping(max_hops=0)
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=15) as client:
        answer = client.chat.completions.create(model="loop-then-sim", messages=HI)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "Hello! You said: hi"


def test_every_upstream_request_carries_the_hop_count(
    make_looping: Callable[..., GatewayThread], sim: SimulatorThread
) -> None:
    gw = make_looping()
    body = {"model": "fast", "messages": HI}
    sim.clear()
    assert httpx.post(gw.url + "/v1/chat/completions", json=body).status_code == 200
    assert sim.last().headers["x-switchgear-hop"] == "1"
    answer = httpx.post(gw.url + "/v1/chat/completions", json=body, headers={"x-switchgear-hop": "2"})
    assert answer.status_code == 200
    assert sim.last().headers["x-switchgear-hop"] == "3"


@pytest.mark.parametrize(("value", "status"), [("4", 508), ("99999999999999999999999", 508), ("two", 400)])
def test_a_request_past_the_limit_is_refused_before_anything_is_sent(
    make_looping: Callable[..., GatewayThread], sim: SimulatorThread, value: str, status: int
) -> None:
    gw = make_looping()
    sim.clear()
    for path, body in (
        ("/v1/chat/completions", {"model": "fast", "messages": HI}),
        ("/v1/messages", {"model": "fast", "max_tokens": 10, "messages": HI}),
        ("/v1/messages/count_tokens", {"model": "fast", "messages": HI}),
    ):
        answer = httpx.post(gw.url + path, json=body, headers={"x-switchgear-hop": value})
        assert answer.status_code == status, answer.text
        assert "x-switchgear-hop" in answer.text
    assert sim.requests == []
