"""Responses passthrough: usage from answers, and ResponsesStreamRelay on a golden OpenAI stream —
bytes forwarded unchanged whatever the read sizes, usage from the terminal event, cut streams."""

from __future__ import annotations

import json

import pydantic
import pytest
from openai.types.responses import ResponseStreamEvent

from switchgear.core.errors import UpstreamProtocolError, UpstreamTimeout
from switchgear.core.usage import Usage
from switchgear.providers.base import StreamRelay
from switchgear.providers.openai.responses_relay import (
    ResponsesStreamRelay,
    read_responses_answer,
    responses_usage,
)
from tests.unit.apis.responses.goldens import golden, golden_bytes, parse_sse

GOLDEN = golden_bytes("openai_stream.sse")
EVENTS = [event + b"\n\n" for event in GOLDEN.split(b"\n\n")[:-1]]
EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
RESPONSE_ID = "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b"


def usage_tuple(usage: Usage | None) -> tuple[int, int, int, int, int, bool]:
    assert usage is not None
    return (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        usage.cached_tokens,
        usage.reasoning_tokens,
        usage.reported,
    )


def feed_in_pieces(relay: ResponsesStreamRelay, data: bytes, size: int) -> bytes:
    return b"".join(relay.feed(data[i : i + size]) for i in range(0, len(data), size))


def event(kind: str, sequence: int, **fields: object) -> bytes:
    body = json.dumps({"type": kind, "sequence_number": sequence, **fields})
    return f"event: {kind}\ndata: {body}\n\n".encode()


def test_the_relay_is_a_stream_relay() -> None:
    relay: StreamRelay = ResponsesStreamRelay("openai")
    assert (relay.usage, relay.done, relay.events) == (None, False, 0)


def test_golden_stream_shape() -> None:
    assert len(EVENTS) == 23
    assert EVENTS[-1].startswith(b"event: response.completed\n")
    assert b"response.completed" in EVENTS[16] and b'\\"error\\"' in EVENTS[12]  # in the text: false hits


def test_responses_usage_from_an_answer() -> None:
    assert usage_tuple(responses_usage(golden("openai_response.json"))) == (21, 150, 171, 8, 128, True)
    full = responses_usage(
        {
            "usage": {
                "input_tokens": 10,
                "output_tokens": 2,
                "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 3},
                "output_tokens_details": {"reasoning_tokens": 1},
            }
        }
    )
    assert (full.cached_tokens, full.cache_write_tokens, full.reasoning_tokens) == (4, 3, 1)


@pytest.mark.parametrize("answer", [{}, {"usage": None}, {"usage": "12"}])
def test_responses_usage_missing(answer: dict[str, object]) -> None:
    usage = responses_usage(answer)
    assert usage == Usage() and not usage.reported


def test_responses_usage_clamps_nonsense() -> None:
    usage = responses_usage({"usage": {"input_tokens": -5, "output_tokens": "7"}})
    assert (usage.prompt_tokens, usage.completion_tokens, usage.suspicious) == (0, 0, True)


def test_read_responses_answer() -> None:
    raw = golden_bytes("openai_response.json")
    body, usage = read_responses_answer(raw, "openai")
    assert body is raw
    assert usage_tuple(usage) == (21, 150, 171, 8, 128, True)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b"[]", "without 'output'"),
        (b'{"error": {"message": "x"}}', "without"),
    ],
)
def test_read_responses_answer_rejects_garbage(raw: bytes, needle: str) -> None:
    with pytest.raises(UpstreamProtocolError) as caught:
        read_responses_answer(raw, "openai")
    assert needle in caught.value.message and caught.value.provider == "openai"


def test_golden_stream_fed_whole() -> None:
    relay = ResponsesStreamRelay("openai")
    assert relay.feed(GOLDEN) == GOLDEN
    assert relay.done and relay.status == "completed"
    assert relay.events == 23
    assert usage_tuple(relay.usage) == (21, 150, 171, 8, 128, True)
    assert relay.finish() == b""


@pytest.mark.parametrize("size", [*range(1, 65), 100, 333, 1000, 4096])
def test_forwarded_bytes_do_not_depend_on_the_read_size(size: int) -> None:
    relay = ResponsesStreamRelay("openai")
    assert feed_in_pieces(relay, GOLDEN, size) == GOLDEN
    assert relay.done and relay.events == 23
    assert usage_tuple(relay.usage) == (21, 150, 171, 8, 128, True)
    assert relay.finish() == b""


def test_done_only_after_the_terminal_event() -> None:
    relay = ResponsesStreamRelay("openai")
    head = b"".join(EVENTS[:-1])
    assert relay.feed(head) == head
    assert not relay.done and relay.usage is None and relay.status is None
    assert relay.feed(EVENTS[-1]) == EVENTS[-1]
    assert relay.done


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_a_cut_stream_ends_with_an_error_and_response_failed(size: int) -> None:
    relay = ResponsesStreamRelay("openai")
    head = b"".join(EVENTS[:-1])
    assert feed_in_pieces(relay, head, size) == head
    closing = relay.finish()
    assert relay.done and relay.status == "error"
    events = parse_sse(closing)
    for _, body in events:
        EVENT.validate_python(body)
    (k1, error), (k2, failed) = events
    assert (k1, error["sequence_number"], k2, failed["sequence_number"]) == (
        "error",
        22,
        "response.failed",
        23,
    )
    assert error["message"] == "provider 'openai' ended the stream without a terminal event"
    assert error["error"]["code"] == "upstream_protocol_error"
    response = failed["response"]
    assert (response["id"], response["status"], response["output"]) == (RESPONSE_ID, "failed", [])
    assert response["error"] == {"code": "server_error", "message": error["message"]}
    assert relay.finish() == b""


