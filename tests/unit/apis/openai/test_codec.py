"""The OpenAI request check: parameter types and ranges, forbidden fields, gateway controls."""

from __future__ import annotations

from typing import Any

import pytest

from switchgear.apis.openai.checks import check
from switchgear.core.errors import ForbiddenParameter, InvalidRequest

MESSAGES = [{"role": "user", "content": "hi"}]
LIMIT = "must be from 0 to 100,000,000 (the gateway's limit on output tokens)"


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "fast", "messages": [dict(m) for m in MESSAGES], **fields}


def refused(api: str, body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        check(api, body)
    return caught.value


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("stream", "yes", "stream: must be a boolean, got a string"),
        ("stream", 1, "stream: must be a boolean, got an integer"),
        ("stream_options", [], "stream_options: must be an object, got an array"),
        ("temperature", "hot", "temperature: must be a number, got a string"),
        ("temperature", 2.5, "temperature: must be between 0 and 2, got 2.5"),
        ("temperature", -0.1, "temperature: must be between 0 and 2, got -0.1"),
        ("top_p", 1.01, "top_p: must be between 0 and 1, got 1.01"),
        ("n", 0, "n: must be between 1 and 128, got 0"),
        ("n", 129, "n: must be between 1 and 128, got 129"),
        ("n", 1.5, "n: must be an integer, got a number"),
        ("max_tokens", -1, f"max_tokens: {LIMIT}, got -1"),
        ("max_tokens", 10**9, f"max_tokens: {LIMIT}, got 1000000000"),
        ("max_tokens", 1e9, "max_tokens: must be an integer, got a number"),
        ("max_tokens", "100", "max_tokens: must be an integer, got a string"),
        ("max_completion_tokens", -5, f"max_completion_tokens: {LIMIT}, got -5"),
        ("presence_penalty", 2.1, "presence_penalty: must be between -2 and 2, got 2.1"),
        ("frequency_penalty", -3, "frequency_penalty: must be between -2 and 2, got -3"),
        ("logit_bias", [1], "logit_bias: must be an object, got an array"),
        ("seed", "42", "seed: must be an integer, got a string"),
        ("user", 42, "user: must be a string, got an integer"),
        ("stop", 7, "stop: must be a string or an array, got an integer"),
        ("logprobs", 1, "logprobs: must be a boolean, got an integer"),
        ("top_logprobs", 21, "top_logprobs: must be between 0 and 20, got 21"),
        ("tools", {"type": "function"}, "tools: must be an array, got an object"),
        ("tool_choice", 1, "tool_choice: must be a string or an object, got an integer"),
        ("reasoning_effort", ["high"], "reasoning_effort: must be a string, got an array"),
        ("parallel_tool_calls", "true", "parallel_tool_calls: must be a boolean, got a string"),
        ("response_format", "json", "response_format: must be an object, got a string"),
        ("metadata", [], "metadata: must be an object, got an array"),
        ("reasoning_effort", 3, "reasoning_effort: must be a string, got an integer"),
        ("store", "no", "store: must be a boolean, got a string"),
    ],
)
def test_chat_parameter_errors_name_the_parameter(field: str, value: Any, message: str) -> None:
    error = refused("chat", chat(**{field: value}))
    assert error.message == message
    assert error.param == field
    assert (error.status, error.type) == (400, "invalid_request_error")


@pytest.mark.parametrize(
    "field", ["n", "max_tokens", "max_completion_tokens", "seed", "top_logprobs", "temperature", "top_p"]
)
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_a_number(field: str, value: bool) -> None:
    error = refused("chat", chat(**{field: value}))
    assert error.param == field
    assert error.message.endswith("got a boolean")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 0),
        ("temperature", 2),
        ("temperature", 1.7),
        ("top_p", 0),
        ("n", 128),
        ("max_tokens", 1),
        ("presence_penalty", -2),
        ("seed", -1),
        ("stop", "END"),
        ("stop", ["a", "b"]),
        ("top_logprobs", 0),
        ("tool_choice", "auto"),
        ("tool_choice", {"type": "function", "function": {"name": "f"}}),
    ],
)
def test_values_on_the_edge_are_accepted(field: str, value: Any) -> None:
    assert check("chat", chat(**{field: value})).body[field] == value


