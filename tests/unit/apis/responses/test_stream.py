"""ResponsesStreamEncoder: canonical events to Responses SSE events, checked against the SDK's event
types; a stream ends with exactly the object the non-streamed encoding gives."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from openai.types.responses import ResponseStreamEvent

from switchgear.apis.responses.codec import ResponsesCodec
from switchgear.apis.responses.stream import ResponsesStreamEncoder
from switchgear.core.errors import RateLimited, UpstreamProtocolError
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
    Finish,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage
from tests.unit.apis.responses.goldens import chat_response, golden, golden_bytes, parse_sse, stream_of

CODEC = ResponsesCodec()
EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
GOLDENS = [
    "encode_text.json",
    "encode_tools_reasoning.json",
    "encode_incomplete.json",
    "encode_content_filter.json",
]


def case_of(name: str) -> tuple[ChatResponse, str, ChatRequest | None]:
    case = golden(name)
    request = CODEC.decode(case["request"], {}) if "request" in case else None
    return chat_response(case["canonical"]), case["model"], request


def run(
    events: list[StreamEvent],
    model: str = "m",
    request: ChatRequest | None = None,
    *,
    one_by_one: bool = True,
) -> bytes:
    encoder = CODEC.stream_encoder(model, include_usage=False, request=request)
    if one_by_one:
        return b"".join(encoder.encode([e]) for e in events) + encoder.finish()
    return encoder.encode(events) + encoder.finish()


def checked(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """The events, each validated against the SDK's event union, numbered 0, 1, 2, ..."""
    events = parse_sse(data)
    for _, body in events:
        EVENT.validate_python(body)
    assert [body["sequence_number"] for _, body in events] == list(range(len(events)))
    return events


def test_event_validation_can_fail() -> None:
    with pytest.raises(pydantic.ValidationError):
        EVENT.validate_python({"type": "response.output_text.delta", "sequence_number": 0, "delta": "x"})


def test_golden_text_stream() -> None:
    response, model, request = case_of("encode_text.json")
    data = run(stream_of(response, size=8), model, request)
    assert data == golden_bytes("stream_text.sse")
    checked(data)


@pytest.mark.parametrize("name", GOLDENS)
@pytest.mark.parametrize("size", [1, 3, 1000])
def test_stream_ends_with_the_non_streamed_object(name: str, size: int) -> None:
    response, model, request = case_of(name)
    events = checked(run(stream_of(response, size), model, request))
    expected = json.loads(CODEC.encode_response(response, model, request=request))
    kind, last = events[-1]
    assert kind == f"response.{expected['status']}"
    assert last["response"] == expected
    created = events[0][1]["response"]
    assert (created["id"], created["status"], created["output"], created["usage"]) == (
        expected["id"],
        "in_progress",
        [],
        None,
    )
    # Each item's .done event carries the item as the final object has it.
    done = [body for kind, body in events if kind == "response.output_item.done"]
    assert [d["item"] for d in sorted(done, key=lambda d: d["output_index"])] == expected["output"]


@pytest.mark.parametrize("name", GOLDENS)
def test_batches_do_not_change_the_bytes(name: str) -> None:
    response, model, request = case_of(name)
    events = stream_of(response)
    assert run(events, model, request) == run(events, model, request, one_by_one=False)


def test_tools_and_reasoning_event_order() -> None:
    response, model, request = case_of("encode_tools_reasoning.json")
    kinds = [kind for kind, _ in checked(run(stream_of(response, size=100), model, request))]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]


def test_function_call_events_carry_ids_and_arguments() -> None:
    response, model, request = case_of("encode_tools_reasoning.json")
    events = checked(run(stream_of(response, size=4), model, request))
    added = [
        b["item"]
        for k, b in events
        if k == "response.output_item.added" and b["item"]["type"] == "function_call"
    ]
    assert [(a["id"], a["call_id"], a["name"], a["arguments"], a["status"]) for a in added] == [
        ("fc_01XFDUDYJgAACzvnptvVoYEL_2", "toolu_01A", "get_weather", "", "in_progress"),
        ("fc_01XFDUDYJgAACzvnptvVoYEL_3", "toolu_01B", "get_time", "", "in_progress"),
    ]
    deltas = [b for k, b in events if k == "response.function_call_arguments.delta"]
    assert "".join(d["delta"] for d in deltas if d["output_index"] == 2) == '{"city":"Paris"}'
    assert all(d["item_id"] == f"fc_01XFDUDYJgAACzvnptvVoYEL_{d['output_index']}" for d in deltas)
    done = {
        b["output_index"]: b["arguments"] for k, b in events if k == "response.function_call_arguments.done"
    }
    assert done == {2: '{"city":"Paris"}', 3: "{}"}


