"""The simulated Bedrock Converse endpoints, driven by the official boto3 client over a real socket.

boto3 signs every request with SigV4 and decodes the binary event stream itself, so a passing
call proves the simulator's signature check and framing; raw aiohttp requests (signed with
botocore's own signer) cover what boto3 cannot send: missing or tampered auth, unencoded paths,
malformed frames.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote as urlquote

import aiohttp
import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.eventstream
import pytest
import pytest_asyncio
import urllib3
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError, ReadTimeoutError
from yarl import URL

from switchgear.simulator import bedrock_eventstream as eventstream
from switchgear.simulator.bedrock_request import BEDROCK_CREDENTIALS
from switchgear.simulator.bedrock_wire import register
from switchgear.simulator.delivery import STATE_KEY
from switchgear.simulator.recording import SimState
from switchgear.simulator.server import create_app

T = TypeVar("T")
MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
PROFILE = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
QUESTION = "What is the capital of France?"
ECHO = "Hello! You said: What is the capital of France?"
USER = [{"role": "user", "content": [{"text": QUESTION}]}]
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Current weather",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                },
                "required": ["city"],
            }
        },
    }
}
TIME = {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object"}}}}
WEATHER_INPUT = {"city": "sample city", "unit": "celsius", "days": 1}
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
REASONING = "The user wrote 6 words. I will echo them back verbatim."
TOOL_ID = re.compile(r"tooluse_[0-9a-f]{22}")


class Sim:
    """The served app, its recorded requests and a boto3 client pointed at it."""

    def __init__(self, url: str, state: SimState) -> None:
        self.url = url
        self.state = state
        self.client = client(url)


def client(url: str, secret: str = "sim-secret", key: str = "AKIDSIMULATOR", **config: Any) -> Any:
    retries = Config(retries={"total_max_attempts": 1}, **config)
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=retries,
    )


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[Sim]:
    app = create_app()
    app[BEDROCK_CREDENTIALS] = {"AKIDSIMULATOR": "sim-secret", "AKIDSECOND": "second-secret"}
    register(app)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state = app[STATE_KEY]
    served = Sim(f"http://127.0.0.1:{runner.addresses[0][1]}", state)
    yield served
    served.client.close()
    state.stopping = True
    for task in list(state.tasks):
        task.cancel()
    await runner.cleanup()


async def run(function: Callable[[], T]) -> T:
    """Run a blocking boto3 call off the event loop that serves the simulator."""
    return await asyncio.to_thread(function)


async def converse(sim: Sim, model: str = MODEL, **kw: Any) -> dict[str, Any]:
    kw.setdefault("messages", USER)
    response: dict[str, Any] = await run(lambda: sim.client.converse(modelId=model, **kw))
    return response


async def converse_stream(sim: Sim, model: str = MODEL, **kw: Any) -> list[dict[str, Any]]:
    kw.setdefault("messages", USER)

    return await run(lambda: drain(sim.client.converse_stream(modelId=model, **kw)))


def drain(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event of a ConverseStream response; the connection is closed even when one raises."""
    stream = response["stream"]
    try:
        return list(stream)
    finally:
        stream.close()


