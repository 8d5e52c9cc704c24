"""Bad input on the OpenAI routes (chat, completions, embeddings): a 400 naming the path, in
OpenAI's error shape, and nothing sent upstream; values the reference allows go up unchanged."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread
from tests.integration.input_checks import openai_error, received_unchanged, send, with_path

CHAT: dict[str, Any] = {
    "model": "fast",
    "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": [{"type": "text", "text": "Look:"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}},
    "stream_options": {"include_usage": True},
}  # fmt: skip
COMPLETION: dict[str, Any] = {"model": "fast", "prompt": ["Say hi", "Say bye"], "logit_bias": {"50256": -100}}
EMBEDDING: dict[str, Any] = {"model": "embed", "input": ["one", "two"]}
LIMIT = "must be from 0 to 100,000,000 (the gateway's limit on output tokens)"

REFUSED = [
    # chat: one wrong type at each depth
    ("chat", "temperature", "hot", "temperature", "must be a number, got a string"),
    ("chat", "messages", {"role": "user"}, "messages", "must be an array, got an object"),
    ("chat", "messages.1", "hi", "messages[1]", "must be an object, got a string"),
    ("chat", "messages.1.role", ["user"], "messages[1].role", "must be a string, got an array"),
    ("chat", "messages.1.role", "robot", "messages[1].role", "must be one of assistant, developer"),
    ("chat", "messages.0.content", 5, "messages[0].content", "must be a string or an array, got an integer"),
    ("chat", "messages.1.content.0.text", 5, "messages[1].content[0].text", "must be a string, got an integer"),
    ("chat", "messages.1.content.1.image_url.url", 5, "messages[1].content[1].image_url.url", "must be a string"),
    ("chat", "messages.2.tool_calls.0.function.arguments", {}, "messages[2].tool_calls[0].function.arguments",
     "must be a string, got an object"),
    ("chat", "messages.3.tool_call_id", None, "messages[3].tool_call_id", "is required"),
    ("chat", "tools.0.function", "f", "tools[0].function", "must be an object, got a string"),
    ("chat", "tools.0.function.parameters", [], "tools[0].function.parameters", "must be an object, got an array"),
    ("chat", "tool_choice.function.name", 1, "tool_choice.function.name", "must be a string, got an integer"),
    ("chat", "response_format.json_schema.schema", "x", "response_format.json_schema.schema", "must be an object"),
    ("chat", "stream_options.include_usage", "yes", "stream_options.include_usage", "must be a boolean"),
    ("chat", "stop", ["END", 7], "stop[1]", "must be a string, got an integer"),
    ("chat", "metadata", {"k": 1}, "metadata.k", "must be a string, got an integer"),
    # the output-token rule: an integer (1e9 is a number, not an integer), 0 to the gateway's limit
    ("chat", "max_tokens", 1e9, "max_tokens", "must be an integer, got a number"),
    ("chat", "max_tokens", 10**9, "max_tokens", LIMIT),
    ("chat", "max_completion_tokens", -1, "max_completion_tokens", LIMIT),
    # model names: printable ASCII, at most 256 characters
    ("chat", "model", "sim/sim-small\r\nX-Injected: 1", "model", "must be 1 to 256 printable ASCII characters"),
    ("chat", "model", "sim/" + "m" * 300, "model", "must be 1 to 256 printable ASCII characters"),
    ("chat", "model", 5, "model", "must be a non-empty string, got an integer"),
    # completions
    ("completions", "prompt", [{"text": "hi"}], "prompt[0]", "must be a string or an integer or an array"),
    ("completions", "prompt", [[1, "2"]], "prompt[0][1]", "must be an integer, got a string"),
    ("completions", "logit_bias", {"50256": "x"}, "logit_bias.50256", "must be an integer, got a string"),
    ("completions", "best_of", "2", "best_of", "must be an integer, got a string"),
    ("completions", "max_tokens", 1e9, "max_tokens", "must be an integer, got a number"),
    # embeddings
    ("embeddings", "input", ["one", {"text": "two"}], "input[1]", "must be a string or an integer or an array"),
    ("embeddings", "input", ["one", None], "input[1]", "must be a string or an integer or an array, got null"),
    ("embeddings", "input", [[1, "2"]], "input[0][1]", "must be an integer, got a string"),
    ("embeddings", "dimensions", "8", "dimensions", "must be an integer, got a string"),
    ("embeddings", "input", ["x"] * 2049, "input", "an array must hold 1 to 2048 items, got 2049"),
]  # fmt: skip
BODIES = {"chat": CHAT, "completions": COMPLETION, "embeddings": EMBEDDING}
PATHS = {"chat": "/v1/chat/completions", "completions": "/v1/completions", "embeddings": "/v1/embeddings"}


@pytest.mark.parametrize(("api", "at", "value", "param", "problem"), REFUSED)
def test_wrong_types_are_refused_naming_the_path(
    gateway: GatewayThread, sim: SimulatorThread, api: str, at: str, value: Any, param: str, problem: str
) -> None:
    response, received = send(gateway, sim, PATHS[api], with_path(BODIES[api], at, value))
    assert response.status_code == 400, response.text
    error = openai_error(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"].startswith(f"{param}: {problem}")
    assert received == []


ALLOWED = [
    ("chat", "max_tokens", 0),
    ("chat", "max_completion_tokens", 0),
    ("chat", "max_tokens", 100_000_000),
    ("chat", "logprobs", None),
    ("chat", "stop", []),
    ("chat", "n", 1),
    ("chat", "temperature", 0),
    ("chat", "temperature", None),
    ("chat", "tools", None),
    ("chat", "messages.2.content", None),
    (
        "chat",
        "messages.1.content.1",
        {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
    ),
    ("chat", "metadata", {"tags": ["a", "b"], "team": "x"}),
    ("chat", "some_future_param", {"nested": [1, "two", None]}),
    ("chat", "model", "sim/" + "m" * 252),
    ("completions", "max_tokens", 0),
    ("completions", "best_of", 0),
    ("completions", "best_of", 1),
    ("completions", "n", 1),
    ("completions", "logprobs", None),
    ("completions", "stop", []),
    ("completions", "prompt", [1, 2, 3]),
    ("embeddings", "dimensions", None),
    ("embeddings", "input", [[1, 2], [3]]),
]


@pytest.mark.parametrize(("api", "at", "value"), ALLOWED)
def test_values_the_reference_allows_go_up_unchanged(
    gateway: GatewayThread, sim: SimulatorThread, api: str, at: str, value: Any
) -> None:
    body = with_path(BODIES[api], at, value)
    response, received = send(gateway, sim, PATHS[api], body)
    assert response.status_code == 200, response.text
    model = {"fast": "sim-small", "embed": "sim-embed"}.get(body["model"], body["model"].removeprefix("sim/"))
    received_unchanged(body, received, model)


@pytest.mark.parametrize("name", ["api_base", "base_url", "api_key", "extra_headers", "custom_llm_provider"])
@pytest.mark.parametrize("api", ["chat", "completions", "embeddings"])
def test_redirecting_parameters_are_refused(
    gateway: GatewayThread, sim: SimulatorThread, api: str, name: str
) -> None:
    response, received = send(gateway, sim, PATHS[api], {**BODIES[api], name: "http://127.0.0.2:9/v1"})
    assert response.status_code == 400
    error = openai_error(response)
    assert (error["param"], error["code"]) == (name, "forbidden_parameter")
    assert received == []


def test_the_sdk_sees_the_path(gateway: GatewayThread, sim: SimulatorThread) -> None:
    sim.clear()
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0)
    with client, pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="fast",
            messages=[{"role": "user", "content": [{"type": "text", "text": ["not", "a", "string"]}]}],  # type: ignore[list-item]
        )
    assert caught.value.param == "messages[0].content[0].text"  # type: ignore[attr-defined]
    assert sim.requests == []


def test_a_model_name_in_a_header_is_the_checked_one(gateway: GatewayThread, sim: SimulatorThread) -> None:
    response, received = send(gateway, sim, "/v1/chat/completions", {**CHAT, "model": "sim/sim-small"})
    assert response.status_code == 200
    assert response.headers["x-switchgear-model"] == received[0]["model"] == "sim-small"