def test_terminal_event_waits_for_usage_then_finish_adds_nothing() -> None:
    encoder = ResponsesStreamEncoder("m")
    head = encoder.encode(
        [StreamStart("chatcmpl-1", "up", 1700000000), TextDelta(0, "hi"), Finish(0, "stop")]
    )
    assert b"response.completed" not in head and b"response.output_item.done" in head
    tail = encoder.encode([UsageEvent(Usage(5, 1, reported=True))])
    ((kind, body),) = parse_sse(tail)
    assert kind == "response.completed"
    assert body["response"]["usage"]["total_tokens"] == 6
    assert encoder.finish() == b""
    assert encoder.encode([TextDelta(0, "late")]) == b""


def test_finish_without_finish_or_usage_completes_with_null_usage() -> None:
    data = run([StreamStart("chatcmpl-1", "up", 1700000000), TextDelta(0, "hi")])
    events = checked(data)
    assert events[-1][0] == "response.completed"
    assert events[-1][1]["response"]["usage"] is None
    assert events[-1][1]["response"]["output"][0]["content"][0]["text"] == "hi"


def test_finish_before_any_event_still_makes_a_whole_stream() -> None:
    kinds = [k for k, _ in checked(run([]))]
    assert kinds == ["response.created", "response.in_progress", "response.completed"]


def test_text_after_a_call_is_a_new_message_and_calls_may_interleave() -> None:
    events: list[StreamEvent] = [
        StreamStart("x1", "up", 1),
        ToolCallDelta(0, 0, "c0", "a", '{"x"'),
        ToolCallDelta(0, 1, "c1", "b", "{"),
        ToolCallDelta(0, 0, None, None, ":1}"),
        ToolCallDelta(0, 1, None, None, "}"),
        TextDelta(0, "done"),
        TextDelta(1, "other choice: ignored"),
        Finish(0, "tool_calls"),
        UsageEvent(Usage(1, 1)),
    ]
    final = checked(run(events))[-1][1]["response"]
    assert [(o["type"], o["id"]) for o in final["output"]] == [
        ("function_call", "fc_x1_0"),
        ("function_call", "fc_x1_1"),
        ("message", "msg_x1_2"),
    ]
    assert [o.get("arguments") for o in final["output"]] == ['{"x":1}', "{}", None]


def test_reasoning_after_a_signature_starts_a_new_item_and_redacted_data_is_dropped() -> None:
    events: list[StreamEvent] = [
        StreamStart("r1", "up", 1),
        ReasoningDelta(0, "one"),
        ReasoningDelta(0, "", signature="s1"),
        ReasoningDelta(0, "", redacted="opaque"),
        ReasoningDelta(0, "two"),
        ReasoningDelta(0, "", signature="s2"),
        ReasoningDelta(0, ""),
        TextDelta(0, "ok"),
        Finish(0, "stop"),
    ]
    final = checked(run(events))[-1][1]["response"]
    assert final["output"][:2] == [
        {
            "id": "rs_r1_0",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "one"}],
            "encrypted_content": "s1",
        },
        {
            "id": "rs_r1_1",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "two"}],
            "encrypted_content": "s2",
        },
    ]


def test_error_mid_stream_is_an_error_event_then_response_failed() -> None:
    encoder = ResponsesStreamEncoder("m")
    head = encoder.encode([StreamStart("chatcmpl-9", "up", 1700000000), TextDelta(0, "Hel")])
    tail = encoder.error(UpstreamProtocolError("provider 'p' sent a malformed stream chunk", provider="p"))
    events = checked(head + tail)
    (k1, error), (k2, failed) = events[-2:]
    assert (k1, k2) == ("error", "response.failed")
    assert error["code"] == "upstream_protocol_error" and error["param"] is None
    assert error["message"] == error["error"]["message"] == "provider 'p' sent a malformed stream chunk"
    assert error["error"] == {
        "type": "server_error",
        "code": "upstream_protocol_error",
        "message": "provider 'p' sent a malformed stream chunk",
        "param": None,
    }
    response = failed["response"]
    assert response["id"] == "resp_9" and response["status"] == "failed"
    assert response["error"] == {
        "code": "server_error",
        "message": "provider 'p' sent a malformed stream chunk",
    }
    assert encoder.finish() == b"" and encoder.error(RateLimited("x")) == b""


def test_error_before_anything_and_rate_limit_code() -> None:
    events = checked(ResponsesStreamEncoder("m").error(RateLimited("slow down")))
    assert [k for k, _ in events] == ["response.created", "response.in_progress", "error", "response.failed"]
    assert events[-1][1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_length_cuts_only_the_last_item() -> None:
    events: list[StreamEvent] = [
        StreamStart("L1", "up", 1),
        TextDelta(0, "a"),
        ToolCallDelta(0, 0, "c", "f", '{"q":'),
        Finish(0, "length"),
    ]
    final = checked(run(events))[-1][1]["response"]
    assert [o["status"] for o in final["output"]] == ["completed", "incomplete"]
    assert final["status"] == "incomplete"
