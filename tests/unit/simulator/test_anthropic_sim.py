"""The simulated Anthropic Messages API, driven by the official ``anthropic`` SDK and raw aiohttp."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import pytest
import pytest_asyncio

from switchgear.simulator.server import SimulatorThread

KEY = "sk-ant-sim-test"
QUESTION = "What is the capital of France?"
ECHO = "Hello! You said: What is the capital of France?"
USER: list[Any] = [{"role": "user", "content": QUESTION}]
WEATHER = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}
TIME = {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sim"
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def claude_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as thread:
        yield thread


@pytest.fixture(scope="module")
def sdk(claude_sim: SimulatorThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=claude_sim.base_url, api_key=KEY, max_retries=0) as sdk_client:
        yield sdk_client


@pytest.fixture
def client(claude_sim: SimulatorThread, sdk: anthropic.Anthropic) -> anthropic.Anthropic:
    claude_sim.clear()
    return sdk


@pytest_asyncio.fixture
async def http(claude_sim: SimulatorThread) -> AsyncIterator[aiohttp.ClientSession]:
    claude_sim.clear()
    async with aiohttp.ClientSession(base_url=claude_sim.base_url, headers=HEADERS) as session:
        yield session


def body(model: str = "claude-sim", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 256, "messages": USER, **extra}


async def sse(response: aiohttp.ClientResponse) -> list[tuple[str, dict[str, Any]]]:
    """(event name, parsed data) of every event of an Anthropic SSE response."""
    raw = (await response.read()).decode()
    events = []
    for block in raw.split("\n\n"):
        if block.strip():
            name, data = block.split("\n")
            assert name.startswith("event: ") and data.startswith("data: ")
            events.append((name[len("event: ") :], json.loads(data[len("data: ") :])))
    return events


def without_id(message: anthropic.types.Message) -> dict[str, Any]:
    dumped = message.model_dump()
    assert dumped.pop("id").startswith("msg_")
    return dumped


# --- plain messages -----------------------------------------------------------------------------


def test_plain_message(client: anthropic.Anthropic, claude_sim: SimulatorThread) -> None:
    raw = client.messages.with_raw_response.create(model="claude-sim", max_tokens=256, messages=USER)
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant" and message.model == "claude-sim"
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", ECHO)]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (6 + 3, 9)
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
    assert raw.headers["request-id"] == raw.headers["x-request-id"]
    record = claude_sim.last()
    assert record.path == "/v1/messages"
    assert record.headers["authorization"] == f"Bearer {KEY}"
    assert record.headers["anthropic-version"] == anthropic._constants.ANTHROPIC_API_VERSION


async def test_x_api_key_and_beta_headers_are_recorded(
    http: aiohttp.ClientSession, claude_sim: SimulatorThread
) -> None:
    beta = {"anthropic-beta": "prompt-caching-2024-07-31,output-128k-2025-02-19"}
    async with http.post("/v1/messages", json=body(), headers=beta) as response:
        assert response.status == 200
        assert response.headers["request-id"].startswith("req_")
        document = await response.json()
    assert list(document) == [
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "usage",
    ]
    record = claude_sim.last()
    assert record.headers["x-api-key"] == KEY
    assert record.headers["anthropic-beta"] == beta["anthropic-beta"]


def test_system_blocks_images_and_merged_turns_are_accepted(client: anthropic.Anthropic) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    url_image = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    messages: list[Any] = [
        {"role": "user", "content": [{"type": "text", "text": "Look"}, image]},
        {"role": "user", "content": [url_image, {"type": "text", "text": "and this"}]},
    ]
    system: list[Any] = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    message = client.messages.create(model="claude-sim", max_tokens=64, system=system, messages=messages)
    assert message.content[0].type == "text" and message.content[0].text == "Hello! You said: Look and this"
    # 2 system words + one merged turn: 3 words, two images of 100, 3 overhead per message sent
    assert message.usage.input_tokens == 2 + 3 + 200 + 6


# --- streaming ----------------------------------------------------------------------------------

STREAM_CASES = {
    "plain": {},
    "chunks": {"model": "claude-sim;chunks=2"},
    "max_tokens": {"max_tokens": 4},
    "stop_sequence": {"stop_sequences": ["capital", "said"]},
    "thinking": {"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}},
    "adaptive_thinking_tools": {"thinking": {"type": "adaptive"}, "tools": [WEATHER, TIME]},
    "tool_choice": {"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "get_weather"}},
    "parallel_tools": {"model": "claude-sim;tool_calls=get_weather,get_time", "tools": [WEATHER, TIME]},
    "usage_overrides": {"model": "claude-sim;cache_read=1800;cache_write=20;prompt_tokens=7"},
}


@pytest.mark.parametrize("case", STREAM_CASES.values(), ids=STREAM_CASES.keys())
def test_stream_reassembles_to_the_non_streamed_message(
    client: anthropic.Anthropic, case: dict[str, Any]
) -> None:
    kwargs: dict[str, Any] = {"model": "claude-sim", "max_tokens": 256, "messages": USER} | case
    whole = client.messages.create(**kwargs)
    with client.messages.stream(**kwargs) as stream:
        streamed = stream.get_final_message()
    assert without_id(streamed) == without_id(whole)
    events = list(client.messages.create(**kwargs, stream=True))
    assert events[0].type == "message_start" and events[-1].type == "message_stop"


async def test_stream_event_sequence(http: aiohttp.ClientSession) -> None:
    request = body("claude-sim;chunks=2", stream=True, tools=[WEATHER], max_tokens=2048)
    request |= {"thinking": {"type": "enabled", "budget_tokens": 1024}, "tool_choice": {"type": "auto"}}
    headers = {"x-sim-tool-calls": "get_weather"}
    async with http.post("/v1/messages", json=request, headers=headers) as response:
        assert response.headers["content-type"] == "text/event-stream"
        events = await sse(response)
    assert all(data["type"] == name for name, data in events)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start", "ping", "content_block_delta", "content_block_delta",
        "content_block_delta", "content_block_stop",
        "ping",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]  # fmt: skip
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["stop_sequence"] is None
    assert start["usage"]["input_tokens"] == 9 + 4 and start["usage"]["output_tokens"] == 1
    assert events[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert [e[1]["delta"]["type"] for e in events[3:6]] == ["thinking_delta"] * 2 + ["signature_delta"]
    opener = events[8][1]["content_block"]
    assert opener["type"] == "tool_use" and opener["input"] == {} and opener["id"].startswith("toolu_")
    partial = "".join(e[1]["delta"]["partial_json"] for e in events[9:11])
    assert json.loads(partial) == {"city": "sample city", "unit": "c"}
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert delta["usage"] == {"output_tokens": 18 + 3, "output_tokens_details": {"thinking_tokens": 18}}


async def test_stream_transcript_matches_golden(http: aiohttp.ClientSession) -> None:
    request = body("claude-sim;chunks=3", stream=True, stop_sequences=["France"])
    async with http.post("/v1/messages", json=request) as response:
        raw = (await response.read()).decode()
    message_id = json.loads(raw.split("\n")[1][len("data: ") :])["message"]["id"]
    golden = (FIXTURES / "anthropic_stream.sse").read_text()
    assert raw.replace(message_id, "msg_ID") == golden


# --- answers: thinking, tools, limits, usage ----------------------------------------------------


def test_thinking_blocks(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-sim",
        max_tokens=2048,
        messages=USER,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    thinking, answer = message.content
    assert thinking.type == "thinking" and answer.type == "text"
    assert thinking.thinking == f'The user wrote "{QUESTION}", so I will repeat the message back to them.'
    assert base64.b64decode(thinking.signature) and answer.text == ECHO
    assert message.usage.output_tokens == 18 + 9
    assert message.usage.output_tokens_details is not None
    assert message.usage.output_tokens_details.thinking_tokens == 18
    omitted = client.messages.create(
        model="claude-sim",
        max_tokens=2048,
        messages=USER,
        thinking={"type": "adaptive", "display": "omitted"},
    )
    assert omitted.content[0].type == "thinking" and omitted.content[0].thinking == ""
    assert omitted.content[0].signature == thinking.signature
    history: list[Any] = [*USER, {"role": "assistant", "content": message.to_param()["content"]}]
    history.append({"role": "user", "content": "Thanks"})
    again = client.messages.create(model="claude-sim", max_tokens=64, messages=history)
    assert again.content[0].type == "text" and again.content[0].text == "Hello! You said: Thanks"


def test_thinking_must_round_trip_through_a_tool_loop(client: anthropic.Anthropic) -> None:
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    first = client.messages.create(
        model="claude-sim;tool_calls=get_weather",
        max_tokens=2048,
        messages=USER,
        tools=[WEATHER],
        thinking=thinking,
    )
    assert [b.type for b in first.content] == ["thinking", "tool_use"] and first.stop_reason == "tool_use"
    blocks = first.to_param()["content"]
    assert isinstance(blocks, list)
    call = first.content[1]
    assert call.type == "tool_use"
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C"}]}
    kept: list[Any] = [*USER, {"role": "assistant", "content": blocks}, result]
    reply = client.messages.create(
        model="claude-sim", max_tokens=2048, messages=kept, tools=[WEATHER], thinking=thinking
    )
    assert reply.content[-1].type == "text" and reply.content[-1].text == "Hello! You said: 18 C"
    dropped: list[Any] = [*USER, {"role": "assistant", "content": blocks[1:]}, result]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="claude-sim", max_tokens=2048, messages=dropped, tools=[WEATHER], thinking=thinking
        )
    assert "Expected `thinking` or `redacted_thinking`, but found `tool_use`" in caught.value.message
    assert client.messages.create(model="claude-sim", max_tokens=64, messages=dropped, tools=[WEATHER])
    altered_block = dict(blocks[0]) | {"thinking": "I changed my mind."}
    altered: list[Any] = [*USER, {"role": "assistant", "content": [altered_block, blocks[1]]}, result]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="claude-sim", max_tokens=2048, messages=altered, tools=[WEATHER], thinking=thinking
        )
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in caught.value.message


def test_tool_use_and_tool_result_round_trip(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-sim", max_tokens=256, messages=USER, tools=[WEATHER], tool_choice={"type": "any"}
    )
    assert message.stop_reason == "tool_use"
    (call,) = message.content
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input == {"city": "sample city", "unit": "c"}
    history: list[Any] = [*USER, {"role": "assistant", "content": message.to_param()["content"]}]
    result = {"type": "tool_result", "tool_use_id": call.id, "content": [{"type": "text", "text": "18 C"}]}
    history.append({"role": "user", "content": [result]})
    reply = client.messages.create(model="claude-sim", max_tokens=256, messages=history, tools=[WEATHER])
    assert reply.content[0].type == "text" and reply.content[0].text == "Hello! You said: 18 C"
    assert reply.stop_reason == "end_turn"


def test_parallel_and_disabled_parallel_tool_use(client: anthropic.Anthropic) -> None:
    model = "claude-sim;tool_calls=get_weather,get_time"
    both = client.messages.create(model=model, max_tokens=256, messages=USER, tools=[WEATHER, TIME])
    assert [b.name for b in both.content if b.type == "tool_use"] == ["get_weather", "get_time"]
    assert len({b.id for b in both.content if b.type == "tool_use"}) == 2
    one = client.messages.create(
        model=model,
        max_tokens=256,
        messages=USER,
        tools=[WEATHER, TIME],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
    )
    assert [b.name for b in one.content if b.type == "tool_use"] == ["get_weather"]
    plain = client.messages.create(model="claude-sim", max_tokens=256, messages=USER, tools=[WEATHER])
    assert plain.stop_reason == "end_turn"


def test_max_tokens_stop_sequences_and_overrides(client: anthropic.Anthropic) -> None:
    cut = client.messages.create(model="claude-sim", max_tokens=3, messages=USER)
    assert cut.content[0].type == "text" and cut.content[0].text == "Hello! You said:"
    assert (cut.stop_reason, cut.usage.output_tokens) == ("max_tokens", 3)
    stopped = client.messages.create(
        model="claude-sim", max_tokens=256, messages=USER, stop_sequences=["France", "capital"]
    )
    assert stopped.content[0].type == "text" and stopped.content[0].text == "Hello! You said: What is the "
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "capital")
    model = (
        "claude-sim;cache_read=1800;cache_write=20;prompt_tokens=7;completion_tokens=99;finish_reason=refusal"
    )
    scripted = client.messages.create(model=model, max_tokens=256, messages=USER)
    usage = scripted.usage
    assert (usage.input_tokens, usage.output_tokens) == (7, 99)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (1800, 20)
    assert scripted.stop_reason == "refusal"
    content = "one; two"
    fixed = client.messages.create(model="claude-sim;content=one%3B two", max_tokens=256, messages=USER)
    assert fixed.content[0].type == "text" and fixed.content[0].text == content


def test_output_config_json_schema(client: anthropic.Anthropic) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "n": {"type": "integer"}}}
    message = client.messages.create(
        model="claude-sim",
        max_tokens=256,
        messages=USER,
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    assert message.content[0].type == "text"
    assert json.loads(message.content[0].text) == {"city": "sample city", "n": 1}


async def test_usage_none(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/messages", json=body("claude-sim;usage=none")) as response:
        assert "usage" not in await response.json()
    async with http.post("/v1/messages", json=body("claude-sim;usage=none", stream=True)) as response:
        events = await sse(response)
    assert "usage" not in events[0][1]["message"] and "usage" not in events[-2][1]


# --- count_tokens -------------------------------------------------------------------------------


def test_count_tokens_matches_usage(client: anthropic.Anthropic) -> None:
    request: dict[str, Any] = {
        "model": "claude-sim",
        "system": "You are terse.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        "tools": [WEATHER],
    }
    counted = client.messages.count_tokens(**request)
    message = client.messages.create(max_tokens=64, **request)
    assert counted.input_tokens == message.usage.input_tokens == 3 + 9 + 4
    scripted = client.messages.count_tokens(**(request | {"model": "claude-sim;prompt_tokens=5"}))
    assert scripted.input_tokens == 5


async def test_count_tokens_rejects_max_tokens(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/messages/count_tokens", json=body()) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error == {"type": "invalid_request_error", "message": "max_tokens: Extra inputs are not permitted"}


# --- errors -------------------------------------------------------------------------------------

ERRORS = [
    (400, anthropic.BadRequestError, "invalid_request_error"),
    (401, anthropic.AuthenticationError, "authentication_error"),
    (403, anthropic.PermissionDeniedError, "permission_error"),
    (404, anthropic.NotFoundError, "not_found_error"),
    (413, anthropic.ContentTooLargeError, "request_too_large"),
    (429, anthropic.RateLimitError, "rate_limit_error"),
    (500, anthropic.InternalServerError, "api_error"),
    (529, anthropic.OverloadedError, "overloaded_error"),
]


@pytest.mark.parametrize(("status", "kind", "error_type"), ERRORS, ids=[str(e[0]) for e in ERRORS])
def test_scripted_errors_are_anthropic_shaped(
    client: anthropic.Anthropic, status: int, kind: type[anthropic.APIStatusError], error_type: str
) -> None:
    with pytest.raises(kind) as caught:
        client.messages.create(model=f"claude-sim;status={status};retry_after=2", max_tokens=8, messages=USER)
    error = caught.value
    assert error.status_code == status
    assert error.response.headers["retry-after"] == "2"
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error" and error.body["error"]["type"] == error_type
    assert error.body["request_id"] == error.response.headers["request-id"]


def test_error_details_and_fail_times(client: anthropic.Anthropic) -> None:
    model = "claude-sim;status=400;error_code=context_length_exceeded;error_message=prompt is too long"
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=model, max_tokens=8, messages=USER)
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long",
            "details": {"error_code": "context_length_exceeded"},
        },
        "request_id": caught.value.response.headers["request-id"],
    }
    flaky = "claude-sim;status=529;fail_times=1;fail_key=anthropic-flaky"
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=flaky, max_tokens=8, messages=USER)
    assert client.messages.create(model=flaky, max_tokens=64, messages=USER).stop_reason == "end_turn"


def test_error_after_sends_an_error_event_mid_stream(client: anthropic.Anthropic) -> None:
    model = "claude-sim;status=529;error_after=3;fail_times=1;fail_key=anthropic-midway"
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        for event in client.messages.create(model=model, max_tokens=64, messages=USER, stream=True):
            seen.append(event.type)
    assert seen == ["message_start", "content_block_start"]  # the third event was a ping
    assert caught.value.status_code == 200
    assert isinstance(caught.value.body, dict) and caught.value.body["error"]["type"] == "overloaded_error"
    events = list(client.messages.create(model=model, max_tokens=64, messages=USER, stream=True))
    assert events[-1].type == "message_stop"


async def test_missing_headers_and_max_tokens(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/messages", json=body(), headers={"x-api-key": ""}) as response:
        assert response.status == 401
        assert (await response.json())["error"]["type"] == "authentication_error"
    async with http.post("/v1/messages", json=body(), headers={"anthropic-version": ""}) as response:
        assert response.status == 400
        assert (await response.json())["error"]["message"] == "anthropic-version: header is required"
    request = body()
    del request["max_tokens"]
    async with http.post("/v1/messages", json=request) as response:
        assert response.status == 400
        document = await response.json()
    assert document["type"] == "error" and document["request_id"] == response.headers["request-id"]
    assert document["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}


def user(*blocks: Any) -> list[Any]:
    return [{"role": "user", "content": list(blocks)}]


TOOL_TURN: list[Any] = [
    *USER,
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
]
INVALID = {
    "extra field": (body(n=2), "n: Extra inputs are not permitted"),
    "bad role": (body(messages=[{"role": "system", "content": "x"}]), "messages.0.role: Input should be"),
    "empty content": (body(messages=[{"role": "user", "content": ""}]), "messages.0: all messages must have"),
    "empty text": (body(messages=user({"type": "text", "text": ""})), "text content blocks must be non-"),
    "data url": (
        body(messages=user({"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                        "data": f"data:image/png;base64,{PNG}"}})),
        "messages.0.content.0.image.source.base64.data: invalid base64 data",
    ),
    "wrong media type": (
        body(messages=user({"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                                        "data": PNG}})),
        "specified using the image/jpeg media type, but the image appears to be a image/png image",
    ),
    "tool_use from user": (
        body(messages=user({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}})),
        "messages.0.content.0: `tool_use` blocks can only be in `assistant` messages",
    ),
    "unanswered tool_use": (
        body(messages=[*TOOL_TURN, {"role": "user", "content": "next"}]),
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
    ),
    "orphan tool_result": (
        body(messages=user({"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"})),
        "unexpected `tool_use_id` found in `tool_result` blocks: toolu_9",
    ),
    "bad tool_use id": (
        body(messages=[*USER, {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call 1", "name": "f", "input": {}}]}]),
        "messages.1.content.0.tool_use.id: String should match pattern",
    ),
    "unknown block": (body(messages=user({"type": "image_url", "url": "x"})), "Input tag 'image_url'"),
    "tool name": (body(tools=[{"name": "a b", "input_schema": {"type": "object"}}]), "tools.0.custom.name"),
    "choice without tools": (body(tool_choice={"type": "any"}), "tool_choice may only be specified"),
    "small budget": (body(thinking={"type": "enabled", "budget_tokens": 10}), "greater than or equal to"),
    "budget over max": (
        body(thinking={"type": "enabled", "budget_tokens": 1024}),
        "`max_tokens` must be greater than `thinking.budget_tokens`",
    ),
    "thinking forced tool": (
        body(tools=[WEATHER], tool_choice={"type": "any"}, thinking={"type": "adaptive"}),
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    "temperature": (body(temperature=1.5), "temperature: Input should be between 0 and 1"),
    "script typo": (body("claude-sim;stal_after=1"), "Unknown simulator parameter 'stal_after'"),
}  # fmt: skip


@pytest.mark.parametrize(("request_body", "message"), INVALID.values(), ids=INVALID.keys())
async def test_invalid_requests(
    http: aiohttp.ClientSession, request_body: dict[str, Any], message: str
) -> None:
    async with http.post("/v1/messages", json=request_body) as response:
        assert response.status == 400
        document = await response.json()
    assert document["error"]["type"] == "invalid_request_error"
    assert message in document["error"]["message"]


async def test_sampling_and_tool_history_are_accepted(http: aiohttp.ClientSession) -> None:
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "is_error": True,
        "content": [
            {"type": "text", "text": "boom"},
            {"type": "image", "source": {"type": "url", "url": "https://x"}},
        ],
    }
    history = [*TOOL_TURN, {"role": "user", "content": [result, {"type": "text", "text": "retry"}]}]
    request = body(messages=history, temperature=0.2, top_p=0.9, top_k=5, metadata={"user_id": "u-1"})
    async with http.post("/v1/messages", json=request) as response:
        assert response.status == 200
        document = await response.json()
    assert document["content"] == [{"type": "text", "text": "Hello! You said: boom retry"}]


# --- misbehaviour on events ---------------------------------------------------------------------


async def test_malformed_disconnect_and_stall_count_events(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/messages", json=body("claude-sim;malformed_after=1", stream=True)) as response:
        raw = (await response.read()).decode()
    blocks = raw.split("\n\n")
    assert blocks[0].startswith("event: message_start")
    assert blocks[1] == "event: content_block_delta\ndata: {not json"
    assert blocks[2].startswith("event: content_block_start")
    async with http.post("/v1/messages", json=body("claude-sim;disconnect_after=2", stream=True)) as response:
        received = b""
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in response.content.iter_any():
                received += chunk
    assert received.decode().count("event: ") == 2
    async with http.post("/v1/messages", json=body("claude-sim;stall_after=2", stream=True)) as response:
        first = await response.content.readuntil(b"\n\n")
        second = await response.content.readuntil(b"\n\n")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(response.content.readuntil(b"\n\n"), 0.3)
    assert first.startswith(b"event: message_start") and second.startswith(b"event: content_block_start")
