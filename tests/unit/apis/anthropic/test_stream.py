"""The Anthropic SSE stream encoder: golden bytes, block ordering, endings and errors, and the
official SDK's accumulator reading each stream (over a real socket) into the same Message as the
equivalent whole answer."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from switchgear.apis.anthropic.codec import AnthropicMessagesCodec
from switchgear.apis.anthropic.stream import MessagesStreamEncoder
from switchgear.core.errors import UpstreamProtocolError, UpstreamTimeout
from switchgear.core.types import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage
from tests.unit.apis.anthropic.cases import STREAMS
from tests.unit.apis.anthropic.conftest import FIXTURES, ReplayServer

codec = AnthropicMessagesCodec()
START = StreamStart("chatcmpl-1", "upstream-model", 0)


def encoder() -> MessagesStreamEncoder:
    return codec.stream_encoder("claude-test", include_usage=False)


def run(events: list[StreamEvent], *, batch: int = 1) -> bytes:
    enc = encoder()
    out = b"".join(enc.encode(events[i : i + batch]) for i in range(0, len(events), batch))
    return out + enc.finish()


def parse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) per event, checking the framing: ``event:`` line, ``data:`` line, blank line."""
    assert raw.endswith(b"\n\n")
    out = []
    for block in raw.decode().split("\n\n")[:-1]:
        event_line, data_line = block.split("\n")
        name = event_line.removeprefix("event: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        out.append((name, data))
    return out


def shape(raw: bytes) -> list[str]:
    """A compact view: event names, with the block type on starts and the delta type on deltas."""
    out = []
    for name, data in parse(raw):
        if name == "content_block_start":
            out.append(f"start:{data['index']}:{data['content_block']['type']}")
        elif name == "content_block_delta":
            out.append(f"delta:{data['index']}:{data['delta']['type']}")
        elif name == "content_block_stop":
            out.append(f"stop:{data['index']}")
        else:
            out.append(name)
    return out


def test_tool_use_stream_matches_the_golden_bytes() -> None:
    events, _ = STREAMS["tool_use"]
    assert run(events) == (FIXTURES / "stream_tool_use.sse").read_bytes()


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("batch", [1, 2, 3, 100])
def test_bytes_do_not_depend_on_how_events_are_batched(name: str, batch: int) -> None:
    events, _ = STREAMS[name]
    assert run(events, batch=batch) == run(events)


def test_thinking_stream_blocks_in_order() -> None:
    events, _ = STREAMS["thinking"]
    raw = run(events)
    assert shape(raw) == [
        "message_start",
        "start:0:thinking",
        "delta:0:thinking_delta",
        "delta:0:thinking_delta",
        "delta:0:signature_delta",
        "stop:0",
        "start:1:redacted_thinking",
        "stop:1",
        "start:2:text",
        "delta:2:text_delta",
        "delta:2:text_delta",
        "stop:2",
        "message_delta",
        "message_stop",
    ]
    assert parse(raw)[0][1]["message"]["id"] == "msg_01Think"  # an Anthropic-style upstream id is kept


def test_blocks_close_when_the_kind_changes_and_thinking_after_a_signature_is_a_new_block() -> None:
    raw = run(
        [
            START,
            ReasoningDelta(0, "a"),
            ReasoningDelta(0, signature="s1"),
            ReasoningDelta(0, "b"),
            TextDelta(0, "x"),
            ToolCallDelta(0, 0, "c0", "f", "{}"),
            TextDelta(0, "y"),
            ReasoningDelta(0, signature="s2"),  # a signature with no open thinking block: a block of its own
            Finish(0, "stop"),
        ]
    )
    assert shape(raw) == [
        "message_start",
        "start:0:thinking",
        "delta:0:thinking_delta",
        "delta:0:signature_delta",
        "stop:0",
        "start:1:thinking",
        "delta:1:thinking_delta",
        "stop:1",
        "start:2:text",
        "delta:2:text_delta",
        "stop:2",
        "start:3:tool_use",
        "delta:3:input_json_delta",
        "stop:3",
        "start:4:text",
        "delta:4:text_delta",
        "stop:4",
        "start:5:thinking",
        "delta:5:signature_delta",
        "stop:5",
        "message_delta",
        "message_stop",
    ]
    # a tool call was made: the turn is a tool_use turn even though the upstream said stop
    assert parse(raw)[-2][1]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}