def test_null_means_absent() -> None:
    body = chat(temperature=None, max_tokens=None, stream=None, stop=None)
    request = check("chat", body)
    assert request.body["temperature"] is None and not request.stream


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("api_base", "http://169.254.169.254/latest"),
        ("base_url", "https://evil.example/v1"),
        ("api_key", "sk-someone-elses"),
        ("api_version", "2024-10-21"),
        ("custom_llm_provider", "openai"),
        ("extra_headers", {"authorization": "Bearer x"}),
        ("mock_response", "pwned"),
        ("mock_testing_fallbacks", True),
    ],
)
@pytest.mark.parametrize("api", ["chat", "completions", "embeddings"])
def test_forbidden_parameters(api: str, field: str, value: Any) -> None:
    body = {"model": "fast", "messages": MESSAGES, "prompt": "x", "input": "x", field: value}
    with pytest.raises(ForbiddenParameter) as caught:
        check(api, body)
    error = caught.value
    assert error.param == field
    assert error.message.startswith(f"parameter {field!r} is not accepted: ")
    assert (error.status, error.code) == (400, "forbidden_parameter")
    if isinstance(value, str):
        assert value not in error.message


def test_forbidden_parameter_even_when_null() -> None:
    assert refused("chat", chat(api_base=None)).param == "api_base"


def test_gateway_fields_are_taken_out_and_models_become_fallbacks() -> None:
    body = chat(models=["big", "local/llama3.2"], session_id="s-1", tags=["a", "b"], temperature=0.1)
    request = check("chat", body)
    assert request.fallbacks == ["big", "local/llama3.2"]
    assert request.body is body
    assert body == chat(temperature=0.1)


def test_fallbacks_field_is_also_read() -> None:
    request = check("chat", chat(models=["a"], fallbacks=["b", "c"]))
    assert request.fallbacks == ["a", "b", "c"]
    assert "fallbacks" not in request.body and "models" not in request.body


@pytest.mark.parametrize(
    ("value", "param", "problem"),
    [
        ("big", "", "must be an array of model names"),
        ({"a": 1}, "", "must be an array of model names"),
        ([""], "[0]", "must be 1 to 256 printable ASCII characters"),
        (["a", 1], "[1]", "must be a non-empty string, got an integer"),
        ([None], "[0]", "must be a non-empty string, got null"),
        (["a", "b\r\nX-Injected: 1"], "[1]", "must be 1 to 256 printable ASCII characters"),
    ],
)
@pytest.mark.parametrize("field", ["models", "fallbacks"])
def test_bad_fallback_lists(field: str, value: Any, param: str, problem: str) -> None:
    error = refused("chat", chat(**{field: value}))
    assert error.param == field + param
    assert error.message.startswith(f"{field}{param}: {problem}")


def test_no_fallbacks() -> None:
    request = check("chat", chat())
    assert request.fallbacks == []
    assert (request.model, request.stream, request.wants_usage) == ("fast", False, False)


@pytest.mark.parametrize(
    ("fields", "stream", "wants_usage"),
    [
        ({"stream": True}, True, False),
        ({"stream": True, "stream_options": {"include_usage": True}}, True, True),
        ({"stream": True, "stream_options": {"include_usage": False}}, True, False),
        ({"stream": True, "stream_options": {}}, True, False),
        ({"stream": False, "stream_options": {"include_usage": True}}, False, True),
    ],
)
def test_stream_and_usage_wishes(fields: dict[str, Any], stream: bool, wants_usage: bool) -> None:
    request = check("chat", chat(**fields))
    assert (request.stream, request.wants_usage) == (stream, wants_usage)