def reassemble(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Rebuild a Converse response (content, stopReason, usage) from ConverseStream events."""
    blocks: dict[int, dict[str, Any]] = {}
    result: dict[str, Any] = {}
    for event in events:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = start["start"]["toolUse"]
            blocks[start["contentBlockIndex"]] = {"toolUse": {**tool, "input": ""}}
        elif "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]["delta"]
            block = blocks.setdefault(event["contentBlockDelta"]["contentBlockIndex"], {})
            if "text" in delta:
                block["text"] = block.get("text", "") + delta["text"]
            elif "toolUse" in delta:
                block["toolUse"]["input"] += delta["toolUse"]["input"]
            else:
                reasoning = block.setdefault("reasoningContent", {"reasoningText": {"text": ""}})
                reasoning["reasoningText"]["text"] += delta["reasoningContent"].get("text", "")
                if "signature" in delta["reasoningContent"]:
                    reasoning["reasoningText"]["signature"] = delta["reasoningContent"]["signature"]
        elif "messageStop" in event:
            result["stopReason"] = event["messageStop"]["stopReason"]
        elif "metadata" in event and "usage" in event["metadata"]:
            result["usage"] = event["metadata"]["usage"]
    for block in blocks.values():
        if "toolUse" in block:
            block["toolUse"]["input"] = json.loads(block["toolUse"]["input"])
    result["content"] = [blocks[index] for index in sorted(blocks)]
    return result


def assert_same(response: dict[str, Any], events: list[dict[str, Any]]) -> None:
    expected = {"content": response["output"]["message"]["content"], "stopReason": response["stopReason"]}
    if "usage" in response:
        expected["usage"] = response["usage"]
    assert reassemble(events) == expected


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = info.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return status, response["Error"]["Code"], response["Error"]["Message"]


# ----------------------------------------------------------------------------------- converse


async def test_converse_echoes_the_last_user_message(sim: Sim) -> None:
    response = await converse(sim)
    metadata = response.pop("ResponseMetadata")
    assert response == {
        "output": {"message": {"role": "assistant", "content": [{"text": ECHO}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 9, "outputTokens": 9, "totalTokens": 18},
        "metrics": {"latencyMs": 0},
    }
    assert metadata["HTTPStatusCode"] == 200
    assert metadata["RequestId"] == metadata["HTTPHeaders"]["x-request-id"]
    record = sim.state.records[-1]
    assert record.path == f"/model/{MODEL}/converse"
    assert record.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR/")
    assert "/us-east-1/bedrock/aws4_request, SignedHeaders=" in record.headers["authorization"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", record.headers["x-amz-date"])
    assert record.json == {"messages": USER}


@pytest.mark.parametrize(
    "model",
    [PROFILE, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-v1:0"],
)
async def test_inference_profiles_and_arns_are_accepted(sim: Sim, model: str) -> None:
    response = await converse(sim, model)
    assert response["output"]["message"]["content"] == [{"text": ECHO}]
    assert sim.state.records[-1].path == f"/model/{model}/converse"
    assert_same(response, await converse_stream(sim, model))
    assert sim.state.records[-1].path == f"/model/{model}/converse-stream"


async def test_system_images_history_and_inference_config(sim: Sim) -> None:
    messages = [
        {"role": "user", "content": [{"text": "first"}]},
        {"role": "assistant", "content": [{"text": "noted"}]},
        {
            "role": "user",
            "content": [
                {"text": "Describe this"},
                {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}},
            ],
        },
    ]
    response = await converse(
        sim,
        messages=messages,
        system=[{"text": "Answer briefly."}],
        inferenceConfig={"maxTokens": 100, "temperature": 0.5, "topP": 0.9},
    )
    assert response["output"]["message"]["content"] == [{"text": "Hello! You said: Describe this"}]
    # system 2 words; messages 1+1+2 words + 3 each
    assert response["usage"] == {"inputTokens": 15, "outputTokens": 5, "totalTokens": 20}
    sent: Any = sim.state.records[-1].json
    assert sent["messages"][2]["content"][1] == {"image": {"format": "png", "source": {"bytes": "iVBORw=="}}}


async def test_stop_sequences_max_tokens_and_finish_override(sim: Sim) -> None:
    stopped = await converse(sim, inferenceConfig={"stopSequences": ["capital"]})
    assert stopped["output"]["message"]["content"] == [{"text": "Hello! You said: What is the "}]
    assert stopped["stopReason"] == "stop_sequence"
    truncated = await converse(sim, inferenceConfig={"maxTokens": 3})
    assert truncated["output"]["message"]["content"] == [{"text": "Hello! You said:"}]
    assert (truncated["stopReason"], truncated["usage"]["outputTokens"]) == ("max_tokens", 3)
    guarded = await converse(sim, f"{MODEL};finish_reason=guardrail_intervened")
    assert guarded["stopReason"] == "guardrail_intervened"
    filtered = await converse(sim, MODEL, additionalModelRequestFields={"top_k": 5})
    assert filtered["stopReason"] == "end_turn"


async def test_scripted_content_and_usage(sim: Sim) -> None:
    response = await converse(
        sim, f"{MODEL};content=Bonjour%3B%20monde;prompt_tokens=7;completion_tokens=99999"
    )
    assert response["output"]["message"]["content"] == [{"text": "Bonjour; monde"}]
    assert response["usage"] == {"inputTokens": 7, "outputTokens": 99999, "totalTokens": 100006}
    cached = await converse(sim, f"{MODEL};cache_read_tokens=100;cache_write_tokens=20")
    assert cached["usage"] == {
        "inputTokens": 9,
        "outputTokens": 9,
        "totalTokens": 138,
        "cacheReadInputTokens": 100,
        "cacheWriteInputTokens": 20,
    }
    bare = await converse(sim, f"{MODEL};usage=none")
    assert "usage" not in bare
    events = await converse_stream(sim, f"{MODEL};usage=none")
    assert events[-1] == {"metadata": {"metrics": {"latencyMs": 0}}}


async def test_structured_output_from_output_config(sim: Sim) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    config = {
        "textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(schema)}}}
    }
    body = {"modelId": MODEL, "messages": USER, "outputConfig": config}
    response = await run(lambda: sim.client.converse(**body))
    assert json.loads(response["output"]["message"]["content"][0]["text"]) == {
        "name": "sample name",
        "age": 1,
    }


# ---------------------------------------------------------------------------------- tools


async def test_tool_choice_any_calls_the_first_declared_tool(sim: Sim) -> None:
    config = {"tools": [WEATHER, TIME], "toolChoice": {"any": {}}}
    response = await converse(sim, toolConfig=config)
    [block] = response["output"]["message"]["content"]
    assert TOOL_ID.fullmatch(block["toolUse"]["toolUseId"])
    assert block["toolUse"] == {
        "toolUseId": block["toolUse"]["toolUseId"],
        "name": "get_weather",
        "input": WEATHER_INPUT,
    }
    assert response["stopReason"] == "tool_use"
    assert response["usage"]["outputTokens"] == 3
    events = await converse_stream(sim, toolConfig=config)
    assert_same(response, events)
    start = events[1]["contentBlockStart"]
    assert start == {
        "start": {"toolUse": {"toolUseId": block["toolUse"]["toolUseId"], "name": "get_weather"}},
        "contentBlockIndex": 0,
    }


async def test_scripted_parallel_tool_calls_and_text(sim: Sim) -> None:
    config = {"tools": [WEATHER, TIME], "toolChoice": {"tool": {"name": "get_time"}}}
    forced = await converse(sim, toolConfig=config)
    assert [b["toolUse"]["name"] for b in forced["output"]["message"]["content"]] == ["get_time"]
    model = f"{MODEL};tool_calls=get_weather,get_time;content=Let me check."
    response = await converse(sim, model, toolConfig={"tools": [WEATHER, TIME]})
    content = response["output"]["message"]["content"]
    assert content[0] == {"text": "Let me check."}
    assert [(b["toolUse"]["name"], b["toolUse"]["input"]) for b in content[1:]] == [
        ("get_weather", WEATHER_INPUT),
        ("get_time", {}),
    ]
    assert content[1]["toolUse"]["toolUseId"] != content[2]["toolUse"]["toolUseId"]
    events = await converse_stream(sim, model, toolConfig={"tools": [WEATHER, TIME]})
    assert_same(response, events)
    assert [e["contentBlockStop"]["contentBlockIndex"] for e in events if "contentBlockStop" in e] == [
        0,
        1,
        2,
    ]


async def test_tool_results_round_trip(sim: Sim) -> None:
    messages = [
        *USER,
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "tooluse_1",
                        "content": [{"json": {"temp": 18}}],
                        "status": "success",
                    }
                },
                {"text": "And tomorrow?"},
            ],
        },
    ]
    response = await converse(sim, messages=messages, toolConfig={"tools": [WEATHER]})
    assert response["output"]["message"]["content"] == [{"text": "Hello! You said: And tomorrow?"}]


# -------------------------------------------------------------------------------- reasoning


async def test_reasoning_block_comes_first_when_thinking_is_enabled(sim: Sim) -> None:
    response = await converse(sim, additionalModelRequestFields=THINKING)
    reasoning, text = response["output"]["message"]["content"]
    assert reasoning["reasoningContent"]["reasoningText"]["text"] == REASONING
    assert len(reasoning["reasoningContent"]["reasoningText"]["signature"]) == 44
    assert text == {"text": ECHO}
    assert response["usage"]["outputTokens"] == 20
    events = await converse_stream(sim, additionalModelRequestFields=THINKING)
    assert_same(response, events)
    first_delta = events[1]["contentBlockDelta"]
    assert first_delta == {"delta": {"reasoningContent": {"text": "The"}}, "contentBlockIndex": 0}
    history = [
        *USER,
        {"role": "assistant", "content": [reasoning, text]},
        {"role": "user", "content": [{"text": "ok"}]},
    ]
    again = await converse(sim, messages=history)
    assert again["output"]["message"]["content"] == [{"text": "Hello! You said: ok"}]


# ----------------------------------------------------------------------------------- stream


async def test_stream_event_sequence(sim: Sim) -> None:
    events = await converse_stream(sim, f"{PROFILE};chunks=3")
    assert events == [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Hello! You said:"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": " What is the"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": " capital of France?"}, "contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {
            "metadata": {
                "usage": {"inputTokens": 9, "outputTokens": 9, "totalTokens": 18},
                "metrics": {"latencyMs": 0},
            }
        },
    ]
    assert sim.state.records[-1].path == f"/model/{PROFILE};chunks=3/converse-stream"


async def test_stream_reassembles_to_the_non_streamed_answer(sim: Sim) -> None:
    for extra in ({}, {"inferenceConfig": {"maxTokens": 4}}, {"additionalModelRequestFields": THINKING}):
        assert_same(await converse(sim, **extra), await converse_stream(sim, **extra))


async def test_raw_stream_framing(sim: Sim) -> None:
    url, headers, body = signed(sim.url, f"/model/{quote(MODEL)}/converse-stream", {"messages": USER})
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        assert response.status == 200
        assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
        assert response.headers["x-amzn-RequestId"] == response.headers["x-request-id"]
        raw = await response.read()
    messages = eventstream.decode(raw)
    assert [m.headers[":event-type"] for m in messages] == ["messageStart"] + ["contentBlockDelta"] * 9 + [
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert all(m.headers[":message-type"] == "event" for m in messages)
    assert all(m.headers[":content-type"] == "application/json" for m in messages)
    assert json.loads(messages[0].payload) == {"role": "assistant"}


async def test_mid_stream_exception(sim: Sim) -> None:
    with pytest.raises(EventStreamError) as info:
        await converse_stream(sim, f"{MODEL};exception_after=3;exception_type=ThrottlingException")
    assert info.value.response["Error"] == {
        "Code": "throttlingException",
        "Message": "Too many requests, please wait before trying again.",
    }
    model = f"{MODEL};exception_type=modelStreamErrorException;exception_message=boom"
    with pytest.raises(EventStreamError) as info:
        await converse_stream(sim, model)
    assert info.value.response["Error"] == {"Code": "modelStreamErrorException", "Message": "boom"}
    url, headers, body = signed(sim.url, f"/model/{quote(MODEL)}/converse-stream", {"messages": USER})
    headers["x-sim-exception-after"] = "2"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        messages = eventstream.decode(await response.read())
    assert [m.headers.get(":event-type") for m in messages] == ["messageStart", "contentBlockDelta", None]
    assert messages[-1].headers == {
        ":exception-type": "modelStreamErrorException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }


async def test_malformed_frame_fails_the_checksum(sim: Sim) -> None:
    with pytest.raises(botocore.eventstream.ChecksumMismatch):
        await converse_stream(sim, f"{MODEL};malformed_after=2")
    url, headers, body = signed(sim.url, f"/model/{quote(MODEL)}/converse-stream", {"messages": USER})
    headers["x-sim-malformed-after"] = "2"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        raw = await response.read()
    with pytest.raises(eventstream.FramingError, match="message CRC mismatch"):
        eventstream.decode(raw)
    good = eventstream.decode(raw[: sum(len(f) for f in first_frames(raw, 2))])
    assert len(good) == 2


async def test_disconnect_and_stall(sim: Sim) -> None:
    with pytest.raises(urllib3.exceptions.ProtocolError, match="Response ended prematurely"):
        await converse_stream(sim, f"{MODEL};disconnect_after=2")
    assert sim.state.records[-1].outcome == "disconnected"
    slow = client(sim.url, read_timeout=0.3)

    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        await run(lambda: drain(slow.converse_stream(modelId=f"{MODEL};stall_after=2", messages=USER)))
    with pytest.raises(ReadTimeoutError):
        await run(lambda: slow.converse(modelId=f"{MODEL};stall_after=0", messages=USER))
    slow.close()


# ----------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ValidationException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (408, "ModelTimeoutException"),
        (424, "ModelErrorException"),
        (429, "ThrottlingException"),
        (500, "InternalServerException"),
        (503, "ServiceUnavailableException"),
    ],
)
async def test_scripted_status_maps_to_the_bedrock_exception(sim: Sim, status: int, code: str) -> None:
    with pytest.raises(ClientError) as info:
        await converse(sim, f"{MODEL};status={status}")
    assert error_of(info)[:2] == (status, code)
    headers = info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    with pytest.raises(ClientError) as info:
        await converse_stream(sim, f"{MODEL};status={status}")
    assert error_of(info)[:2] == (status, code)


async def test_scripted_error_details_and_fail_times(sim: Sim) -> None:
    with pytest.raises(ClientError) as info:
        await converse(
            sim, f"{MODEL};status=400;error_type=ServiceQuotaExceededException;error_message=quota%20gone"
        )
    assert error_of(info) == (400, "ServiceQuotaExceededException", "quota gone")
    with pytest.raises(ClientError) as info:
        await converse(sim, f"{MODEL};status=429")
    assert error_of(info) == (
        429,
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
    )
    model = f"{MODEL};status=503;fail_times=1;fail_key=bedrock-fail-once"
    with pytest.raises(ClientError):
        await converse(sim, model)
    assert (await converse(sim, model))["stopReason"] == "end_turn"


async def test_bad_script_parameter_is_a_validation_error(sim: Sim) -> None:
    with pytest.raises(ClientError) as info:
        await converse(sim, f"{MODEL};bogus=1")
    status, code, message = error_of(info)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("Unknown simulator parameter 'bogus'")
    assert "exception_after" in message
    with pytest.raises(ClientError) as info:
        await converse(sim, f"{MODEL};exception_after=-1")
    assert "'exception_after'" in error_of(info)[2]


@pytest.mark.parametrize(
    ("messages", "extra", "message"),
    [
        (None, {}, "The messages field is required."),
        (
            [{"role": "assistant", "content": [{"text": "hi"}]}],
            {},
            "A conversation must start with a user message.",
        ),
        ([*USER, *USER], {}, "A conversation must alternate between user and assistant roles."),
        (
            [
                {
                    "role": "user",
                    "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "18 C"}]}}],
                }
            ],
            {"toolConfig": {"tools": [WEATHER]}},
            "The number of toolResult blocks at messages.0.content exceeds the number of toolUse blocks",
        ),
        (
            [
                *USER,
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}],
                },
                {"role": "user", "content": [{"text": "never mind"}]},
            ],
            {"toolConfig": {"tools": [WEATHER]}},
            "Expected toolResult blocks at messages.2.content for the following Ids: t1",
        ),
        (
            [
                *USER,
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}],
                },
                {
                    "role": "user",
                    "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}}],
                },
            ],
            {},
            "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
        ),
        (
            [
                *USER,
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}],
                },
                {
                    "role": "user",
                    "content": [{"toolResult": {"toolUseId": "t2", "content": [{"text": "ok"}]}}],
                },
            ],
            {"toolConfig": {"tools": [WEATHER]}},
            "The toolUseId t2 of a toolResult block at messages.2.content matches no toolUse block",
        ),
        (
            [{"role": "user", "content": [{"text": "  "}]}],
            {},
            "The text field in the ContentBlock object at messages.0.content.0 is blank.",
        ),
        (
            [{"role": "user", "content": []}],
            {},
            "The content field in the Message object at messages.0 is empty.",
        ),
        (
            [{"role": "user", "content": [{"image": {"format": "bmp", "source": {"bytes": b"x"}}}]}],
            {},
            "1 validation error detected: Value 'bmp' at 'messages.0.content.0.image.format'",
        ),
        (
            USER,
            {"inferenceConfig": {"temperature": 1.5}},
            "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy "
            "constraint: Member must have value less than or equal to 1",
        ),
        (
            USER,
            {"system": [{"text": " "}]},
            "The text field in the SystemContentBlock object at system.0 is blank.",
        ),
    ],
)
async def test_validation_errors(sim: Sim, messages: Any, extra: dict[str, Any], message: str) -> None:
    body = {"modelId": MODEL, **extra} | ({"messages": messages} if messages is not None else {})
    with pytest.raises(ClientError) as info:
        await run(lambda: sim.client.converse(**body))
    status, code, text = error_of(info)
    assert (status, code) == (400, "ValidationException")
    assert text.startswith(message)


# ------------------------------------------------------------------------------------ auth


async def test_wrong_secret_is_a_signature_error(sim: Sim) -> None:
    wrong = client(sim.url, secret="not-the-secret")
    with pytest.raises(ClientError) as info:
        await run(lambda: wrong.converse(modelId=MODEL, messages=USER))
    status, code, message = error_of(info)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    headers = info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"].startswith("InvalidSignatureException:")
    with pytest.raises(ClientError) as info:
        await run(lambda: drain(wrong.converse_stream(modelId=MODEL, messages=USER)))
    assert error_of(info)[:2] == (403, "InvalidSignatureException")
    wrong.close()


async def test_other_keys_session_tokens_and_unknown_keys(sim: Sim) -> None:
    second = client(sim.url, secret="second-secret", key="AKIDSECOND")
    response = await run(lambda: second.converse(modelId=MODEL, messages=USER))
    assert response["stopReason"] == "end_turn"
    temporary = boto3.client(
        "bedrock-runtime",
        region_name="eu-west-3",
        endpoint_url=sim.url,
        aws_access_key_id="AKIDSIMULATOR",
        aws_secret_access_key="sim-secret",
        aws_session_token="session-token-123",
    )
    response = await run(lambda: temporary.converse(modelId=MODEL, messages=USER))
    assert response["stopReason"] == "end_turn"
    record = sim.state.records[-1]
    assert record.headers["x-amz-security-token"] == "session-token-123"
    assert "/eu-west-3/bedrock/aws4_request" in record.headers["authorization"]
    assert "x-amz-security-token" in record.headers["authorization"]
    stranger = client(sim.url, key="AKIDUNKNOWN")
    with pytest.raises(ClientError) as info:
        await run(lambda: stranger.converse(modelId=MODEL, messages=USER))
    assert error_of(info) == (
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )


def quote(model: str) -> str:
    """Percent-encode a model id for the path as botocore does (``:`` -> ``%3A``, ``;`` -> ``%3B``)."""
    return urlquote(model, safe="-_.~")


def signed(
    base: str, path: str, payload: dict[str, Any] | bytes, secret: str = "sim-secret", **headers: str
) -> tuple[URL, dict[str, str], bytes]:
    """A request signed by botocore's own SigV4 signer: (URL to send verbatim, headers, body)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = botocore.awsrequest.AWSRequest(
        "POST", base + path, data=body, headers={"Content-Type": "application/json", **headers}
    )
    credentials = botocore.credentials.Credentials("AKIDSIMULATOR", secret)
    botocore.auth.SigV4Auth(credentials, "bedrock", "us-east-1").add_auth(request)
    return URL(base + path, encoded=True), dict(request.headers.items()), body


