"""The Responses codec's output served over a real socket and read by the official openai SDK:
``responses.create`` (plain and ``stream=True``) and ``responses.stream(...).get_final_response()``.

The tiny aiohttp server decodes what the SDK sent with the codec (so the echoed settings are the
client's own), then answers with a golden canonical answer, encoded whole or streamed event by
event through ``ResponsesStreamEncoder``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import openai
import pytest
import pytest_asyncio
from aiohttp import web
from openai.types.responses import FunctionToolParam, Response

from switchgear.apis.responses.codec import ResponsesCodec
from switchgear.core.errors import UpstreamTimeout
from switchgear.providers.openai.responses_relay import ResponsesStreamRelay
from tests.unit.apis.responses.goldens import chat_response, golden, golden_bytes, stream_of

CODEC = ResponsesCodec()
SCENARIOS = {
    "text": "encode_text.json",
    "tools": "encode_tools_reasoning.json",
    "cut": "encode_incomplete.json",
}
TOOLS: list[FunctionToolParam] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
    {"type": "function", "name": "get_time", "parameters": {"type": "object"}, "strict": False},
]
T = TypeVar("T")


async def handle(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if body["model"] == "relay-cut":
        return await relay_cut(request)
    canonical = chat_response(golden(SCENARIOS.get(body["model"], "encode_text.json"))["canonical"])
    decoded = CODEC.decode(body, {})
    if not decoded.stream:
        answer = CODEC.encode_response(canonical, body["model"], request=decoded)
        return web.Response(body=answer, content_type="application/json")
    encoder = CODEC.stream_encoder(body["model"], include_usage=True, request=decoded)
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    events = stream_of(canonical, size=3)
    if body["model"] == "fail":
        await response.write(encoder.encode(events[:4]))
        await response.write(encoder.error(UpstreamTimeout("provider 'p' went silent for 30s", provider="p")))
    else:
        for event in events:
            if chunk := encoder.encode([event]):
                await response.write(chunk)
        await response.write(encoder.finish())
    await response.write_eof()
    return response


async def relay_cut(request: web.Request) -> web.StreamResponse:
    """A golden OpenAI stream cut before its terminal event, through the passthrough relay."""
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    relay = ResponsesStreamRelay("openai")
    upstream = golden_bytes("openai_stream.sse")
    upstream = upstream[: upstream.rindex(b"event: response.completed")]
    for i in range(0, len(upstream), 500):
        if chunk := relay.feed(upstream[i : i + 500]):
            await response.write(chunk)
    await response.write(relay.finish())
    await response.write_eof()
    return response


@pytest_asyncio.fixture(scope="module")
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/responses", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


async def with_client(base_url: str, work: Callable[[openai.OpenAI], T]) -> T:
    """Run ``work`` with a sync SDK client in a thread, so the server keeps the event loop."""

    def run() -> T:
        with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=10) as client:
            return work(client)

    return await asyncio.to_thread(run)


def ask(client: openai.OpenAI, scenario: str, **extra: Any) -> Response:
    response: Response = client.responses.create(
        model=scenario, input="Weather and time in Paris?", tools=TOOLS, **extra
    )
    return response


@pytest.mark.parametrize("scenario", ["text", "tools", "cut"])
async def test_create_stream_true_ends_with_the_non_streamed_response(base_url: str, scenario: str) -> None:
    def work(client: openai.OpenAI) -> tuple[Response, list[Any]]:
        whole = ask(client, scenario, max_output_tokens=64)
        with client.responses.create(
            model=scenario, input="Weather and time in Paris?", tools=TOOLS, max_output_tokens=64, stream=True
        ) as stream:
            return whole, list(stream)

    whole, events = await with_client(base_url, work)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created"
    final = events[-1]
    assert final.type == f"response.{whole.status}"
    assert final.response.model_dump() == whole.model_dump()
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text == final.response.output_text
    text = "".join(
        p["text"] for p in golden(SCENARIOS[scenario])["canonical"]["choices"][0]["message"]["content"]
    )
    assert whole.output_text == text
    assert whole.model == scenario and whole.max_output_tokens == 64
    assert [t.name for t in whole.tools if t.type == "function"] == ["get_weather", "get_time"]


async def test_stream_helper_final_response(base_url: str) -> None:
    def work(client: openai.OpenAI) -> tuple[Response, Response, str]:
        whole = ask(client, "tools")
        with client.responses.stream(
            model="tools", input="Weather and time in Paris?", tools=TOOLS
        ) as stream:
            text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
            return whole, stream.get_final_response(), text

    whole, final, text = await with_client(base_url, work)
    assert final.id == whole.id == "resp_01XFDUDYJgAACzvnptvVoYEL"
    assert final.output_text == whole.output_text == text == "Checking both."
    calls = [(o.call_id, o.name, o.arguments) for o in final.output if o.type == "function_call"]
    assert calls == [("toolu_01A", "get_weather", '{"city":"Paris"}'), ("toolu_01B", "get_time", "{}")]
    assert calls == [(o.call_id, o.name, o.arguments) for o in whole.output if o.type == "function_call"]
    assert final.usage is not None and whole.usage is not None
    assert final.usage.model_dump() == whole.usage.model_dump()
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (412, 96, 508)
    assert final.usage.input_tokens_details.cached_tokens == 300
    assert final.usage.output_tokens_details.reasoning_tokens == 40
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content == "EqQBCgIYAhIM1gbcDa9G"


async def test_async_stream_helper(base_url: str) -> None:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=10)
    async with client, client.responses.stream(model="text", input="Hi") as stream:
        final = await stream.get_final_response()
    assert final.output_text == "Hello! How can I help you today?"
    assert final.status == "completed"


async def test_a_failure_mid_stream_raises_in_the_sdk(base_url: str) -> None:
    def work(client: openai.OpenAI) -> list[str]:
        seen: list[str] = []
        with client.responses.create(model="fail", input="Hi", stream=True) as stream:
            for event in stream:
                seen.append(event.type)
        return seen

    with pytest.raises(openai.APIError) as caught:
        await with_client(base_url, work)
    assert caught.value.message == "provider 'p' went silent for 30s"
    assert caught.value.body == {
        "type": "server_error",
        "code": "timeout",
        "message": "provider 'p' went silent for 30s",
        "param": None,
    }


async def test_incomplete_stream_ends_with_response_incomplete(base_url: str) -> None:
    def work(client: openai.OpenAI) -> list[Any]:
        with client.responses.stream(model="cut", input="Write a poem.", max_output_tokens=16) as stream:
            return list(stream)

    events = await with_client(base_url, work)
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert json.loads(last.response.model_dump_json())["output"][-1]["status"] == "incomplete"


async def test_a_relayed_stream_cut_short_raises_in_the_sdk(base_url: str) -> None:
    def work(client: openai.OpenAI) -> list[str]:
        seen: list[str] = []
        with (
            pytest.raises(openai.APIError) as caught,
            client.responses.stream(model="relay-cut", input="Hi") as stream,
        ):
            seen.extend(event.type for event in stream)
        assert caught.value.message == "provider 'openai' ended the stream without a terminal event"
        return seen

    seen = await with_client(base_url, work)
    assert seen[0] == "response.created" and seen[-1] == "response.output_item.done"
    assert seen.count("response.output_text.delta") == 13