def test_without_usage_the_stream_still_ends_well_formed() -> None:
    enc = encoder()
    body = enc.encode([START, TextDelta(0, "hi"), Finish(0, "length")])
    assert shape(body) == ["message_start", "start:0:text", "delta:0:text_delta", "stop:0"]
    tail = enc.finish()
    assert parse(tail) == [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                "usage": {"output_tokens": 0},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    assert enc.finish() == b""
    assert enc.encode([TextDelta(0, "late")]) == b""


def test_usage_after_finish_ends_the_message_at_once_and_usage_before_finish_waits() -> None:
    enc = encoder()
    out = enc.encode([START, TextDelta(0, "hi"), Finish(0, "stop"), UsageEvent(Usage(10, 2))])
    assert shape(out)[-2:] == ["message_delta", "message_stop"]
    assert enc.finish() == b""
    enc = encoder()
    out = enc.encode([START, TextDelta(0, "hi"), UsageEvent(Usage(10, 2)), Finish(0, "stop")])
    assert "message_delta" not in shape(out)
    assert parse(enc.finish())[0][1]["usage"]["input_tokens"] == 10


def test_a_stream_without_a_start_event_gets_one_and_other_choices_are_ignored() -> None:
    raw = run(
        [
            TextDelta(1, "other choice"),
            TextDelta(0, ""),
            ToolCallDelta(0, 0, None, None, '{"a":1}'),
            Finish(1, "length"),
            Finish(0, "tool_calls"),
        ]
    )
    events = parse(raw)
    assert shape(raw) == [
        "message_start",
        "start:0:tool_use",
        "delta:0:input_json_delta",
        "stop:0",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["id"].startswith("msg_")
    block = events[1][1]["content_block"]
    assert block["id"].startswith("toolu_") and block["name"] == ""  # synthesized: the upstream sent none
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_an_interleaved_tool_call_cannot_be_streamed() -> None:
    enc = encoder()
    enc.encode([START, ToolCallDelta(0, 0, "a", "f", '{"x"'), ToolCallDelta(0, 1, "b", "g", "{}")])
    with pytest.raises(UpstreamProtocolError, match="tool call 0 continued"):
        enc.encode([ToolCallDelta(0, 0, None, None, ":1}")])


def test_error_event_ends_the_stream() -> None:
    enc = encoder()
    enc.encode([START, TextDelta(0, "partial")])
    raw = enc.error(UpstreamTimeout("provider 'x' timed out", provider="x"))
    assert raw == (
        b'event: error\ndata: {"type":"error","error":{"type":"timeout_error",'
        b'"message":"provider \'x\' timed out"}}\n\n'
    )
    assert enc.finish() == b""
    assert enc.error(UpstreamTimeout("again")) == b""


def test_the_sdk_raises_the_in_band_error(replay: ReplayServer) -> None:
    enc = encoder()
    raw = enc.encode([START, TextDelta(0, "partial")]) + enc.error(UpstreamTimeout("upstream stalled"))
    replay.serve("stream-error", raw, content_type="text/event-stream")
    request: Any = {"model": "claude-test", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    with (
        replay.client("stream-error") as client,
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(**request) as stream,
    ):
        stream.get_final_message()
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "timeout_error", "message": "upstream stalled"},
    }


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_the_sdk_accumulates_the_stream_into_the_message_of_the_whole_answer(
    replay: ReplayServer, name: str
) -> None:
    events, whole = STREAMS[name]
    replay.serve(f"stream-{name}", run(events), content_type="text/event-stream")
    replay.serve(f"whole-stream-{name}", codec.encode_response(whole, "claude-test"))
    request: Any = {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    with replay.client(f"stream-{name}") as client, client.messages.stream(**request) as stream:
        streamed = stream.get_final_message()
    with replay.client(f"whole-stream-{name}") as client:
        answered = client.messages.create(**request)
    assert anthropic.types.Message.model_validate(streamed.model_dump()) == answered
    expected = json.loads(codec.encode_response(whole, "claude-test"))
    assert streamed.model_dump(exclude_none=True) == {k: v for k, v in expected.items() if v is not None}
