"""Bad input on the Responses route, passed through or translated: a 400 naming the path, in
OpenAI's error shape, and nothing sent upstream; values the reference allows go up unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread
from tests.integration.input_checks import openai_error, received_unchanged, send, with_path

BODY: dict[str, Any] = {
    "model": "fast",
    "instructions": "Be terse.",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}, {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}]},
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    ],
    "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}, "strict": False}],
    "tool_choice": {"type": "function", "name": "weather"},
    "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}}},
    "reasoning": {"effort": "low"},
}  # fmt: skip
LIMIT = "must be from 0 to 100,000,000 (the gateway's limit on output tokens)"

REFUSED = [
    ("input", 5, "input", "must be a string or an array, got an integer"),
    ("input.0", "hi", "input[0]", "must be an object, got a string"),
    ("input.0.role", 7, "input[0].role", "must be a string, got an integer"),
    ("input.0.content", {"text": "x"}, "input[0].content", "must be a string or an array, got an object"),
    ("input.0.content.0.text", 5, "input[0].content[0].text", "must be a string, got an integer"),
    ("input.0.content.1.image_url", ["u"], "input[0].content[1].image_url", "must be a string, got an array"),
    ("input.1.arguments", {}, "input[1].arguments", "must be a string, got an object"),
    ("input.1.call_id", None, "input[1].call_id", "is required"),
    ("input.2.output", 5, "input[2].output", "must be a string or an array, got an integer"),
    ("instructions", ["x"], "instructions", "must be a string, got an array"),
    ("tools.0.name", 5, "tools[0].name", "must be a string, got an integer"),
    ("tools.0.parameters", "x", "tools[0].parameters", "must be an object, got a string"),
    ("tool_choice.name", 1, "tool_choice.name", "must be a string, got an integer"),
    ("text.format.schema", "x", "text.format.schema", "must be an object, got a string"),
    ("reasoning.effort", 5, "reasoning.effort", "must be a string, got an integer"),
    ("metadata", {"k": 1}, "metadata.k", "must be a string, got an integer"),
    ("max_output_tokens", 1e9, "max_output_tokens", "must be an integer, got a number"),
    ("max_output_tokens", 10**9, "max_output_tokens", LIMIT),
    ("temperature", 3, "temperature", "must be between 0 and 2, got 3"),
    ("stream", 1, "stream", "must be a boolean, got an integer"),
    ("model", "fast\nX-Injected: 1", "model", "must be 1 to 256 printable ASCII characters"),
]  # fmt: skip


@pytest.mark.parametrize("model", ["fast", "s-anthropic/claude-sim"])  # passed through, translated
@pytest.mark.parametrize(("at", "value", "param", "problem"), REFUSED)
def test_wrong_types_are_refused_naming_the_path(
    gateway: GatewayThread, sim: SimulatorThread, model: str, at: str, value: Any, param: str, problem: str
) -> None:
    body = with_path({**BODY, "model": model}, at, value)
    response, received = send(gateway, sim, "/v1/responses", body)
    assert response.status_code == 400, response.text
    error = openai_error(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"].startswith(f"{param}: {problem}")
    assert received == []


ALLOWED = [
    ("max_output_tokens", 64),
    ("max_output_tokens", 0),  # the gateway's rule allows it; the provider judges (the simulator refuses < 1)
    ("instructions", None),
    ("tools.0.strict", None),
    ("tools.0.parameters", None),
    ("metadata", {"tags": ["a"], "team": "x"}),
    ("input.0.content.+", {"type": "input_video", "url": "https://example.com/v.mp4"}),
    ("future_field_2027", {"keep": [1, None]}),
]


@pytest.mark.parametrize(("at", "value"), ALLOWED)
def test_values_the_reference_allows_go_up_unchanged(
    gateway: GatewayThread, sim: SimulatorThread, at: str, value: Any
) -> None:
    body = with_path(BODY, at, value)
    response, received = send(gateway, sim, "/v1/responses", body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:  # the provider's own verdict, relayed
        assert openai_error(response)["message"].startswith("provider 'sim'")
    received_unchanged(body, received, "sim-small")


@pytest.mark.parametrize("name", ["api_base", "base_url", "api_key", "extra_headers", "custom_llm_provider"])
@pytest.mark.parametrize("model", ["fast", "s-anthropic/claude-sim"])
def test_redirecting_parameters_are_refused(
    gateway: GatewayThread, sim: SimulatorThread, model: str, name: str
) -> None:
    response, received = send(
        gateway, sim, "/v1/responses", {**BODY, "model": model, name: "http://127.0.0.2:9"}
    )
    assert response.status_code == 400
    error = openai_error(response)
    assert (error["param"], error["code"]) == (name, "forbidden_parameter")
    assert received == []
