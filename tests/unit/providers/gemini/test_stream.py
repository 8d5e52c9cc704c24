"""GeminiStreamDecoder on golden SSE streams: same events at every split, reassembly, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchgear.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from switchgear.core.types import Finish, StreamEvent, StreamStart, TextDelta, ToolCallDelta, UsageEvent
from switchgear.providers.gemini import GeminiStreamDecoder
from tests.unit.providers.gemini.support import ADAPTER, deployment, dump_events, load, raw, reassemble

# stream fixture -> the non-streamed answer it must reassemble to
PAIRS = {"tools.sse": "tools.json", "text_signed.sse": "text_signed.json"}
SPLITS = range(1, 65)


def decoder() -> GeminiStreamDecoder:
    return ADAPTER.stream_decoder(deployment())


def decode(data: bytes, size: int | None = None) -> list[StreamEvent]:
    d = decoder()
    size = size or len(data) or 1
    events: list[StreamEvent] = []
    for i in range(0, len(data), size):
        events += d.feed(data[i : i + size])
    return events + d.finish()


def without_created(events: list[StreamEvent]) -> list[dict[str, Any]]:
    dumped = dump_events(events)
    for event in dumped:
        event.pop("created", None)
    return dumped


def sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


def candidate(parts: list[dict[str, Any]], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": index}
    if finish:
        out["finishReason"] = finish
    return out


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_golden_stream_events(name: str) -> None:
    assert without_created(decode(raw(f"streams/{name}"))) == load(
        f"streams/{name.removesuffix('.sse')}.events.json"
    )


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_same_events_at_every_split(name: str) -> None:
    data = raw(f"streams/{name}")
    assert b"\r\n\r\n" in data  # Google frames events with CRLF
    expected = without_created(decode(data))
    for size in SPLITS:
        assert without_created(decode(data, size)) == expected, f"split size {size}"


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_stream_reassembles_to_the_whole_answer(name: str) -> None:
    events = decode(raw(f"streams/{name}"), 7)
    whole = ADAPTER.parse_response(raw(f"responses/{PAIRS[name]}"), deployment())
    start = events[0]
    assert isinstance(start, StreamStart)
    assert (start.id, start.model) == (whole.id, whole.model)
    messages = reassemble(events)
    assert messages == {c.index: c.message for c in whole.choices}
    finishes = [(e.index, e.reason, e.native_reason) for e in events if isinstance(e, Finish)]
    assert finishes == [(c.index, c.finish_reason, c.native_finish_reason) for c in whole.choices]
    assert isinstance(events[-1], UsageEvent)
    assert events[-1].usage == whole.usage
    assert sum(isinstance(e, UsageEvent) for e in events) == 1


def test_usage_tracks_the_latest_chunk() -> None:
    d = decoder()
    first, rest = raw("streams/tools.sse").split(b"\r\n\r\n", 1)
    d.feed(first + b"\r\n\r\n")
    assert d.usage is not None and (d.usage.prompt_tokens, d.usage.completion_tokens) == (1061, 88)
    d.feed(rest)
    assert (d.usage.prompt_tokens, d.usage.completion_tokens, d.usage.cached_tokens) == (1061, 130, 1024)


def test_two_candidates_interleaved() -> None:
    data = sse(
        {"candidates": [candidate([{"text": "Bon"}]), candidate([{"text": "Sal"}], index=1)]},
        {"candidates": [candidate([{"text": "jour"}], "STOP")]},
        {"candidates": [candidate([{"functionCall": {"name": "wave", "args": {}}}], "STOP", index=1)]},
    )
    events = decode(data)
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta(0, "Bon"),
        TextDelta(1, "Sal"),
        TextDelta(0, "jour"),
    ]
    assert [e for e in events if isinstance(e, ToolCallDelta)] == [
        ToolCallDelta(1, 0, "call_0", "wave", "{}")
    ]
    assert [e for e in events if isinstance(e, Finish)] == [
        Finish(0, "stop", "STOP"),
        Finish(1, "tool_calls", "STOP"),
    ]
    assert not any(isinstance(e, UsageEvent) for e in events)  # none reported


def test_blocked_prompt_finishes_with_content_filter() -> None:
    data = sse(
        {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 5},
            "responseId": "r",
        }
    )
    events = decode(data)
    assert [type(e).__name__ for e in events] == ["StreamStart", "Finish", "UsageEvent"]
    assert events[1] == Finish(0, "content_filter", "SAFETY")


def test_noise_is_tolerated() -> None:
    chunk = {"candidates": [candidate([{"text": "ok"}, {"text": ""}], "STOP")], "unknownField": {"x": 1}}
    data = b": keep-alive\r\n\r\n" + sse(chunk) + b"\r\n\r\n"
    assert [type(e).__name__ for e in decode(data)] == ["StreamStart", "TextDelta", "Finish"]


def test_last_event_without_its_blank_line_is_accepted() -> None:
    data = sse({"candidates": [candidate([{"text": "ok"}], "STOP")]})
    for cut in (data[:-4], data[:-3], data[:-2], data[:-1]):
        assert [type(e).__name__ for e in decode(cut)] == ["StreamStart", "TextDelta", "Finish"]


def test_in_band_error_is_mapped() -> None:
    error = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
        }
    }
    d = decoder()
    d.feed(sse({"candidates": [candidate([{"text": "Hel"}])]}))
    with pytest.raises(UpstreamStatusError) as info:
        d.feed(sse(error))
    assert info.value.status == 429
    assert info.value.type == "rate_limit_error"
    assert info.value.message == "provider 'gemini': Resource has been exhausted (e.g. check quota)."


def test_in_band_server_error_is_masked() -> None:
    error = {
        "error": {"code": 500, "message": "An internal error has occurred at shard 7", "status": "INTERNAL"}
    }
    with pytest.raises(UpstreamError) as info:
        decode(sse(error))
    assert info.value.message == "provider 'gemini' failed with HTTP 500 (INTERNAL)"
    assert info.value.retryable


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "without an answer"),
        (b'data: {"candidates": [{"content": {"parts": [{"text": "Hel', "in the middle of an event"),
        (
            b'data: {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}\r\n\r\n',
            "before a finish reason",
        ),
        (b'data: {"usageMetadata": {"promptTokenCount": 3}}\r\n\r\n', "before a finish reason"),
        (b"data: not json\r\n\r\n", "not JSON"),
        (b"data: [1]\r\n\r\n", "not a JSON object"),
        (b'data: {"candidates": [7]}\r\n\r\n', "malformed candidate"),
    ],
)
def test_cut_or_garbage_streams(data: bytes, why: str) -> None:
    with pytest.raises(UpstreamProtocolError) as info:
        decode(data)
    assert why in info.value.message
    assert info.value.provider == "gemini"


def test_finish_is_reported_once_per_choice() -> None:
    data = sse(
        {"candidates": [candidate([{"text": "a"}], "STOP")]},
        {
            "candidates": [candidate([], "STOP")],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1},
        },
    )
    events = decode(data)
    assert sum(isinstance(e, Finish) for e in events) == 1
    assert isinstance(events[-1], UsageEvent) and events[-1].usage.completion_tokens == 1
