"""Anthropic Messages passed through to Claude on Bedrock (InvokeModel): the signed request, the
answer and its usage, and the event stream relayed as Anthropic SSE over every byte split."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from switchgear.core.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from switchgear.core.usage import Usage
from switchgear.providers.bedrock.relay import BedrockInvokeRelay
from tests.unit.providers.bedrock.frames import encode_message, event, exception
from tests.unit.providers.bedrock.support import ADAPTER, AKID, deployment
from tests.unit.providers.bedrock.test_adapter import TOKEN, resigned_by_botocore

CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
HOST = "bedrock-runtime.us-west-2.amazonaws.com"
THINKING = {"type": "thinking", "thinking": "Hmm.", "signature": "c2ln"}
CLIENT_BODY: dict[str, Any] = {
    "model": "claude-sonnet-4",
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [THINKING, {"type": "text", "text": "Hello"}]},
        {"role": "user", "content": "Again"},
    ],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "future_field": {"kept": True},
}
BETAS = {"Anthropic-Beta": "interleaved-thinking-2025-05-14, context-1m-2025-08-07"}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("token", [None, TOKEN])
def test_signed_invoke_request(monkeypatch: pytest.MonkeyPatch, stream: bool, token: str | None) -> None:
    body = CLIENT_BODY | {"stream": True} if stream else CLIENT_BODY
    target = deployment(CLAUDE, token=token)
    built = ADAPTER.build_passthrough("messages", body, target, want_usage=True, client_headers=BETAS)
    operation = "invoke-with-response-stream" if stream else "invoke"
    assert (built.method, built.url) == (
        "POST",
        f"https://{HOST}/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/{operation}",
    )
    assert json.loads(built.body) == {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "system": CLIENT_BODY["system"],
        "messages": CLIENT_BODY["messages"],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "future_field": {"kept": True},
        "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
    }
    headers = dict(built.headers)
    authorization = headers.pop("authorization")
    expected = {
        "content-type": "application/json",
        "accept": "application/vnd.amazon.eventstream" if stream else "application/json",
        "host": HOST,
        "x-amz-date": "20260309T120000Z",
        "x-amz-content-sha256": hashlib.sha256(built.body).hexdigest(),
    }
    if token:
        expected["x-amz-security-token"] = token
    assert headers == expected
    signed = "accept;content-type;host;x-amz-content-sha256;x-amz-date" + (
        ";x-amz-security-token" if token else ""
    )
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential={AKID}/20260309/us-west-2/bedrock/aws4_request, "
        f"SignedHeaders={signed}, Signature="
    )
    assert authorization == resigned_by_botocore(monkeypatch, built, "us-west-2", token)


def test_body_without_betas_and_with_a_bedrock_api_key() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [], "anthropic_version": "old", "stream": False}
    built = ADAPTER.build_passthrough(
        "messages", body, deployment(CLAUDE, api_key="ABSKkey"), want_usage=False
    )
    assert built.url.endswith("/invoke")
    assert built.body == b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}'
    assert built.headers["authorization"] == "Bearer ABSKkey"


def test_other_endpoints_are_refused() -> None:
    target = deployment(CLAUDE)
    with pytest.raises(InvalidRequest, match=r"^token counting is not available for Bedrock$"):
        ADAPTER.build_passthrough("count_tokens", CLIENT_BODY, target, want_usage=False)
    with pytest.raises(InvalidRequest, match="does not serve the 'chat' endpoint"):
        ADAPTER.build_passthrough("chat", {}, target, want_usage=True)


@pytest.mark.parametrize(
    ("api", "model", "expected"),
    [
        ("messages", "anthropic.claude-3-5-sonnet-20241022-v2:0", True),
        ("messages", CLAUDE, True),
        ("messages", "eu.anthropic.claude-3-haiku-20240307-v1:0", True),
        ("messages", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x", True),
        (
            "messages",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/claude-team",
            True,
        ),
        ("messages", "amazon.nova-pro-v1:0", False),
        ("messages", "meta.llama3-1-8b-instruct-v1:0", False),
        ("chat", CLAUDE, False),
        ("responses", CLAUDE, False),
        ("count_tokens", CLAUDE, False),
    ],
)
def test_passes_through(api: str, model: str, expected: bool) -> None:
    assert ADAPTER.passes_through(api, deployment(model)) is expected


MESSAGE = {
    "id": "msg_bdrk_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [THINKING, {"type": "text", "text": "Paris."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": 3,
        "cache_read_input_tokens": 100,
        "output_tokens": 7,
    },
}


def test_answer_is_returned_unchanged_with_its_usage() -> None:
    raw = json.dumps(MESSAGE, indent=1).encode()
    out, usage = ADAPTER.read_answer("messages", CLIENT_BODY, raw, deployment(CLAUDE))
    assert out is raw
    assert usage == Usage(
        prompt_tokens=115, completion_tokens=7, cached_tokens=100, cache_write_tokens=3, reported=True
    )


def test_answers_that_are_not_messages() -> None:
    target = deployment(CLAUDE)
    with pytest.raises(UpstreamProtocolError, match="not an Anthropic message"):
        ADAPTER.read_answer("messages", {}, b'{"message": "hi"}', target)
    with pytest.raises(UpstreamProtocolError, match="not JSON"):
        ADAPTER.read_answer("messages", {}, b"<html>", target)
    error = b'{"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}'
    with pytest.raises(UpstreamStatusError) as info:
        ADAPTER.read_answer("messages", {}, error, target)
    assert info.value.status == 429


def test_http_errors_use_the_bedrock_shape() -> None:
    headers = {"x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    body = b'{"message": "messages: at least one message is required"}'
    error = ADAPTER.map_error(400, headers, body, "aws")
    assert (error.status, error.upstream_type, error.message) == (
        400,
        "ValidationException",
        "provider 'aws': messages: at least one message is required",
    )


# --- streams ------------------------------------------------------------------------------------

START = {
    "type": "message_start",
    "message": {
        "id": "msg_bdrk_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "output_tokens": 1},
    },
}
EVENTS: list[dict[str, Any]] = [
    START,
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "c2ln"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "text_delta", "text": "Par\u00eds \u2014 ok"},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 7},
    },
    {
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {"inputTokenCount": 12, "outputTokenCount": 7},
    },
]


def chunk(document: dict[str, Any]) -> tuple[bytes, bytes]:
    """(the event-stream frame, the JSON it carries) for one Anthropic event."""
    raw = json.dumps(document, ensure_ascii=False).encode()
    return event("chunk", {"bytes": base64.b64encode(raw).decode()}), raw


FRAMES = [chunk(e) for e in EVENTS]
STREAM = b"".join(frame for frame, _ in FRAMES)
EXPECTED = b"".join(
    b"event: " + e["type"].encode() + b"\ndata: " + raw + b"\n\n"
    for e, (_, raw) in zip(EVENTS, FRAMES, strict=True)
)


def relay_all(data: bytes, size: int) -> tuple[bytes, BedrockInvokeRelay]:
    relay = ADAPTER.stream_relay(deployment(CLAUDE), client_wants_usage=True, endpoint="messages")
    out = b"".join(relay.feed(data[i : i + size]) for i in range(0, len(data), size))
    return out + relay.finish(), relay


@pytest.mark.parametrize("size", range(1, 65))
def test_stream_relays_as_anthropic_sse_at_every_split(size: int) -> None:
    out, relay = relay_all(STREAM, size)
    assert out == EXPECTED
    assert relay.done
    assert relay.events == len(EVENTS)
    assert relay.usage == Usage(prompt_tokens=112, completion_tokens=7, cached_tokens=100, reported=True)
    assert relay.failed is None


def test_events_after_message_stop_are_not_forwarded() -> None:
    extra, _ = chunk({"type": "ping"})
    out, _ = relay_all(STREAM + extra, 4096)
    assert out == EXPECTED


def test_exception_frame_becomes_an_error_event() -> None:
    data = FRAMES[0][0] + exception("throttlingException", {"message": "Too many requests"})
    out, relay = relay_all(data, 7)
    assert out == (
        b"event: message_start\ndata: " + FRAMES[0][1] + b"\n\n"
        b'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error",'
        b'"message":"provider \'aws\': Too many requests"}}\n\n'
    )
    assert relay.done
    assert relay.failed is not None and relay.failed.status == 429


def test_error_message_frame_becomes_an_error_event() -> None:
    data = encode_message([(":error-code", 7, "InternalFailure"), (":message-type", 7, "error")], b"")
    out, relay = relay_all(data, 64)
    assert out.startswith(b'event: error\ndata: {"type":"error","error":{"type":"api_error"')
    assert relay.done


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"".join(frame for frame, _ in FRAMES[:3]), "ended the stream before message_stop"),
        (STREAM[: len(STREAM) - 5], "ended in the middle of an event-stream message"),
    ],
)
def test_cut_stream_ends_with_an_error_event(data: bytes, reason: str) -> None:
    out, relay = relay_all(data, 9)
    tail = (
        b'event: error\ndata: {"type":"error","error":{"type":"api_error",'
        b'"message":"provider \'aws\' ' + reason.encode() + b'"}}\n\n'
    )
    assert out.endswith(tail)
    assert relay.done


@pytest.mark.parametrize(
    "frame",
    [
        event("chunk", {"bytes": "not base64!"}),
        event("chunk", {"bytes": base64.b64encode(b"{nope").decode()}),
        event("chunk", {"bytes": base64.b64encode(b'{"type": "a\\nb"}').decode()}),
        event("chunk", {"other": 1}),
        encode_message([(":message-type", 7, "event")], b"x")[:-1] + b"\x00",
    ],
)
def test_garbage_is_a_protocol_error(frame: bytes) -> None:
    relay = BedrockInvokeRelay("aws")
    with pytest.raises(UpstreamProtocolError):
        relay.feed(frame)


def test_pretty_printed_chunks_are_compacted() -> None:
    raw = json.dumps({"type": "ping"}, indent=2).encode()
    relay = BedrockInvokeRelay("aws")
    assert relay.feed(event("chunk", {"bytes": base64.b64encode(raw).decode()})) == (
        b'event: ping\ndata: {"type":"ping"}\n\n'
    )


# --- suspicious usage reaches the client as the numbers the gateway records ---------------------


def test_answer_with_suspicious_usage_is_restated() -> None:
    usage = {**MESSAGE["usage"], "input_tokens": -5, "output_tokens": 10**12}
    out, read = ADAPTER.read_answer(
        "messages", CLIENT_BODY, json.dumps({**MESSAGE, "usage": usage}).encode(), deployment(CLAUDE)
    )
    assert json.loads(out) == {**MESSAGE, "usage": {**usage, "input_tokens": 0, "output_tokens": 100_000_000}}
    assert (read.prompt_tokens, read.completion_tokens, read.suspicious) == (103, 100_000_000, True)


@pytest.mark.parametrize("size", [1, 13, 4096])
def test_stream_with_suspicious_usage_is_restated_metrics_too(size: int) -> None:
    absurd = [dict(e) for e in EVENTS]
    absurd[-2] = {**absurd[-2], "usage": {"output_tokens": 10**20}}
    absurd[-1] = {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": 12, "outputTokenCount": 10**20, "invocationLatency": 40}}  # fmt: skip
    out, relay = relay_all(b"".join(chunk(e)[0] for e in absurd), size)
    sent = [json.loads(e.split(b"data: ", 1)[1]) for e in out.split(b"\n\n")[:-1]]
    assert sent[:-2] == EVENTS[:-2]  # everything before is the provider's
    assert sent[-2]["usage"] == {"output_tokens": 100_000_000}
    assert sent[-1]["amazon-bedrock-invocationMetrics"] == {
        "inputTokenCount": 12,
        "outputTokenCount": 100_000_000,
        "invocationLatency": 40,
    }
    assert relay.usage is not None and relay.usage.suspicious
    assert (relay.usage.prompt_tokens, relay.usage.completion_tokens) == (112, 100_000_000)
