"""The simulated Cohere v2 chat API, driven by the official ``cohere`` SDK (if installed) and aiohttp."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from switchgear.core.types import Finish, StreamStart
from switchgear.simulator.server import SimulatorThread

KEY = "co-sim-test"
QUESTION = "What is the capital of France?"
ECHO = "Hello! You said: What is the capital of France?"
THOUGHT = f'The user wrote "{QUESTION}", so I will repeat the message back to them.'
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def cohere_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as thread:
        yield thread


@pytest_asyncio.fixture()
async def http(cohere_sim: SimulatorThread) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cohere_sim.base_url, headers={"authorization": f"Bearer {KEY}"}) as s:
        yield s


def ask(text: str = QUESTION, **fields: Any) -> dict[str, Any]:
    return {"model": "command-sim", "messages": [{"role": "user", "content": text}], **fields}


def events(body: bytes) -> list[dict[str, Any]]:
    out = []
    for block in body.decode().split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def reassemble(stream: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-streamed answer a client rebuilds from the events (id, content, plan, calls, finish, usage)."""
    answer: dict[str, Any] = {"message": {"role": "assistant"}}
    content: list[dict[str, Any]] = []
    for event in stream:
        delta = event.get("delta", {})
        message = delta.get("message", {})
        match event["type"]:
            case "message-start":
                answer["id"] = event["id"]
            case "content-start":
                content.append(dict(message["content"]))
            case "content-delta":
                for key, value in message["content"].items():
                    content[event["index"]][key] += value
            case "tool-plan-delta":
                answer["message"]["tool_plan"] = answer["message"].get("tool_plan", "") + message["tool_plan"]
            case "tool-call-start":
                answer["message"].setdefault("tool_calls", []).append(message["tool_calls"])
            case "tool-call-delta":
                answer["message"]["tool_calls"][-1]["function"]["arguments"] += message["tool_calls"][
                    "function"
                ]["arguments"]
            case "message-end":
                answer["finish_reason"] = delta["finish_reason"]
                answer["usage"] = delta["usage"]
    if content:
        answer["message"]["content"] = content
    return answer


