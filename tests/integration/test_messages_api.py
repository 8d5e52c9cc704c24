"""The Anthropic Messages route beyond the matrix: token counting, Anthropic-shaped errors, keys."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "How many tokens is this sentence?"}]


@pytest.fixture()
def claude(gateway: GatewayThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0)


def test_count_tokens_asks_anthropic_when_it_serves_the_model(
    claude: anthropic.Anthropic, sim: SimulatorThread
) -> None:
    counted = claude.messages.count_tokens(model="s-anthropic/claude-sim", messages=MESSAGES)  # type: ignore[arg-type]
    assert counted.input_tokens > 0
    assert sim.last().path == "/v1/messages/count_tokens"
    assert sim.last().json["model"] == "claude-sim"


def test_count_tokens_is_estimated_for_other_families(
    claude: anthropic.Anthropic, sim: SimulatorThread
) -> None:
    sim.clear()
    counted = claude.messages.count_tokens(model="s-gemini/gemini-sim", messages=MESSAGES)  # type: ignore[arg-type]
    assert 5 <= counted.input_tokens <= 30
    assert sim.requests == []  # answered by the gateway itself


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b"{nope", 400, "invalid_request_error"),
        ({"model": "no-such-model", "max_tokens": 10, "messages": MESSAGES}, 404, "not_found_error"),
        (
            {"model": "s-openai/sim-small", "messages": MESSAGES},
            400,
            "invalid_request_error",
        ),  # no max_tokens
    ],
)
def test_errors_are_anthropic_shaped(gateway: GatewayThread, body: Any, status: int, kind: str) -> None:
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    response = httpx.post(
        gateway.url + "/v1/messages", content=content, headers={"anthropic-version": "2023-06-01"}
    )
    assert response.status_code == status
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == kind and error["error"]["message"]
    assert response.headers["request-id"]


def test_upstream_errors_reach_anthropic_clients_as_sdk_exceptions(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model="s-openai/sim-small;status=429", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(anthropic.InternalServerError) as caught:
        claude.messages.create(model="s-anthropic/claude-sim;status=529", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 503  # overloaded, after every deployment was tried


def test_master_key_as_x_api_key(make_gateway: Any) -> None:
    gateway: GatewayThread = make_gateway(master_key="sk-master-0123456789")
    with anthropic.Anthropic(base_url=gateway.url, api_key="sk-master-0123456789", max_retries=0) as good:
        assert good.messages.create(model="s-openai/sim-small", max_tokens=10, messages=MESSAGES).content  # type: ignore[arg-type]
    with (
        anthropic.Anthropic(base_url=gateway.url, api_key="wrong-key-123", max_retries=0) as bad,
        pytest.raises(anthropic.AuthenticationError),
    ):
        bad.messages.create(model="s-openai/sim-small", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