def first_frames(raw: bytes, count: int) -> Iterator[bytes]:
    offset = 0
    for _ in range(count):
        total = int.from_bytes(raw[offset : offset + 4], "big")
        yield raw[offset : offset + total]
        offset += total


async def test_raw_auth_failures(sim: Sim) -> None:
    path = f"/model/{quote(MODEL)}/converse"
    async with aiohttp.ClientSession() as http:
        url, headers, body = signed(sim.url, path, {"messages": USER})
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        async with http.post(url, data=body.replace(b"France", b"Spain"), headers=headers) as response:
            assert (response.status, response.headers["x-amzn-ErrorType"].split(":")[0]) == (
                403,
                "InvalidSignatureException",
            )
        anonymous = {"Content-Type": "application/json"}
        async with http.post(url, data=body, headers=anonymous) as response:
            assert response.status == 403
            assert response.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")
            assert await response.json() == {"message": "Missing Authentication Token"}
        # The canonical URI is the path as received: a client whose HTTP library decodes %3A
        # back to ':' after signing fails, as it would against AWS.
        decoded = URL(sim.url + path.replace("%3A", ":"), encoded=True)
        async with http.post(decoded, data=body, headers=headers) as response:
            assert response.status == 403
        hashed = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
        url, headers, body = signed(sim.url, path, {"messages": USER}, **hashed)
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        url, headers, body = signed(
            sim.url, path, {"messages": USER}, **{"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
        )
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        url, headers, body = signed(sim.url, path, {"messages": USER}, **{"X-Amz-Content-SHA256": "0" * 64})
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 403
        url, headers, body = signed(sim.url, path, b"{not json")
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 400
            assert response.headers["x-amzn-ErrorType"].startswith("SerializationException:")
        broken = dict(
            headers, Authorization="AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR/20240101/us-east-1/bedrock"
        )
        async with http.post(url, data=body, headers=broken) as response:
            assert response.headers["x-amzn-ErrorType"].startswith("IncompleteSignatureException:")


async def test_echo_headers_shows_what_arrived(sim: Sim) -> None:
    url, headers, body = signed(
        sim.url, f"/model/{quote(MODEL + ';echo_headers=1')}/converse", {"messages": USER}
    )
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        document = await response.json()
    assert document["sim_headers"]["authorization"] == headers["Authorization"]


async def test_register_sets_default_credentials() -> None:
    app = create_app()
    register(app)
    assert app[BEDROCK_CREDENTIALS] == {"AKIDSIMULATOR": "sim-secret"}


# ------------------------------------------------------------------------------ framing unit


def test_frames_decode_with_botocore() -> None:
    frames = eventstream.event("messageStop", {"stopReason": "end_turn"}) + eventstream.exception(
        "throttlingException", "slow down"
    )
    buffer = botocore.eventstream.EventStreamBuffer()
    buffer.add_data(frames)
    decoded = list(buffer)
    assert [m.headers for m in decoded] == [m.headers for m in eventstream.decode(frames)]
    assert decoded[0].headers == {
        ":event-type": "messageStop",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(decoded[1].payload) == {"message": "slow down"}
    with pytest.raises(eventstream.FramingError, match="truncated"):
        eventstream.decode(frames[:-1])
    buffer = botocore.eventstream.EventStreamBuffer()
    buffer.add_data(eventstream.corrupt(eventstream.event("metadata", {})))
    with pytest.raises(botocore.eventstream.ChecksumMismatch):
        list(buffer)
