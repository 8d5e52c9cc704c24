"""The simulated provider server, exercised over a real socket (aiohttp client and the openai SDK)."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest
import pytest_asyncio
from openai.types.chat import ChatCompletionUserMessageParam

from switchgear.simulator.script import ScriptError, read_script
from switchgear.simulator.server import Simulator, SimulatorThread
from switchgear.simulator.text import chunk_text, placeholder_object

SDK_USER: list[ChatCompletionUserMessageParam] = [
    {"role": "user", "content": "What is the capital of France?"}
]
USER: list[dict[str, Any]] = [dict(m) for m in SDK_USER]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture
async def http(sim: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    sim.clear()
    async with aiohttp.ClientSession(base_url=sim.base_url) as session:
        yield session


def chat(model: str = "sim-small", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": USER, **extra}


async def sse_events(response: aiohttp.ClientResponse) -> list[str]:
    """The ``data:`` payloads of an SSE response, in order."""
    events = []
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("data: "):
            events.append(line[len("data: ") :])
    return events


async def stream_chunks(http: aiohttp.ClientSession, body: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    async with http.post("/v1/chat/completions", json={**body, "stream": True}, **kw) as response:
        assert response.status == 200
        assert response.headers["content-type"] == "text/event-stream"
        events = await sse_events(response)
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


def content_of(chunks: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if c["choices"] and c["choices"][0]["index"] == index
    )


# --- chat completions -------------------------------------------------------------------------


async def test_non_stream_chat_shape(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/chat/completions", json=chat("sim-small;chunks=2", seed=7)) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["x-request-id"]
        body = await response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "sim-small"
    assert body["system_fingerprint"] == "fp_sim_7"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Hello! You said: What is the capital of France?"
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["completion_tokens"] == 9
    assert usage["prompt_tokens"] == 6 + 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


async def test_root_paths_work_without_v1_prefix(http: aiohttp.ClientSession) -> None:
    async with http.post("/chat/completions", json=chat()) as response:
        assert response.status == 200
    async with http.get("/health") as response:
        assert await response.json() == {"status": "ok"}


async def test_stream_reassembles_to_non_stream(http: aiohttp.ClientSession) -> None:
    body = chat("sim-small;chunks=4", logprobs=True, top_logprobs=2)
    async with http.post("/v1/chat/completions", json=body) as response:
        whole = await response.json()
    chunks = await stream_chunks(http, body)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    content_chunks = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) == 4
    assert content_of(chunks) == whole["choices"][0]["message"]["content"]
    streamed_logprobs = [e for c in content_chunks for e in c["choices"][0]["logprobs"]["content"]]
    assert streamed_logprobs == whole["choices"][0]["logprobs"]["content"]
    assert len(streamed_logprobs[0]["top_logprobs"]) == 2
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


async def test_include_usage_adds_final_usage_chunk(http: aiohttp.ClientSession) -> None:
    chunks = await stream_chunks(http, chat(stream_options={"include_usage": True}))
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 9
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


async def test_n_choices_max_tokens_stop_and_content_override(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/chat/completions", json=chat(n=2, max_tokens=3)) as response:
        body = await response.json()
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert body["choices"][1]["message"]["content"] == "Hello! You said:"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 6
    model = "sim-small;content=one%3B two. three"
    async with http.post("/v1/chat/completions", json=chat(model, stop=[".", "zzz"])) as response:
        body = await response.json()
    assert body["choices"][0]["message"]["content"] == "one; two"
    assert body["choices"][0]["finish_reason"] == "stop"
    chunks = await stream_chunks(http, chat(n=2))
    assert content_of(chunks, 0) == content_of(chunks, 1) != ""


async def test_response_format_json_schema_and_json_object(http: aiohttp.ClientSession) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array"}},
        "required": ["name", "age", "ok"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}}
    async with http.post("/v1/chat/completions", json=chat(response_format=fmt)) as response:
        body = await response.json()
    parsed = json.loads(body["choices"][0]["message"]["content"])
    assert set(parsed) == {"name", "age", "tags", "ok"}
    assert isinstance(parsed["name"], str) and isinstance(parsed["age"], int) and parsed["tags"] == []
    fmt = {"type": "json_object"}
    async with http.post("/v1/chat/completions", json=chat(response_format=fmt)) as response:
        body = await response.json()
    assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)


async def test_tool_calls_non_stream(http: aiohttp.ClientSession) -> None:
    body = chat(tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required")
    async with http.post("/v1/chat/completions", json=body) as response:
        result = await response.json()
    choice = result["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "sample city", "unit": "celsius", "days": 1}
    forced = chat(
        tools=[WEATHER_TOOL, TIME_TOOL], tool_choice={"type": "function", "function": {"name": "get_time"}}
    )
    async with http.post("/v1/chat/completions", json=forced) as response:
        result = await response.json()
    assert result["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"
    async with http.post("/v1/chat/completions", json=chat(tools=[WEATHER_TOOL])) as response:
        result = await response.json()
    assert result["choices"][0]["message"]["content"].startswith("Hello!")


async def test_parallel_tool_calls_stream_matches_non_stream(http: aiohttp.ClientSession) -> None:
    body = chat(tools=[WEATHER_TOOL, TIME_TOOL])
    headers = {"x-sim-tool-calls": "get_weather,get_time"}
    async with http.post("/v1/chat/completions", json=body, headers=headers) as response:
        whole = (await response.json())["choices"][0]["message"]["tool_calls"]
    chunks = await stream_chunks(http, body, headers=headers)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    calls: dict[int, dict[str, Any]] = {}
    for c in chunks:
        for fragment in c["choices"][0]["delta"].get("tool_calls") or []:
            if fragment["index"] not in calls:
                assert fragment["function"]["arguments"] == ""
                assert set(fragment) == {"index", "id", "type", "function"}
                calls[fragment["index"]] = {**fragment, "function": dict(fragment["function"])}
            else:
                assert set(fragment) == {"index", "function"}
                assert set(fragment["function"]) == {"arguments"}
                calls[fragment["index"]]["function"]["arguments"] += fragment["function"]["arguments"]
    assert [{k: v for k, v in call.items() if k != "index"} for call in calls.values()] == whole
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_usage_overrides_and_usage_none(http: aiohttp.ClientSession) -> None:
    huge = 10**30
    headers = {"x-sim-prompt-tokens": "-5", "x-sim-completion-tokens": str(huge)}
    async with http.post("/v1/chat/completions", json=chat(), headers=headers) as response:
        usage = (await response.json())["usage"]
    assert usage["prompt_tokens"] == -5
    assert usage["completion_tokens"] == huge
    assert usage["total_tokens"] == huge - 5
    async with http.post("/v1/chat/completions", json=chat("sim-small;usage=none")) as response:
        assert "usage" not in await response.json()
    chunks = await stream_chunks(http, chat("sim-small;usage=none", stream_options={"include_usage": True}))
    assert all("usage" not in c for c in chunks)


async def test_finish_reason_override_and_echo_headers(http: aiohttp.ClientSession) -> None:
    headers = {"x-sim-finish-reason": "content_filter", "x-sim-echo-headers": "1", "x-trace": "abc"}
    async with http.post("/v1/chat/completions", json=chat(), headers=headers) as response:
        body = await response.json()
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert body["sim_headers"]["x-trace"] == "abc"


# --- the official SDK -------------------------------------------------------------------------


async def test_openai_sdk_chat_stream_and_embeddings(sim: Simulator) -> None:
    client = openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="sk-test", max_retries=0)
    async with client:
        completion = await client.chat.completions.create(model="sim-large;chunks=3", messages=SDK_USER)
        assert completion.model == "sim-large"
        text = completion.choices[0].message.content
        assert text == "Hello! You said: What is the capital of France?"
        stream = await client.chat.completions.create(
            model="sim-large;chunks=3",
            messages=SDK_USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces, usage = [], None
        async for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
            if chunk.usage is not None:
                usage = chunk.usage
        assert "".join(pieces) == text
        assert usage is not None and usage.completion_tokens == 9
        assert sim.last().headers["authorization"] == "Bearer sk-test"
        embedded = await client.embeddings.create(model="sim-embed", input=["alpha", "beta"], dimensions=4)
        sent = sim.last().json
        assert sent is not None and sent["encoding_format"] == "base64"
        vectors = [item.embedding for item in embedded.data]
        assert len(vectors) == 2 and all(len(v) == 4 for v in vectors)
        assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-5
        as_floats = await client.embeddings.create(
            model="sim-embed", input=["alpha", "beta"], dimensions=4, encoding_format="float"
        )
        assert [item.embedding for item in as_floats.data] == vectors
        models = await client.models.list()
        assert {m.id for m in models.data} == {"sim-small", "sim-large", "sim-embed"}


async def test_openai_sdk_sees_rate_limit(sim: Simulator) -> None:
    client = openai.AsyncOpenAI(base_url=sim.base_url + "/v1", api_key="sk-test", max_retries=0)
    async with client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(
                model="sim-small;status=429;retry_after=2", messages=SDK_USER
            )
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.code == "rate_limit_exceeded"


# --- embeddings, legacy completions, models ----------------------------------------------------


async def test_embeddings_float_base64_and_tokens(http: aiohttp.ClientSession) -> None:
    body = {"model": "sim-embed", "input": "hello world"}
    async with http.post("/v1/embeddings", json=body) as response:
        result = await response.json()
    vector = result["data"][0]["embedding"]
    assert len(vector) == 8
    assert result["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    async with http.post("/v1/embeddings", json={**body, "encoding_format": "base64"}) as response:
        encoded = (await response.json())["data"][0]["embedding"]
    assert list(struct.unpack("<8f", base64.b64decode(encoded))) == vector
    async with http.post(
        "/v1/embeddings", json={"model": "sim-embed", "input": [[1, 2, 3], [4]]}
    ) as response:
        result = await response.json()
    assert len(result["data"]) == 2 and result["usage"]["prompt_tokens"] == 4
    async with http.post("/v1/embeddings", json={"model": "sim-embed", "input": [1.5]}) as response:
        assert response.status == 400


async def test_legacy_completions(http: aiohttp.ClientSession) -> None:
    body = {"model": "sim-small;chunks=2", "prompt": "Say hi", "logprobs": 1}
    async with http.post("/v1/completions", json=body) as response:
        whole = await response.json()
    assert whole["object"] == "text_completion"
    choice = whole["choices"][0]
    assert choice["text"] == "Hello! You said: Say hi"
    assert choice["logprobs"]["tokens"] == ["Hello! You said:", " Say hi"]
    async with http.post("/v1/completions", json={**body, "stream": True}) as response:
        events = await sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == choice["text"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_models_and_unknown_urls(http: aiohttp.ClientSession) -> None:
    async with http.get("/v1/models/sim-small") as response:
        assert (await response.json())["id"] == "sim-small"
    async with http.get("/v1/models/nope") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "model_not_found"
    async with http.post("/v1/nowhere", json={}) as response:
        assert response.status == 404
        assert (await response.json())["error"]["message"] == "Invalid URL (POST /v1/nowhere)"


# --- malformed input and the script ------------------------------------------------------------


async def test_malformed_input_errors(http: aiohttp.ClientSession) -> None:
    async with http.post(
        "/v1/chat/completions", data=b"{nope", headers={"content-type": "application/json"}
    ) as r:
        assert r.status == 400
        error = (await r.json())["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    async with http.post("/v1/chat/completions", json={"messages": USER}) as r:
        assert r.status == 400 and (await r.json())["error"]["param"] == "model"
    async with http.post("/v1/chat/completions", json={"model": "sim-small"}) as r:
        assert r.status == 400 and (await r.json())["error"]["param"] == "messages"


async def test_unknown_script_parameter_is_rejected(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/chat/completions", json=chat(), headers={"x-sim-ttfb-msec": "5"}) as r:
        assert r.status == 400
        assert (await r.json())["error"]["param"] == "ttfb_msec"
    async with http.post("/v1/chat/completions", json=chat("sim-small;chunk=3")) as r:
        assert r.status == 400
        assert "chunk" in (await r.json())["error"]["message"]
    async with http.post("/v1/chat/completions", json=chat("sim-small;status=abc")) as r:
        assert r.status == 400


def test_script_parsing_rules() -> None:
    name, script, _ = read_script({"X-Sim-Gap_Ms": "5"}, "gpt-x;ttfb_ms=500;chunks=20;gap_ms=20")
    assert name == "gpt-x"
    assert (script.ttfb_ms, script.chunks, script.gap_ms) == (500, 20, 5)  # the header wins
    with pytest.raises(ScriptError):
        read_script({}, "m;stall_after=-1")
    assert chunk_text("a b c", 10) == ["a", " ", "b", " ", "c"]
    assert "".join(chunk_text("  lead and trail  ", 2)) == "  lead and trail  "
    assert placeholder_object({"properties": {"x": {"type": ["null", "number"]}}}) == {"x": 1.5}


async def test_scripted_error_with_raw_body(http: aiohttp.ClientSession) -> None:
    headers = {"x-sim-status": "502", "x-sim-error-body": "<html>Bad Gateway</html>"}
    async with http.post("/v1/chat/completions", json=chat(stream=True), headers=headers) as r:
        assert r.status == 502
        assert r.headers["content-type"] == "text/html"
        assert await r.text() == "<html>Bad Gateway</html>"
    async with http.post(
        "/v1/chat/completions", json=chat("m;status=400;error_code=context_length_exceeded")
    ) as r:
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "context_length_exceeded"


async def test_fail_times_then_succeed(http: aiohttp.ClientSession) -> None:
    model = "sim-small;status=503;fail_times=2;fail_key=t1"
    statuses = []
    for _ in range(4):
        async with http.post("/v1/chat/completions", json=chat(model)) as r:
            statuses.append(r.status)
    assert statuses == [503, 503, 200, 200]
    async with http.post("/v1/chat/completions", json=chat("sim-small;fail_times=1;fail_key=t2")) as r:
        assert r.status == 500


async def test_latency_and_pacing(http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    async with http.post("/v1/chat/completions", json=chat("sim-small;latency_ms=80")) as r:
        assert r.status == 200
    assert time.monotonic() - started >= 0.08
    started = time.monotonic()
    await stream_chunks(http, chat("sim-small;ttfb_ms=40;gap_ms=10;chunks=3"))
    assert time.monotonic() - started >= 0.04 + 5 * 0.01


# --- misbehaving streams -----------------------------------------------------------------------


async def test_stall_after_triggers_client_idle_timeout(http: aiohttp.ClientSession, sim: Simulator) -> None:
    received = []
    timeout = aiohttp.ClientTimeout(sock_read=0.2)
    body = chat("sim-small;stall_after=2", stream=True)
    with pytest.raises(asyncio.TimeoutError):
        async with http.post("/v1/chat/completions", json=body, timeout=timeout) as r:
            async for line in r.content:
                if line.strip():
                    received.append(line)
    assert len(received) == 2
    record = await sim.wait_for(lambda rec: rec.cancelled_at is not None)
    assert record.outcome == "cancelled" and not record.completed


async def test_non_stream_stall_zero_never_answers(http: aiohttp.ClientSession) -> None:
    with pytest.raises(asyncio.TimeoutError):
        timeout = aiohttp.ClientTimeout(total=0.2)
        async with http.post("/v1/chat/completions", json=chat("m;stall_after=0"), timeout=timeout):
            pass


async def test_disconnect_after_gives_incomplete_stream(http: aiohttp.ClientSession, sim: Simulator) -> None:
    received = []
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.post("/v1/chat/completions", json=chat("m;disconnect_after=3", stream=True)) as r:
            async for line in r.content:
                if line.strip():
                    received.append(line.decode())
    assert len(received) == 3
    assert all("[DONE]" not in line for line in received)
    assert sim.last().outcome == "disconnected" and not sim.last().completed
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.post("/v1/chat/completions", json=chat("m;disconnect_after=0")) as r:
            await r.read()


async def test_malformed_chunk_then_stream_continues(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/chat/completions", json=chat("m;malformed_after=2", stream=True)) as r:
        events = await sse_events(r)
    assert events[2] == "{not json"
    assert events[-1] == "[DONE]"
    assert content_of([json.loads(e) for e in events[:2] + events[3:-1]]).startswith("Hello!")


async def test_client_close_mid_stream_is_recorded(http: aiohttp.ClientSession, sim: Simulator) -> None:
    async with http.post("/v1/chat/completions", json=chat("m;gap_ms=30", stream=True)) as r:
        await r.content.readline()
        r.close()
    record = await sim.wait_for(lambda rec: rec.cancelled_at is not None)
    assert not record.completed
    assert record.cancelled_at is not None and record.cancelled_at >= record.received_at


# --- recording ---------------------------------------------------------------------------------


async def test_recording_of_headers_body_and_control_endpoints(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    payload = chat(temperature=0.5)
    async with http.post(
        "/v1/chat/completions?api-version=1", json=payload, headers={"X-Custom": "Yes"}
    ) as r:
        request_id = r.headers["x-request-id"]
    record = sim.last()
    assert (record.method, record.path, record.query) == ("POST", "/v1/chat/completions", "api-version=1")
    assert record.headers["x-custom"] == "Yes"
    assert json.loads(record.body) == payload and record.json == payload
    assert record.completed and record.cancelled_at is None and record.status == 200
    assert record.request_id == request_id
    async with http.get("/_sim/requests") as r:
        listed = await r.json()
    assert listed[-1]["json"] == payload and listed[-1]["headers"]["x-custom"] == "Yes"
    async with http.delete("/_sim/requests") as r:
        assert (await r.json())["cleared"] == len(listed)
    assert sim.requests == []


def test_simulator_thread_for_sync_tests() -> None:
    import urllib.request

    with SimulatorThread() as thread:
        request = urllib.request.Request(
            thread.base_url + "/v1/chat/completions",
            data=json.dumps(chat("m;stall_after=1", stream=True)).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(thread.base_url + "/health") as response:
            assert json.load(response) == {"status": "ok"}
        assert thread.last().path == "/health"
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.readline().startswith(b"data: ")
        thread.clear()
        assert thread.requests == []
    # stop() returned although a stalled stream was still open
