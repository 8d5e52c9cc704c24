"""AnthropicStreamDecoder on recorded streams: the same events at every split size, reassembly
to the non-streamed answer, usage, in-band errors and garbage."""

from __future__ import annotations

import json

import pytest

from switchgear.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from switchgear.core.redact import Redactor
from switchgear.core.types import StreamEvent, StreamStart, TextDelta, ToolCallDelta
from switchgear.providers.anthropic import AnthropicStreamDecoder

from .goldens import ADAPTER, deployment, events_json, golden, golden_bytes, reassemble

STREAM = golden_bytes("stream_tools.sse")
ERROR_STREAM = golden_bytes("stream_error.sse")
SPLITS = range(1, 65)


def decoder() -> AnthropicStreamDecoder:
    return ADAPTER.stream_decoder(deployment())


def decode(data: bytes, size: int | None = None) -> list[StreamEvent]:
    d = decoder()
    size = size or len(data)
    events: list[StreamEvent] = []
    for i in range(0, len(data), size):
        events += d.feed(data[i : i + size])
    return events + d.finish()


def decode_until_error(data: bytes, size: int) -> tuple[list[StreamEvent], UpstreamError]:
    d = decoder()
    events: list[StreamEvent] = []
    try:
        for i in range(0, len(data), size):
            events += d.feed(data[i : i + size])
        events += d.finish()
    except UpstreamError as exc:
        return events, exc
    raise AssertionError("no error raised")


def test_golden_stream_decodes_to_the_golden_events() -> None:
    assert events_json(decode(STREAM)) == golden("stream_tools_events.json")["events"]


@pytest.mark.parametrize("size", SPLITS)
def test_every_split_gives_the_same_events(size: int) -> None:
    assert events_json(decode(STREAM, size)) == golden("stream_tools_events.json")["events"]


def test_crlf_framing_gives_the_same_events() -> None:
    crlf = STREAM.replace(b"\n", b"\r\n")
    for size in (1, 2, 3, 7, 64):
        assert events_json(decode(crlf, size)) == golden("stream_tools_events.json")["events"]


def test_stream_reassembles_to_the_non_streamed_answer() -> None:
    whole = ADAPTER.parse_response(
        json.dumps(golden("stream_tools_message.json")["anthropic"]).encode(), deployment()
    )
    streamed = reassemble(decode(STREAM, 5))
    expected = whole.choices[0].message
    assert streamed.text() == expected.text()
    assert streamed.reasoning == expected.reasoning
    assert [(c.id, c.name, json.loads(c.arguments)) for c in streamed.tool_calls] == [
        (c.id, c.name, json.loads(c.arguments)) for c in expected.tool_calls
    ]
    d = decoder()
    d.feed(STREAM)
    assert d.usage == whole.usage


def test_usage_is_known_from_message_start_and_replaced_by_message_delta() -> None:
    d = decoder()
    first_event_end = STREAM.index(b"\n\n") + 2
    d.feed(STREAM[:first_event_end])
    assert d.usage is not None
    assert (d.usage.prompt_tokens, d.usage.cached_tokens, d.usage.completion_tokens) == (1820, 1800, 1)
    d.feed(STREAM[first_event_end:])
    assert (d.usage.prompt_tokens, d.usage.completion_tokens) == (1820, 118)


def test_message_delta_usage_replaces_input_counts_when_given() -> None:
    stream = STREAM.replace(
        b'"usage":{"output_tokens":118}', b'"usage":{"input_tokens":25,"output_tokens":118}'
    )
    d = decoder()
    d.feed(stream)
    assert d.usage is not None
    assert (d.usage.prompt_tokens, d.usage.cached_tokens, d.usage.completion_tokens) == (1825, 1800, 118)


@pytest.mark.parametrize("size", SPLITS)
def test_mid_stream_error_event_raises_after_the_events_before_it(size: int) -> None:
    events, exc = decode_until_error(ERROR_STREAM, size)
    assert isinstance(events[0], StreamStart)
    assert events[1:] == [TextDelta(0, "Partial answ")]
    assert isinstance(exc, UpstreamStatusError)
    assert (exc.status, exc.code, exc.anthropic_type, exc.upstream_status) == (
        503,
        "overloaded",
        "overloaded_error",
        529,
    )
    assert exc.message == "provider 'claude' failed mid-answer (overloaded_error)"


def test_error_event_in_the_same_read_as_text_is_raised_on_the_next_call() -> None:
    d = decoder()
    events = d.feed(ERROR_STREAM)
    assert [type(e).__name__ for e in events] == ["StreamStart", "TextDelta"]
    with pytest.raises(UpstreamStatusError):
        d.feed(b"")
    with pytest.raises(UpstreamStatusError):
        d.finish()


