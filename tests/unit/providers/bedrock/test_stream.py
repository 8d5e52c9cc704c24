"""ConverseStream: a binary fixture decoded at every split reassembles to the non-streamed answer;
in-stream exceptions, cut streams and garbage."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from switchgear.core.errors import UpstreamProtocolError, UpstreamStatusError
from switchgear.core.types import (
    Finish,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage
from tests.unit.providers.bedrock.frames import encode_message, error, event, exception
from tests.unit.providers.bedrock.support import (
    ADAPTER,
    FIXTURES,
    NOW,
    REGENERATE,
    botocore_stream_events,
    deployment,
    validate_answer,
)

MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("messageStart", {"p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0", "role": "assistant"}),
    (
        "contentBlockDelta",
        {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "The user wants"}}},
    ),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": " the weather."}}}),
    (
        "contentBlockDelta",
        {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "EqQBCkYIARgC"}}},
    ),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "I'll check "}, "p": "abcd"}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Paris ☀."}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    (
        "contentBlockStart",
        {
            "contentBlockIndex": 2,
            "start": {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather"}},
        },
    ),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": ""}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"city":'}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": ' "Paris"}'}}}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    (
        "contentBlockStart",
        {
            "contentBlockIndex": 3,
            "start": {"toolUse": {"toolUseId": "sgb_Y2FsbC53aXRoLmRvdHMvMQ", "name": "get_time"}},
        },
    ),
    ("contentBlockStop", {"contentBlockIndex": 3}),
    ("messageStop", {"stopReason": "tool_use"}),
    (
        "metadata",
        {
            "usage": {"inputTokens": 120, "outputTokens": 48, "totalTokens": 200, "cacheReadInputTokens": 32},
            "metrics": {"latencyMs": 812},
        },
    ),
]
STREAM = b"".join(event(name, payload) for name, payload in EVENTS)
# The same answer, not streamed.
ANSWER = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {
                    "reasoningContent": {
                        "reasoningText": {"text": "The user wants the weather.", "signature": "EqQBCkYIARgC"}
                    }
                },
                {"text": "I'll check Paris ☀."},
                {
                    "toolUse": {
                        "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                },
                {"toolUse": {"toolUseId": "sgb_Y2FsbC53aXRoLmRvdHMvMQ", "name": "get_time", "input": {}}},
            ],
        }
    },
    "stopReason": "tool_use",
    "usage": {"inputTokens": 120, "outputTokens": 48, "totalTokens": 200, "cacheReadInputTokens": 32},
    "metrics": {"latencyMs": 812},
}


def test_binary_fixture_is_the_encoded_stream() -> None:
    path = FIXTURES / "stream.bin"
    if REGENERATE:
        path.write_bytes(STREAM)
    assert path.read_bytes() == STREAM


def test_botocore_reads_the_fixture_as_the_same_events() -> None:
    def without_padding(payload: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in payload.items() if k != "p"}

    assert botocore_stream_events((FIXTURES / "stream.bin").read_bytes()) == [
        {name: without_padding(payload)} for name, payload in EVENTS
    ]
    validate_answer(ANSWER)


def test_botocore_reads_the_exception_frames_as_errors() -> None:
    from botocore.exceptions import EventStreamError

    with pytest.raises(EventStreamError, match="throttlingException"):
        botocore_stream_events(exception("throttlingException", {"message": "slow down"}))


def decode(data: bytes, size: int) -> list[StreamEvent]:
    decoder = ADAPTER.stream_decoder(deployment(MODEL))
    events: list[StreamEvent] = []
    for start in range(0, len(data), size):
        events.extend(decoder.feed(data[start : start + size]))
    events.extend(decoder.finish())
    assert decoder.usage == next((e.usage for e in events if isinstance(e, UsageEvent)), None)
    return events


def reassemble(events: list[StreamEvent]) -> tuple[Message, Finish, Usage | None]:
    """What a client-side accumulator makes of the events (signature/redacted close a reasoning part)."""
    assert isinstance(events[0], StreamStart)
    assert sum(isinstance(e, StreamStart) for e in events) == 1
    message = Message("assistant")
    text: list[str] = []
    finish: Finish | None = None
    usage: Usage | None = None
    for e in events[1:]:
        match e:
            case TextDelta(text=piece):
                text.append(piece)
            case ReasoningDelta(text=piece, signature=signature, redacted=redacted):
                if not message.reasoning or message.reasoning[-1].signature or message.reasoning[-1].redacted:
                    message.reasoning.append(ReasoningPart())
                part = message.reasoning[-1]
                part.text += piece
                part.signature = signature or part.signature
                part.redacted = redacted or part.redacted
            case ToolCallDelta(call_index=i, id=call_id, name=name, arguments=arguments):
                if call_id is not None:
                    assert i == len(message.tool_calls) and name is not None
                    message.tool_calls.append(ToolCall(call_id, name, ""))
                else:
                    assert name is None
                message.tool_calls[i].arguments += arguments
            case Finish():
                assert finish is None
                finish = e
            case UsageEvent():
                assert finish is not None  # usage comes after the finish
                usage = e.usage
            case StreamStart():
                raise AssertionError("a second StreamStart")
    if text:
        message.content.append(TextPart("".join(text)))
    assert finish is not None
    return message, finish, usage


def normalized(message: Message) -> Message:
    for call in message.tool_calls:
        call.arguments = json.dumps(json.loads(call.arguments), sort_keys=True)
    return message


def test_events_of_the_fixture() -> None:
    events = decode((FIXTURES / "stream.bin").read_bytes(), len(STREAM))
    start = events[0]
    assert isinstance(start, StreamStart)
    assert re.fullmatch(r"bedrock-[0-9a-f]{32}", start.id)
    assert (start.model, start.created) == (MODEL, int(NOW.timestamp()))
    assert events[1:] == [
        ReasoningDelta(0, text="The user wants"),
        ReasoningDelta(0, text=" the weather."),
        ReasoningDelta(0, signature="EqQBCkYIARgC"),
        TextDelta(0, "I'll check "),
        TextDelta(0, "Paris ☀."),
        ToolCallDelta(0, 0, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather", ""),
        ToolCallDelta(0, 0, None, None, '{"city":'),
        ToolCallDelta(0, 0, None, None, ' "Paris"}'),
        ToolCallDelta(0, 1, "call.with.dots/1", "get_time", ""),
        ToolCallDelta(0, 1, None, None, "{}"),
        Finish(0, "tool_calls", "tool_use"),
        UsageEvent(Usage(prompt_tokens=152, completion_tokens=48, cached_tokens=32, reported=True)),
    ]


@pytest.mark.parametrize("size", range(1, 65))
def test_every_split_reassembles_to_the_non_streamed_answer(size: int) -> None:
    data = (FIXTURES / "stream.bin").read_bytes()
    message, finish, usage = reassemble(decode(data, size))
    answer = ADAPTER.parse_response(json.dumps(ANSWER).encode(), deployment(MODEL))
    choice = answer.choices[0]
    assert normalized(message) == normalized(choice.message)
    assert (finish.reason, finish.native_reason) == (choice.finish_reason, choice.native_finish_reason)
    assert usage == answer.usage


def test_redacted_reasoning_and_unknown_events_are_handled() -> None:
    data = b"".join(
        [
            event("messageStart", {"role": "assistant"}),
            event(
                "contentBlockDelta",
                {"contentBlockIndex": 0, "delta": {"reasoningContent": {"redactedContent": "UkVE"}}},
            ),
            event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"citation": {"title": "x"}}}),
            event("somethingNew", {"whatever": 1}),
            encode_message([(":message-type", 7, "ping")], b""),
            event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": ""}}),
            event("messageStop", {"stopReason": "end_turn"}),
        ]
    )
    events = decode(data, 7)
    assert events[1:] == [ReasoningDelta(0, redacted="UkVE"), Finish(0, "stop", "end_turn")]


def test_events_before_message_start_still_open_the_stream() -> None:
    events = decode(
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}})
        + event("messageStop", {"stopReason": "end_turn"}),
        100,
    )
    assert isinstance(events[0], StreamStart)
    assert events[1] == TextDelta(0, "hi")


@pytest.mark.parametrize(
    ("frame", "status", "type_", "message"),
    [
        (
            exception("throttlingException", {"message": "Too many requests, please wait."}),
            429,
            "rate_limit_error",
            "provider 'aws': Too many requests, please wait.",
        ),
        (
            exception("validationException", {"message": "Input is too long for requested model."}),
            400,
            "invalid_request_error",
            "provider 'aws': Input is too long for requested model.",
        ),
        (
            exception(
                "modelStreamErrorException", {"message": "secret internals", "originalStatusCode": 500}
            ),
            502,
            "server_error",
            "provider 'aws' failed with an in-stream error (ModelStreamErrorException)",
        ),
        (
            exception("internalServerException", {"message": "x"}),
            502,
            "server_error",
            "provider 'aws' failed with an in-stream error (InternalServerException)",
        ),
        (
            exception("serviceUnavailableException", {"message": "x"}),
            503,
            "server_error",
            "provider 'aws' failed with an in-stream error (ServiceUnavailableException)",
        ),
        (
            error("InternalFailure", "boom"),
            502,
            "server_error",
            "provider 'aws' failed with an in-stream error (InternalFailure)",
        ),
    ],
)
def test_in_stream_exceptions_raise_the_mapped_error(
    frame: bytes, status: int, type_: str, message: str
) -> None:
    decoder = ADAPTER.stream_decoder(deployment(MODEL))
    assert len(decoder.feed(event("messageStart", {"role": "assistant"}))) == 1
    with pytest.raises(UpstreamStatusError) as caught:
        for i in range(len(frame)):
            decoder.feed(frame[i : i + 1])
    exc = caught.value
    assert (exc.status, exc.type, exc.message, exc.provider) == (status, type_, message, "aws")
    if "too long" in message:
        assert exc.code == "context_length_exceeded"


def test_cut_stream_is_a_protocol_error() -> None:
    decoder = ADAPTER.stream_decoder(deployment(MODEL))
    decoder.feed(STREAM[:-3])
    with pytest.raises(UpstreamProtocolError, match="middle of an event-stream message"):
        decoder.finish()


def test_stream_without_message_stop_is_a_protocol_error() -> None:
    decoder = ADAPTER.stream_decoder(deployment(MODEL))
    decoder.feed(event("messageStart", {"role": "assistant"}))
    with pytest.raises(UpstreamProtocolError, match="without messageStop"):
        decoder.finish()


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        (event("messageStart", {"role": "assistant"})[:-1] + b"\x00", "malformed event stream: message CRC"),
        (
            encode_message([(":message-type", 7, "event"), (":event-type", 7, "messageStop")], b"{nope"),
            "not JSON",
        ),
        (
            encode_message([(":message-type", 7, "event"), (":event-type", 7, "messageStop")], b"[]"),
            "not an object",
        ),
        (event("contentBlockDelta", {"contentBlockIndex": 0}), "without a delta"),
        (
            event("contentBlockDelta", {"contentBlockIndex": 4, "delta": {"toolUse": {"input": "{}"}}}),
            "no tool call",
        ),
        (
            event("contentBlockStart", {"contentBlockIndex": 4, "start": {"toolUse": {"name": "f"}}}),
            "without id",
        ),
    ],
)
def test_garbage_is_a_protocol_error(frame: bytes, what: str) -> None:
    decoder = ADAPTER.stream_decoder(deployment(MODEL, name="aws-east"))
    with pytest.raises(UpstreamProtocolError, match=what) as caught:
        decoder.feed(frame)
    assert caught.value.provider == "aws-east"
