"""The simulated Bedrock InvokeModel routes for Claude, driven by boto3 over a real socket.

boto3 signs with SigV4 and decodes the event stream itself; the answers must be exactly what the
simulated Anthropic API gives for the same body (Anthropic message JSON, stream events in
base64 ``chunk`` frames).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import boto3
import pytest
import pytest_asyncio
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from switchgear.simulator.delivery import STATE_KEY
from switchgear.simulator.server import create_app

T = TypeVar("T")
MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"
ECHO = "Hello! You said: What is the capital of France?"
BODY: dict[str, Any] = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
}


def client(url: str, secret: str = "sim-secret") -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIDSIMULATOR",
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest_asyncio.fixture(scope="module")
async def url() -> AsyncIterator[str]:
    app = create_app()
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    state = app[STATE_KEY]
    state.stopping = True
    for task in list(state.tasks):
        task.cancel()
    await runner.cleanup()


async def run(function: Callable[[], T]) -> T:
    return await asyncio.to_thread(function)


async def invoke(url: str, body: dict[str, Any], model: str = MODEL, secret: str = "sim-secret") -> Any:
    def call() -> Any:
        answer = client(url, secret).invoke_model(modelId=model, body=json.dumps(body))
        return json.loads(answer["body"].read())

    return await run(call)


async def invoke_stream(url: str, body: dict[str, Any], model: str = MODEL) -> list[dict[str, Any]]:
    def call() -> list[dict[str, Any]]:
        answer = client(url).invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
        stream = answer["body"]
        try:
            return [json.loads(event["chunk"]["bytes"]) for event in stream]
        finally:
            stream.close()

    return await run(call)


async def refusal(url: str, body: dict[str, Any], **kw: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        await invoke(url, body, **kw)
    error = info.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"]["Message"]


async def test_invoke_answers_an_anthropic_message(url: str) -> None:
    answer = await invoke(url, BODY)
    assert answer["id"].startswith("msg_bdrk_")
    assert {k: v for k, v in answer.items() if k not in ("id", "usage")} == {
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": ECHO}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    assert answer["usage"]["output_tokens"] == 9
    assert answer["usage"]["input_tokens"] > 0


async def test_stream_is_the_anthropic_event_sequence_in_chunks(url: str) -> None:
    events = await invoke_stream(url, BODY)
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * (len(events) - 5),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == ECHO
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2]["usage"] == {"output_tokens": 9}
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == 9
    assert metrics["inputTokenCount"] == events[0]["message"]["usage"]["input_tokens"]


async def test_thinking_comes_first(url: str) -> None:
    body = BODY | {"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    answer = await invoke(url, body)
    assert [block["type"] for block in answer["content"]] == ["thinking", "text"]
    assert answer["content"][0]["signature"]


async def test_betas_admit_fields_from_the_future(url: str) -> None:
    assert await refusal(url, BODY | {"future_field": 1}) == (
        400,
        "ValidationException",
        "future_field: Extra inputs are not permitted",
    )
    answer = await invoke(url, BODY | {"future_field": 1, "anthropic_beta": ["future-2026-01-01"]})
    assert answer["content"][0]["text"] == ECHO


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {k: v for k, v in BODY.items() if k != "anthropic_version"},
            "Invalid API version: anthropic_version must be 'bedrock-2023-05-31'",
        ),
        (
            BODY | {"stream": True},
            "Malformed input request: #: extraneous key [stream] is not permitted, "
            "please reformat your input and try again.",
        ),
        (
            BODY | {"model": "claude"},
            "Malformed input request: #: extraneous key [model] is not permitted, "
            "please reformat your input and try again.",
        ),
        ({k: v for k, v in BODY.items() if k != "max_tokens"}, "max_tokens: Field required"),
        (
            BODY | {"anthropic_beta": "x"},
            "Malformed input request: #/anthropic_beta: expected type: JSONArray",
        ),
    ],
)
async def test_validation_errors(url: str, body: dict[str, Any], message: str) -> None:
    assert await refusal(url, body) == (400, "ValidationException", message)


async def test_wrong_secret_is_refused(url: str) -> None:
    status, code, _ = await refusal(url, BODY, secret="wrong")
    assert (status, code) == (403, "InvalidSignatureException")


async def test_scripted_error_is_a_bedrock_exception(url: str) -> None:
    assert await refusal(url, BODY, model=MODEL + ";status=429") == (
        429,
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
    )


async def test_error_after_ends_the_stream_with_an_exception(url: str) -> None:
    with pytest.raises(EventStreamError) as info:
        await invoke_stream(url, BODY, model=MODEL + ";status=503;error_after=2")
    assert info.value.response["Error"]["Code"] == "serviceUnavailableException"