def test_client_side_error_event_keeps_its_message() -> None:
    error = (
        b'event: error\ndata: {"type":"error","error":{"type":"invalid_request_error",'
        b'"message":"bad key sk-ant-api03-abcdefghijklmnop"}}\n\n'
    )
    with pytest.raises(UpstreamStatusError) as caught:
        decoder().feed(error)
    assert caught.value.status == 400
    assert caught.value.message == "provider 'claude': bad key sk-ant-api03-abcdefghijklmnop"
    assert Redactor().error(caught.value).message == "provider 'claude': bad key sk-***"  # as sent on


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (STREAM.index(b"event: message_stop"), "ended the stream before message_stop"),
        (STREAM.index(b"event: message_stop") + 10, "ended in the middle of an event"),
        (0, "ended the stream before message_stop"),
    ],
)
def test_a_cut_stream_is_a_protocol_error(cut: int, reason: str) -> None:
    d = decoder()
    d.feed(STREAM[:cut])
    with pytest.raises(UpstreamProtocolError, match=f"^provider 'claude' {reason}$"):
        d.finish()


def sse(*events: str) -> bytes:
    return b"".join(f"event: x\ndata: {e}\n\n".encode() for e in events)


START = (
    '{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1,"output_tokens":0}}}'
)


@pytest.mark.parametrize(
    "data",
    [
        b"event: message_start\ndata: {not json\n\n",
        b"data: [1]\n\n",
        sse('{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
        sse(START, '{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"x"}}'),
        sse(START, '{"type":"content_block_start","content_block":{"type":"text","text":""}}'),
        sse(START, '{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","input":{}}}'),
        sse('{"type":"message_start"}'),
    ],
)
def test_garbage_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        decode(data)


def test_noise_is_tolerated() -> None:
    data = (
        b": a comment\n\n"
        + sse(START)
        + sse('{"type":"ping"}', '{"type":"something_new","x":1}')
        + sse(
            '{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"s","name":"web_search","input":{}}}'
        )
        + sse(
            '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}'
        )
        + sse('{"type":"content_block_stop","index":0}')
        + sse('{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}')
        + sse('{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}')
        + sse('{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"ok"}}')
        + sse('{"type":"content_block_stop","index":1}')
        + sse('{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}')
        + sse('{"type":"message_stop"}')
        + sse('{"type":"ping"}')
    )
    events = decode(data)
    assert [type(e).__name__ for e in events] == ["StreamStart", "TextDelta", "Finish", "UsageEvent"]


def test_redacted_thinking_and_a_tool_call_with_its_whole_input_up_front() -> None:
    data = sse(
        START,
        '{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwK"}}',
        '{"type":"content_block_stop","index":0}',
        '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{"a":1}}}',
        '{"type":"content_block_stop","index":1}',
        '{"type":"message_stop"}',
    )
    events = decode(data)
    assert events_json(events[1:4]) == [
        {"event": "ReasoningDelta", "index": 0, "text": "", "signature": None, "redacted": "EmwK"},
        {"event": "ToolCallDelta", "index": 0, "call_index": 0, "id": "t", "name": "f", "arguments": ""},
        {
            "event": "ToolCallDelta",
            "index": 0,
            "call_index": 0,
            "id": None,
            "name": None,
            "arguments": '{"a":1}',
        },
    ]
    # no stop_reason ever came: the end of the message still finishes the choice
    assert events_json(events[4:5]) == [
        {"event": "Finish", "index": 0, "reason": "stop", "native_reason": None}
    ]
    assert not any(isinstance(e, ToolCallDelta) and e.arguments == "{}" for e in events)


@pytest.mark.parametrize("count", [10**20, -(10**20), 10**12, -5])
def test_absurd_usage_reads_the_same_streamed_and_whole(count: int) -> None:
    """The stream's events are parsed by orjson (a count beyond 64 bits becomes a float), the whole
    answer exactly (an int): both must give the same clamped usage (it once gave 0 and 10**8)."""
    message = golden("stream_tools_message.json")["anthropic"]
    whole = ADAPTER.parse_response(
        json.dumps({**message, "usage": {**message["usage"], "output_tokens": count}}).encode(), deployment()
    )
    d = decoder()
    d.feed(STREAM.replace(b'"usage":{"output_tokens":118}', b'"usage":{"output_tokens":%d}' % count))
    assert d.usage == whole.usage
    assert whole.usage.suspicious
    assert whole.usage.completion_tokens == (100_000_000 if count > 0 else 0)
