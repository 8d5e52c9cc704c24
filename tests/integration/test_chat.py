"""Chat completions through the gateway with the official OpenAI SDK, sync and async."""

from __future__ import annotations

import json

import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell me about gateways"}]


def test_non_streaming_reaches_upstream_and_returns_its_answer(
    client: openai.OpenAI, sim: SimulatorThread, gateway: GatewayThread
) -> None:
    sim.clear()
    raw = client.chat.completions.with_raw_response.create(
        model="fast",
        messages=MESSAGES,
        temperature=0.2,
        user="u-1",
        metadata={"team": "a"},
        extra_body={"some_future_param": {"x": 1}},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello! You said: Tell me about gateways"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert raw.headers["x-switchgear-provider"] == "sim"
    assert raw.headers["x-switchgear-model"] == "sim-small"
    assert float(raw.headers["x-switchgear-overhead-ms"]) >= 0
    assert raw.headers["x-request-id"].startswith("req_")
    sent = sim.last()
    assert sent.path == "/v1/chat/completions"
    assert sent.json["model"] == "sim-small"
    assert sent.json["messages"] == MESSAGES
    assert sent.json["temperature"] == 0.2
    assert sent.json["user"] == "u-1"
    assert sent.json["metadata"] == {"team": "a"}
    assert sent.json["some_future_param"] == {"x": 1}  # unknown parameters pass through
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"  # never the client's key
    assert "sk-client" not in json.dumps(sent.headers)


def test_streaming_reassembles_to_the_non_streamed_answer(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    whole = client.chat.completions.create(model="fast", messages=MESSAGES)
    sim.clear()
    chunks = list(client.chat.completions.create(model="fast", messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    # The gateway asked for usage on the client's behalf, then hid the extra chunk.
    assert sim.last().json["stream_options"] == {"include_usage": True}
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_streaming_usage_is_captured_even_when_the_client_did_not_ask(
    client: openai.OpenAI, gateway: GatewayThread
) -> None:
    before = len(gateway.settled)
    list(client.chat.completions.create(model="fast", messages=MESSAGES, stream=True))
    record = gateway.wait_settled(before + 1)[-1]
    assert record.stream and record.usage is not None and record.usage.reported
    assert record.usage.completion_tokens > 0 and record.usage.prompt_tokens > 0


def test_streaming_include_usage_passes_the_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="fast", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


async def test_async_client_streaming_and_not(aclient: openai.AsyncOpenAI) -> None:
    whole = await aclient.chat.completions.create(model="fast", messages=MESSAGES)
    stream = await aclient.chat.completions.create(model="fast", messages=MESSAGES, stream=True)
    text = ""
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    assert text == whole.choices[0].message.content


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
        },
    },
]


def test_tool_calls_round_trip(client: openai.OpenAI, sim: SimulatorThread) -> None:
    model = "sim/sim-small;tool_calls=get_weather"
    first = client.chat.completions.create(model=model, messages=MESSAGES, tools=TOOLS, tool_choice="auto")
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    assert sim.last().json["tools"] == TOOLS and sim.last().json["tool_choice"] == "auto"
    history = [
        *MESSAGES,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
    ]
    final = client.chat.completions.create(model="fast", messages=history, tools=TOOLS)
    assert final.choices[0].finish_reason == "stop"
    assert sim.last().json["messages"][-1] == {
        "role": "tool",
        "tool_call_id": call.id,
        "content": "sunny, 21C",
    }


def test_parallel_tool_calls_stream(client: openai.OpenAI) -> None:
    model = "sim/sim-small;tool_calls=get_weather,get_time"
    whole = client.chat.completions.create(
        model=model, messages=MESSAGES, tools=TOOLS, parallel_tool_calls=True
    )
    calls: dict[int, dict[str, str]] = {}
    for chunk in client.chat.completions.create(model=model, messages=MESSAGES, tools=TOOLS, stream=True):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function.name or "") if delta.function else ""
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
    expected = whole.choices[0].message.tool_calls
    assert [c["name"] for c in calls.values()] == [c.function.name for c in expected]
    assert [c["arguments"] for c in calls.values()] == [c.function.arguments for c in expected]


def test_image_parts_and_json_schema_pass_through(client: openai.OpenAI, sim: SimulatorThread) -> None:
    content = [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    schema = {
        "type": "object",
        "properties": {"animal": {"type": "string"}},
        "required": ["animal"],
        "additionalProperties": False,
    }
    answer = client.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": content}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "pet", "schema": schema, "strict": True},
        },
    )
    assert "animal" in json.loads(answer.choices[0].message.content or "")
    sent = sim.last().json
    assert sent["messages"][0]["content"] == content
    assert sent["response_format"]["json_schema"]["schema"] == schema


def test_sampling_parameters_pass_through(client: openai.OpenAI, sim: SimulatorThread) -> None:
    answer = client.chat.completions.create(
        model="fast",
        messages=MESSAGES,
        n=2,
        seed=7,
        stop=["gateways"],
        logprobs=True,
        top_logprobs=2,
        max_completion_tokens=50,
    )
    assert len(answer.choices) == 2
    assert answer.choices[0].logprobs is not None
    assert answer.system_fingerprint
    sent = sim.last().json
    assert (sent["n"], sent["seed"], sent["stop"], sent["logprobs"], sent["top_logprobs"]) == (
        2,
        7,
        ["gateways"],
        True,
        2,
    )
    assert sent["max_completion_tokens"] == 50


def test_vendor_quirks_applied(client: openai.OpenAI, sim: SimulatorThread) -> None:
    client.chat.completions.create(
        model="mistral-like/m", messages=MESSAGES, max_completion_tokens=9, user="x"
    )
    sent = sim.last()
    assert (
        sent.json["max_tokens"] == 9 and "max_completion_tokens" not in sent.json
    )  # mistral knows max_tokens
    assert "user" not in sent.json
    client.chat.completions.create(model="local/llama3", messages=MESSAGES)
    assert "authorization" not in sim.last().headers  # a local server has no key


def test_azure_deployment_urls(client: openai.OpenAI, sim: SimulatorThread) -> None:
    answer = client.chat.completions.create(model="azure-like/my-gpt4o", messages=MESSAGES)
    assert answer.choices[0].message.content
    sent = sim.last()
    assert sent.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert "api-version=2024-10-21" in sent.query
    assert sent.headers["api-key"] == UPSTREAM_KEY and "authorization" not in sent.headers


def test_routes_without_v1_prefix_and_client_request_id(gateway: GatewayThread) -> None:
    with openai.OpenAI(base_url=gateway.url, api_key="k", max_retries=0) as plain:
        raw = plain.chat.completions.with_raw_response.create(
            model="fast", messages=MESSAGES, extra_headers={"x-request-id": "trace-123"}
        )
    assert raw.headers["x-request-id"] == "trace-123"
    assert raw.parse().choices[0].message.content


@pytest.mark.parametrize("model", ["fast", "sim/sim-small"])
def test_legacy_completions(client: openai.OpenAI, model: str) -> None:
    whole = client.completions.create(model=model, prompt="Say hi", max_tokens=20)
    assert whole.choices[0].text
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(model=model, prompt="Say hi", max_tokens=20, stream=True)
        if c.choices
    )
    assert streamed == whole.choices[0].text