def test_a_stream_cut_inside_an_event() -> None:
    relay = ResponsesStreamRelay("openai")
    relay.feed(GOLDEN[:-40])
    (_, error), _ = parse_sse(relay.finish())
    assert error["message"] == "provider 'openai' ended the stream in the middle of an event"


def test_a_stream_cut_before_response_created_sends_only_the_error_event() -> None:
    relay = ResponsesStreamRelay("openai")
    ((kind, body),) = parse_sse(
        relay.error(UpstreamTimeout("provider 'openai' timed out", provider="openai"))
    )
    assert (kind, body["sequence_number"], body["code"]) == ("error", 0, "timeout")


@pytest.mark.parametrize(
    ("terminal", "status", "usage"),
    [
        (
            event(
                "response.incomplete",
                2,
                response={
                    "id": "r",
                    "status": "incomplete",
                    "output": [],
                    "usage": {"input_tokens": 3, "output_tokens": 16},
                },
            ),
            "incomplete",
            (3, 16),
        ),
        (
            event(
                "response.failed",
                2,
                response={
                    "id": "r",
                    "status": "failed",
                    "output": [],
                    "usage": None,
                    "error": {"code": "server_error", "message": "x"},
                },
            ),
            "failed",
            None,
        ),
        (event("error", 2, code="rate_limit_exceeded", message="slow", param=None), "error", None),
        (
            event("error", 2, error={"type": "tokens", "code": "rate_limit_exceeded", "message": "slow"}),
            "error",
            None,
        ),
        (b'data: {"error": {"message": "overloaded"}}\n\n', "error", None),
    ],
)
def test_other_terminal_events(terminal: bytes, status: str, usage: tuple[int, int] | None) -> None:
    relay = ResponsesStreamRelay("openai")
    data = b"".join(EVENTS[:2]) + terminal
    assert relay.feed(data) == data
    assert relay.done and relay.status == status
    if usage is None:
        assert relay.usage is None
    else:
        assert relay.usage is not None and (relay.usage.prompt_tokens, relay.usage.completion_tokens) == usage
    assert relay.finish() == b""


def test_comments_and_keep_alives_pass_through() -> None:
    data = b": keep-alive\n\n" + EVENTS[0] + b": ping\n\n" + EVENTS[2] + EVENTS[-1]
    relay = ResponsesStreamRelay("openai")
    assert feed_in_pieces(relay, data, 5) == data
    assert relay.events == 3 and relay.done


@pytest.mark.parametrize(
    "bad",
    [
        b"event: response.completed\ndata: {oops\n\n",
        b'data: ["response.completed"]\n\n',
        b"data: not json\n\n",
    ],
)
def test_garbage_where_it_matters_is_a_protocol_error(bad: bytes) -> None:
    relay = ResponsesStreamRelay("openai")
    relay.feed(EVENTS[0])
    if b"response.completed" not in bad:
        assert relay.feed(bad) == bad  # an ordinary event is never parsed: forwarded as sent
        return
    with pytest.raises(UpstreamProtocolError) as caught:
        relay.feed(bad)
    assert caught.value.message == "provider 'openai' sent a stream event that is not a JSON object"


# -- suspicious usage reaches the client as the numbers the gateway records ---------------------

DETAILS = {"input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
ABSURD = {"input_tokens": -5, "output_tokens": 10**12, "total_tokens": 10**12 - 5, **DETAILS}
CLAMPED = {"input_tokens": 0, "output_tokens": 100_000_000, "total_tokens": 100_000_000, **DETAILS}


def test_read_responses_answer_restates_a_suspicious_usage() -> None:
    answer = golden("openai_response.json")
    raw = json.dumps({**answer, "usage": ABSURD}).encode()
    body, usage = read_responses_answer(raw, "openai")
    assert json.loads(body) == {**answer, "usage": CLAMPED}
    assert usage_tuple(usage) == (0, 100_000_000, 100_000_000, 0, 0, True) and usage.suspicious


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_suspicious_usage_in_the_terminal_event_is_restated(size: int) -> None:
    terminal = json.loads(EVENTS[-1].split(b"data: ", 1)[1])
    terminal["response"]["usage"] = ABSURD
    stream = b"".join(EVENTS[:-1]) + event("response.completed", 22, response=terminal["response"])
    relay = ResponsesStreamRelay("openai")
    out = feed_in_pieces(relay, stream, size)
    head, last = out.rsplit(b"event: response.completed\n", 1)
    assert head == b"".join(EVENTS[:-1])
    restated = json.loads(last.split(b"data: ", 1)[1])
    assert restated == {**terminal, "response": {**terminal["response"], "usage": CLAMPED}}
    assert relay.usage is not None and relay.usage.suspicious and relay.done
