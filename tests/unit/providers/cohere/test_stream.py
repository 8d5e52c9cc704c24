"""CohereStreamDecoder on golden SSE streams: every byte split, reassembly, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchgear.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from switchgear.core.types import Finish, StreamEvent, StreamStart, UsageEvent
from tests.unit.providers.cohere.support import ADAPTER, deployment, dump_events, raw, reassemble

# stream fixture -> the non-streamed answer it must reassemble to
PAIRS = {"tools.sse": "tools.json", "thinking.sse": "thinking.json"}
SPLITS = range(1, 65)


def decode(data: bytes, size: int | None = None) -> list[StreamEvent]:
    decoder = ADAPTER.stream_decoder(deployment())
    size = size or len(data) or 1
    events: list[StreamEvent] = []
    for i in range(0, len(data), size):
        events += decoder.feed(data[i : i + size])
    return events + decoder.finish()


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


START = {"type": "message-start", "id": "s1", "delta": {"message": {"role": "assistant"}}}
END = {"type": "message-end", "delta": {"finish_reason": "COMPLETE"}}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_every_split_gives_the_same_events_and_the_whole_answer(name: str) -> None:
    data = raw(f"streams/{name}")
    whole = decode(data)
    expected = ADAPTER.parse_response(raw(f"responses/{PAIRS[name]}"), deployment())
    choice = expected.choices[0]
    assert reassemble(whole) == choice.message
    assert isinstance(whole[0], StreamStart) and whole[0].id == expected.id
    assert whole[-2] == Finish(0, choice.finish_reason or "stop", choice.native_finish_reason)
    assert whole[-1] == UsageEvent(expected.usage)
    for size in SPLITS:
        assert dump_events(decode(data, size)) == dump_events(whole), size


def test_tool_stream_events() -> None:
    events = dump_events(decode(raw("streams/tools.sse")))
    calls = [e for e in events if e["type"] == "ToolCallDelta"]
    assert calls[0] == {
        "type": "ToolCallDelta",
        "index": 0,
        "call_index": 0,
        "id": "get_weather_7h3k9x2m",
        "name": "get_weather",
        "arguments": "",
    }
    assert [c["arguments"] for c in calls[1:]] == ['{"city":', '"Paris","unit"', ':"celsius"}', "", "{}"]
    assert [(c["call_index"], c["id"]) for c in calls[3:]] == [(0, None), (1, "get_time_1q2w3e4r"), (1, None)]


def test_content_before_message_start_and_unterminated_last_event() -> None:
    data = (
        sse({"type": "content-delta", "delta": {"message": {"content": {"text": "hi"}}}})
        + b"data: "
        + json.dumps(END).encode()
    )
    events = decode(data)
    assert [type(e).__name__ for e in events] == ["StreamStart", "TextDelta", "Finish"]
    assert events[0].id.startswith("cohere-")  # type: ignore[union-attr]


def test_error_finish_and_in_band_error() -> None:
    end = {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": "internal"}}
    with pytest.raises(UpstreamError, match="failed mid-stream"):
        decode(sse(START, end))
    bare = {"type": "message-end", "delta": {"finish_reason": "ERROR"}}
    assert decode(sse(START, bare))[-1] == Finish(0, "error", "ERROR")
    with pytest.raises(UpstreamStatusError) as info:
        decode(sse(START, {"message": "overloaded, key=sk-abcdefghijklmnop"}))
    assert info.value.status == 502
    assert "sk-" not in info.value.message


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "without an answer"),
        (sse(START), "before a finish reason"),
        (sse(START) + b'data: {"type": "message-e', "middle of an event"),
        (sse(START, {"no": "type"}), "without a type"),
        (sse(START) + b"data: {nope\n\n", "not JSON"),
        (sse(START, {"type": "tool-call-delta", "delta": {}}), "before a tool call"),
        (
            sse(START, {"type": "tool-call-start", "delta": {"message": {"tool_calls": {"id": "x"}}}}),
            "without a name",
        ),
    ],
)
def test_faults(data: bytes, match: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=match):
        decode(data)
