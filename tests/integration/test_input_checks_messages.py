"""Bad input on the Anthropic Messages routes (/v1/messages and count_tokens), passed through or
translated: a 400 naming the path, in Anthropic's error shape, and nothing sent upstream; values
the reference allows reach an Anthropic provider unchanged."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread
from tests.integration.input_checks import anthropic_error, received_unchanged, send, with_path

BODY: dict[str, Any] = {
    "model": "s-anthropic/claude-sim",
    "max_tokens": 64,
    "system": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}, {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Lisbon"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "sunny"}]}]},
    ],
    "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "auto"},
    "metadata": {"user_id": "u-1"},
}  # fmt: skip
LIMIT = "must be from 0 to 100,000,000 (the gateway's limit on output tokens)"

REFUSED = [
    ("max_tokens", "64", "max_tokens", "must be an integer, got a string"),
    ("max_tokens", 1e9, "max_tokens", "must be an integer, got a number"),
    ("max_tokens", 10**9, "max_tokens", LIMIT),
    ("max_tokens", -1, "max_tokens", LIMIT),
    ("messages", {"role": "user"}, "messages", "must be an array, got an object"),
    ("messages.0", "hi", "messages[0]", "must be an object, got a string"),
    ("messages.0.role", ["user"], "messages[0].role", "must be a string, got an array"),
    ("messages.0.role", "robot", "messages[0].role", "must be one of assistant, system, user; got 'robot'"),
    ("messages.0.content", 5, "messages[0].content", "must be a string or an array, got an integer"),
    ("messages.0.content.0.text", 5, "messages[0].content[0].text", "must be a string, got an integer"),
    ("messages.0.content.0.type", None, "messages[0].content[0].type", "is required"),
    ("messages.0.content.1.source.url", 5, "messages[0].content[1].source.url", "must be a string"),
    ("messages.1.content.0.input", "x", "messages[1].content[0].input", "must be an object, got a string"),
    ("messages.2.content.0.content.0.text", [], "messages[2].content[0].content[0].text", "must be a string"),
    ("system", 5, "system", "must be a string or an array, got an integer"),
    ("system.0.text", 1, "system[0].text", "must be a string, got an integer"),
    ("system.0.cache_control", "ephemeral", "system[0].cache_control", "must be an object, got a string"),
    ("tools.0", "weather", "tools[0]", "must be an object, got a string"),
    ("tools.0.input_schema", "x", "tools[0].input_schema", "must be an object, got a string"),
    ("tool_choice", {"type": "tool", "name": 1}, "tool_choice.name", "must be a string, got an integer"),
    ("thinking", {"type": "enabled", "budget_tokens": "1024"}, "thinking.budget_tokens", "must be an integer"),
    ("metadata.user_id", 5, "metadata.user_id", "must be a string, got an integer"),
    ("stop_sequences", ["a", 1], "stop_sequences[1]", "must be a string, got an integer"),
    ("stream", "yes", "stream", "must be a boolean, got a string"),
    ("model", "s-anthropic/claude-sim\r\nX-Injected: 1", "model", "must be 1 to 256 printable ASCII characters"),
    ("model", "s-anthropic/" + "c" * 300, "model", "must be 1 to 256 printable ASCII characters"),
]  # fmt: skip


@pytest.mark.parametrize("model", ["s-anthropic/claude-sim", "fast"])  # passed through, translated
@pytest.mark.parametrize(("at", "value", "param", "problem"), REFUSED)
def test_wrong_types_are_refused_naming_the_path(
    gateway: GatewayThread, sim: SimulatorThread, model: str, at: str, value: Any, param: str, problem: str
) -> None:
    body = with_path({**BODY, "model": model}, at, value)
    response, received = send(gateway, sim, "/v1/messages", body)
    assert response.status_code == 400, response.text
    error = anthropic_error(response)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"{param}: {problem}")
    assert received == []


ALLOWED = [
    ("max_tokens", 0),  # prompt-cache pre-warming
    ("max_tokens", 100_000_000),
    ("stop_sequences", []),
    ("metadata.user_id", None),
    ("system", "Be terse."),
    ("tool_choice", None),
    ("temperature", 0),  # not in the SDK's types: an unknown field, left to the provider
    ("tools.+", {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}),
    ("messages.0.content.+", {"type": "future_block_2027", "data": [1, 2]}),
    ("future_field_2027", {"keep": [1, 2.5, None]}),
]


@pytest.mark.parametrize(("at", "value"), ALLOWED)
def test_values_the_reference_allows_go_up_unchanged(
    gateway: GatewayThread, sim: SimulatorThread, at: str, value: Any
) -> None:
    body = with_path(BODY, at, value)
    response, received = send(gateway, sim, "/v1/messages", body)
    assert response.status_code != 500 and response.status_code < 502, response.text
    received_unchanged(body, received, "claude-sim")


@pytest.mark.parametrize("name", ["api_base", "base_url", "api_key", "extra_headers", "custom_llm_provider"])
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize("model", ["s-anthropic/claude-sim", "fast"])
def test_redirecting_parameters_are_refused_on_every_route(
    gateway: GatewayThread, sim: SimulatorThread, path: str, model: str, name: str
) -> None:
    body = {**BODY, "model": model, name: "http://127.0.0.2:9"}
    response, received = send(gateway, sim, path, body)
    assert response.status_code == 400
    assert anthropic_error(response)["message"].startswith(f"parameter {name!r} is not accepted")
    assert received == []


def test_count_tokens_checks_the_body_too(gateway: GatewayThread, sim: SimulatorThread) -> None:
    body = {key: value for key, value in BODY.items() if key not in ("max_tokens", "metadata")}
    response, received = send(gateway, sim, "/v1/messages/count_tokens", body)
    assert response.status_code == 200, response.text  # no max_tokens needed to count
    received_unchanged(body, received, "claude-sim")
    bad = with_path(body, "messages.1.content.0.input", [1])
    response, received = send(gateway, sim, "/v1/messages/count_tokens", bad)
    assert response.status_code == 400
    assert anthropic_error(response)["message"].startswith("messages[1].content[0].input: must be an object")
    assert received == []


def test_the_sdk_sees_an_anthropic_error(gateway: GatewayThread, sim: SimulatorThread) -> None:
    sim.clear()
    claude = anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model="s-anthropic/claude-sim",
            max_tokens=16,
            messages=[{"role": "user", "content": [{"type": "text", "text": {"not": "text"}}]}],  # type: ignore[typeddict-item]
        )
    assert caught.value.body["error"]["message"].startswith("messages[0].content[0].text: must be a string")  # type: ignore[index, call-overload]
    assert sim.requests == []