async def both(
    http: aiohttp.ClientSession, body: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with http.post("/v2/chat", json=body) as response:
        assert response.status == 200, await response.text()
        whole = await response.json()
    async with http.post("/v2/chat", json=body | {"stream": True}) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        stream = events(await response.read())
    return whole, stream


async def test_text_answer_and_stream_agree(http: aiohttp.ClientSession) -> None:
    whole, stream = await both(http, ask(max_tokens=100))
    assert whole["message"] == {"role": "assistant", "content": [{"type": "text", "text": ECHO}]}
    assert whole["finish_reason"] == "COMPLETE"
    assert whole["usage"] == {
        "billed_units": {"input_tokens": 6, "output_tokens": 9},
        "tokens": {"input_tokens": 6, "output_tokens": 9},
    }
    assert [e["type"] for e in stream][:3] == ["message-start", "content-start", "content-delta"]
    assert reassemble(stream) | {"id": whole["id"]} == whole


async def test_thinking_tools_and_json(http: aiohttp.ClientSession) -> None:
    whole, stream = await both(http, ask(thinking={"type": "enabled", "token_budget": 1000}))
    assert whole["message"]["content"][0] == {"type": "thinking", "thinking": THOUGHT}
    assert reassemble(stream) | {"id": whole["id"]} == whole
    whole, stream = await both(http, ask(tools=[WEATHER], tool_choice="REQUIRED"))
    assert whole["finish_reason"] == "TOOL_CALL"
    assert whole["message"]["tool_plan"] == "I will call get_weather."
    (call,) = whole["message"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"sample city","unit":"c"}'}
    assert reassemble(stream) | {"id": whole["id"]} == whole
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    whole, _ = await both(http, ask(response_format={"type": "json_object", "json_schema": schema}))
    assert whole["message"]["content"] == [{"type": "text", "text": '{"name":"sample name"}'}]


async def test_stop_max_tokens_and_script(http: aiohttp.ClientSession) -> None:
    whole, _ = await both(http, ask(stop_sequences=["capital"]))
    assert (whole["message"]["content"][0]["text"], whole["finish_reason"]) == (
        "Hello! You said: What is the ",
        "STOP_SEQUENCE",
    )
    whole, _ = await both(http, ask(max_tokens=2))
    assert (whole["message"]["content"][0]["text"], whole["finish_reason"]) == ("Hello! You", "MAX_TOKENS")
    body = ask() | {"model": "command-sim;tool_calls=get_weather;prompt_tokens=50;cache_read=40"}
    whole, _ = await both(http, body | {"tools": [WEATHER]})
    assert whole["finish_reason"] == "TOOL_CALL"
    assert whole["usage"]["tokens"]["input_tokens"] == 50 and whole["usage"]["cached_tokens"] == 40


async def test_errors(http: aiohttp.ClientSession, cohere_sim: SimulatorThread) -> None:
    async with http.post("/v2/chat", json=ask() | {"model": "command-sim;status=429;retry_after=3"}) as r:
        assert (r.status, r.headers["retry-after"]) == (429, "3")
        assert set(await r.json()) == {"id", "message"}
    async with http.post("/v2/chat", json=ask() | {"bogus": 1}) as r:
        assert r.status == 400 and "unknown field 'bogus'" in (await r.json())["message"]
    history = ask()["messages"] + [{"role": "tool", "tool_call_id": "nope", "content": "x"}]
    async with http.post("/v2/chat", json=ask() | {"messages": history}) as r:
        assert r.status == 400 and "tool_call_id" in (await r.json())["message"]
    async with (
        aiohttp.ClientSession(cohere_sim.base_url) as anonymous,
        anonymous.post("/v2/chat", json=ask()) as r,
    ):
        assert r.status == 401 and (await r.json())["message"] == "no api key supplied"
    body = ask(stream=True) | {"model": "command-sim;status=500;error_after=2;error_message=boom"}
    async with http.post("/v2/chat", json=body) as r:
        stream = events(await r.read())
    assert len(stream) == 3 and stream[-1]["delta"] == {"finish_reason": "ERROR", "error": "boom"}


def test_official_sdk_chat_and_stream(cohere_sim: SimulatorThread) -> None:
    cohere = pytest.importorskip("cohere")
    client = cohere.ClientV2(api_key=KEY, base_url=cohere_sim.base_url)
    messages = [{"role": "user", "content": QUESTION}]
    response = client.chat(model="command-sim", messages=messages)
    assert response.finish_reason == "COMPLETE"
    assert response.message.content[0].text == ECHO
    assert response.usage.tokens.output_tokens == 9
    texts = []
    finish = None
    for event in client.chat_stream(model="command-sim", messages=messages):
        if event.type == "content-delta":
            texts.append(event.delta.message.content.text)
        elif event.type == "message-end":
            finish = event.delta.finish_reason
    assert ("".join(texts), finish) == (ECHO, "COMPLETE")
    tools = client.chat(model="command-sim", messages=messages, tools=[WEATHER], tool_choice="REQUIRED")
    assert tools.finish_reason == "TOOL_CALL"
    assert tools.message.tool_calls[0].function.name == "get_weather"
    with pytest.raises(cohere.errors.TooManyRequestsError):
        client.chat(model="command-sim;status=429", messages=messages, request_options={"max_retries": 0})


@pytest.mark.parametrize("case", ["plain_system", "tool_round_trip", "image", "json_schema", "thinking"])
async def test_adapter_requests_are_accepted_and_decoded(cohere_sim: SimulatorThread, case: str) -> None:
    from tests.unit.providers.cohere import cases
    from tests.unit.providers.cohere.support import ADAPTER, deployment

    target = deployment("command-sim", base_url=cohere_sim.base_url)
    request = getattr(cases, case)()
    built = ADAPTER.build_request(request, target)
    async with (
        aiohttp.ClientSession() as session,
        session.post(built.url, data=built.body, headers=built.headers) as r,
    ):
        assert r.status == 200, await r.text()
        raw = await r.read()
    if not request.stream:
        answer = ADAPTER.parse_response(raw, target)
        assert answer.choices[0].finish_reason in ("stop", "length") and answer.usage.reported
        return
    decoder = ADAPTER.stream_decoder(target)
    streamed = decoder.feed(raw) + decoder.finish()
    assert isinstance(streamed[0], StreamStart)
    assert streamed[-2] == Finish(0, "tool_calls", "TOOL_CALL")