def test_unknown_fields_are_left_in_place() -> None:
    body = chat(
        some_future_param={"x": [1, 2]}, prediction={"type": "content", "content": "x"}, modalities=["text"]
    )
    request = check("chat", body)
    assert request.body["some_future_param"] == {"x": [1, 2]}
    assert request.body["prediction"] == {"type": "content", "content": "x"}
    assert request.body["modalities"] == ["text"]


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ([], None, "the request body must be a JSON object"),
        ({"messages": MESSAGES}, "model", "you must provide a model parameter (a non-empty string)"),
        ({"model": 4, "messages": MESSAGES}, "model", "model: must be a non-empty string, got an integer"),
        ({"model": "fast"}, "messages", "messages: is required"),
        ({"model": "fast", "messages": "hi"}, "messages", "messages: must be an array, got a string"),
        ({"model": "fast", "messages": []}, "messages", "messages: must contain at least one message"),
        (
            {"model": "fast", "messages": ["hi"]},
            "messages[0]",
            "messages[0]: must be an object, got a string",
        ),
        (
            {"model": "fast", "messages": [*MESSAGES, {"content": "x"}]},
            "messages[1].role",
            "messages[1].role: is required",
        ),
        (
            {"model": "fast", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
            "messages[0].role: must be one of assistant, developer, function, system, tool, user; "
            "got 'robot'",
        ),
        (
            {"model": "fast", "messages": [{"role": ["user"], "content": "x"}]},
            "messages[0].role",
            "messages[0].role: must be a string, got an array",
        ),
        (
            {"model": "fast", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
            "messages[0].content: must be a string or an array, got an integer",
        ),
        (
            {"model": "fast", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "messages[0].content[0].text",
            "messages[0].content[0].text: must be a string, got an integer",
        ),
        (
            {"model": "fast", "messages": MESSAGES, "stop": ["a", 1]},
            "stop[1]",
            "stop[1]: must be a string, got an integer",
        ),
    ],
)
def test_chat_body_shape(body: Any, param: str | None, message: str) -> None:
    error = refused("chat", body)
    assert (error.param, error.message) == (param, message)


@pytest.mark.parametrize("model", ["", "x" * 257, "a\r\nX-Injected: 1", "caf\u00e9", "tab\there"])
def test_model_names_are_checked(model: str) -> None:
    error = refused("chat", chat(model=model))
    assert error.param == "model"
    assert error.message.startswith("model: must be 1 to 256 printable ASCII characters")
    assert model not in error.message or not model


@pytest.mark.parametrize("model", ["x" * 256, "sim/sim-small;status=500", "org/model-v1.0:latest@2 +x"])
def test_model_names_accepted(model: str) -> None:
    assert check("chat", chat(model=model)).model == model


def test_message_roles_and_content_forms_accepted() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "video_url", "video": 1}]},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "function", "name": "f", "content": "x"},
    ]
    assert check("chat", {"model": "m", "messages": messages}).body["messages"] == messages


# --- completions and embeddings ------------------------------------------------------------------


def test_completions_prompt_is_checked() -> None:
    error = refused("completions", {"model": "m", "prompt": 5})
    assert (error.param, error.message) == ("prompt", "prompt: must be a string or an array, got an integer")
    error = refused("completions", {"model": "m", "prompt": [{"a": 1}]})
    assert (error.param, error.message) == (
        "prompt[0]",
        "prompt[0]: must be a string or an integer or an array, got an object",
    )
    assert check("completions", {"model": "m", "prompt": None}).model == "m"  # nullable in the reference


def test_completions_parameters() -> None:
    assert (
        check("completions", {"model": "m", "prompt": ["a", "b"], "logprobs": 5, "echo": True}).model == "m"
    )
    assert refused("completions", {"model": "m", "prompt": "a", "logprobs": 6}).param == "logprobs"
    assert refused("completions", {"model": "m", "prompt": "a", "logprobs": True}).param == "logprobs"
    assert refused("completions", {"model": "m", "prompt": "a", "suffix": 1}).param == "suffix"
    edges = {"max_tokens": 0, "best_of": 0, "n": 1, "logprobs": None, "stop": []}
    assert check("completions", {"model": "m", "prompt": "a", **edges}).body["best_of"] == 0


@pytest.mark.parametrize(
    ("value", "param", "message"),
    [
        (None, "input", "input: is required"),
        ([], "input", "input: an array must hold 1 to 2048 items, got 0"),
        (5, "input", "input: must be a string or an array, got an integer"),
        (["x"] * 2049, "input", "input: an array must hold 1 to 2048 items, got 2049"),
        (
            ["x", {"text": "y"}],
            "input[1]",
            "input[1]: must be a string or an integer or an array, got an object",
        ),
        (["x", None], "input[1]", "input[1]: must be a string or an integer or an array, got null"),
        ([[1, "2"]], "input[0][1]", "input[0][1]: must be an integer, got a string"),
    ],
)
def test_embeddings_input_rules(value: Any, param: str, message: str) -> None:
    body = {"model": "e"} if value is None else {"model": "e", "input": value}
    error = refused("embeddings", body)
    assert (error.param, error.message) == (param, message)


@pytest.mark.parametrize("value", ["one", ["x"] * 2048, [[1, 2, 3]], [1, 2, 3]])
def test_embeddings_inputs_accepted(value: Any) -> None:
    assert check("embeddings", {"model": "e", "input": value}).body["input"] == value


def test_embeddings_parameters() -> None:
    assert refused("embeddings", {"model": "e", "input": "x", "dimensions": 1.5}).param == "dimensions"
    assert refused("embeddings", {"model": "e", "input": "x", "dimensions": True}).param == "dimensions"
    assert (
        refused("embeddings", {"model": "e", "input": "x", "encoding_format": 1}).param == "encoding_format"
    )
    # chat-only parameters are not checked (nor refused) on embeddings
    assert (
        check("embeddings", {"model": "e", "input": "x", "temperature": "hot"}).body["temperature"] == "hot"
    )
