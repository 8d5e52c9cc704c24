"""OpenAIStreamRelay on a golden SSE stream: bytes forwarded whatever the read sizes, usage, faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchgear.core.errors import UpstreamProtocolError
from switchgear.providers.openai.relay import OpenAIStreamRelay

GOLDEN = (Path(__file__).resolve().parents[3] / "fixtures" / "openai" / "chat_stream.sse").read_bytes()
EVENTS = [event + b"\n\n" for event in GOLDEN.split(b"\n\n")[:-1]]
USAGE_EVENT = EVENTS[-2]
SPLITS = range(1, 65)


def relay(*, drop: bool = False) -> OpenAIStreamRelay:
    return OpenAIStreamRelay("sim", drop_usage_chunk=drop)


def feed_in_pieces(relay_: OpenAIStreamRelay, data: bytes, size: int) -> bytes:
    return b"".join(relay_.feed(data[i : i + size]) for i in range(0, len(data), size))


def chunk(content: str, **extra: object) -> bytes:
    body = {"id": "c1", "object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": {"content": content}, "finish_reason": None}], **extra}  # fmt: skip
    return b"data: " + json.dumps(body).encode() + b"\n\n"


USAGE = {"prompt_tokens": 24, "completion_tokens": 9, "total_tokens": 33}
USAGE_ONLY = (
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":'
    + json.dumps(USAGE).encode()
    + b"}\n\n"
)
DONE = b"data: [DONE]\n\n"


def test_golden_stream_shape() -> None:
    assert len(EVENTS) == 12
    assert EVENTS[-1] == DONE
    assert b'"choices":[],"usage":{"prompt_tokens":24' in USAGE_EVENT
    assert all(b'"usage":null' in event for event in EVENTS[:-2])  # include_usage puts it on every chunk


def test_golden_stream_fed_whole() -> None:
    r = relay()
    assert r.feed(GOLDEN) == GOLDEN
    assert r.done
    assert r.events == 12
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (24, 9, 33)
    assert r.usage.reported and not r.usage.suspicious
    assert r.finish() == b""


def test_golden_stream_fed_whole_drops_the_usage_chunk_it_was_told_to() -> None:
    r = relay(drop=True)
    assert r.feed(GOLDEN) == GOLDEN.replace(USAGE_EVENT, b"")
    assert r.usage is not None and r.usage.total_tokens == 33
    assert r.done


@pytest.mark.parametrize("size", SPLITS)
def test_forwarded_bytes_do_not_depend_on_the_read_size(size: int) -> None:
    r = relay()
    assert feed_in_pieces(r, GOLDEN, size) == GOLDEN
    assert r.done
    assert r.events == 12
    assert r.finish() == b""


def test_done_is_set_only_by_the_done_event() -> None:
    r = relay()
    assert r.feed(b"".join(EVENTS[:-1])) == b"".join(EVENTS[:-1])
    assert not r.done
    assert r.feed(DONE) == DONE
    assert r.done


def test_usage_chunk_at_the_start_of_a_read_is_read_and_dropped() -> None:
    r = relay(drop=True)
    assert r.feed(chunk("hi")) == chunk("hi")
    assert r.feed(USAGE_ONLY + DONE) == DONE
    assert r.usage is not None and r.usage.total_tokens == 33


@pytest.mark.parametrize("drop", [False, True])
def test_usage_is_captured_whatever_the_read_size(drop: bool) -> None:
    expected = GOLDEN.replace(USAGE_EVENT, b"") if drop else GOLDEN
    for size in SPLITS:
        r = relay(drop=drop)
        assert feed_in_pieces(r, GOLDEN, size) == expected, size
        assert r.usage is not None and r.usage.total_tokens == 33, size


def test_usage_chunk_is_kept_when_the_client_asked_for_it() -> None:
    r = relay(drop=False)
    stream = chunk("hi") + USAGE_ONLY + DONE
    assert r.feed(stream) == stream
    assert r.usage is not None and r.usage.completion_tokens == 9


def test_usage_chunk_is_dropped_when_the_gateway_asked_for_it() -> None:
    r = relay(drop=True)
    assert r.feed(chunk("hi") + USAGE_ONLY + DONE) == chunk("hi") + DONE
    assert r.usage is not None and r.usage.prompt_tokens == 24


def test_usage_inside_a_chunk_with_choices_is_kept() -> None:
    last = chunk("!", usage=USAGE)
    r = relay(drop=True)
    assert r.feed(chunk("hi") + last + DONE) == chunk("hi") + last + DONE
    assert r.usage is not None and r.usage.total_tokens == 33


def test_usage_null_on_every_chunk_is_forwarded_untouched() -> None:
    stream = chunk("a", usage=None) + chunk("b", usage=None) + DONE
    assert b'"usage": null' in stream
    compact = stream.replace(b'"usage": null', b'"usage":null')
    for data in (stream, compact):
        r = relay(drop=True)
        assert r.feed(data) == data
        assert r.usage is None


def test_crlf_line_endings_are_normalised() -> None:
    crlf = GOLDEN.replace(b"\n", b"\r\n")
    r = relay()
    assert r.feed(crlf) == GOLDEN
    assert r.done and r.usage is not None and r.usage.total_tokens == 33


def test_crlf_stream_split_between_cr_and_lf() -> None:
    crlf = GOLDEN.replace(b"\n", b"\r\n")
    for size in SPLITS:
        r = relay()
        assert feed_in_pieces(r, crlf, size) == GOLDEN, size
        assert r.done, size


def test_comments_and_keep_alives_are_forwarded() -> None:
    stream = b": OPENROUTER PROCESSING\n\n" + chunk("hi") + b": ping\n\n" + chunk("there") + DONE
    for size in (len(stream), 1, 7):
        r = relay()
        assert feed_in_pieces(r, stream, size) == stream
        assert r.done
        assert r.events == 3  # comments are not data events


def test_multi_line_data_event() -> None:
    event = (
        b'data: {"id":"c1","choices":[{"index":0,\ndata: "delta":{"content":"x"},"finish_reason":null}]}\n\n'
    )
    for stream in (chunk("a") + event + DONE, b": keep-alive\n\n" + event + DONE):  # fast and careful paths
        r = relay()
        assert r.feed(stream) == stream
        assert r.done


def test_multi_line_usage_event_is_read() -> None:
    event = b'data: {"choices":[],\ndata: "usage":{"prompt_tokens":5,"completion_tokens":2}}\n\n'
    r = relay(drop=True)
    assert r.feed(chunk("x") + event + DONE) == chunk("x") + DONE
    assert r.usage is not None and r.usage.total_tokens == 7


@pytest.mark.parametrize(
    "event",
    [
        b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"x"}}]\n\n',
        b'data: {"choices":[],"usage":{"prompt_tokens":1}\n\n',
        b'data: {"choices":[{"index":0,"delta":{"content":"x"}}],"error":\n\n',
        b"data: <html>oops</html>\n\n",
        b"data: \n\n",
    ],
)
def test_malformed_chunk_is_a_protocol_error(event: bytes) -> None:
    r = relay()
    with pytest.raises(UpstreamProtocolError) as caught:
        r.feed(chunk("hi") + event + DONE)
    assert caught.value.provider == "sim"
    assert caught.value.message == "provider 'sim' sent a malformed stream chunk"
    assert caught.value.status == 502


def test_brace_wrapped_garbage_in_a_content_chunk_is_forwarded_as_sent() -> None:
    # The documented trade-off of the fast path: plain content chunks are not parsed, so garbage
    # between braces reaches the client unchanged; anything else malformed is caught (above).
    block = chunk("hi") + b"data: {not json}\n\n" + DONE
    assert relay().feed(block) == block


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"usage"', b"42", b"null"])
def test_chunk_that_is_not_an_object_is_a_protocol_error(payload: bytes) -> None:
    with pytest.raises(UpstreamProtocolError, match="not an object"):
        relay().feed(b"data: " + payload + b"\n\n")


def _error_event(tail: bytes) -> dict[str, object]:
    assert tail.endswith(b"\n\ndata: [DONE]\n\n")
    assert tail.startswith(b"data: ")
    body: dict[str, object] = json.loads(tail[len(b"data: ") : -len(b"\n\ndata: [DONE]\n\n")])
    return body


def test_stream_ending_without_done_closes_with_an_error_event() -> None:
    r = relay()
    r.feed(b"".join(EVENTS[:5]))
    body = _error_event(r.finish())
    assert body["error"] == {
        "message": "provider 'sim' ended the stream without [DONE]",
        "type": "server_error",
        "param": None,
        "code": "upstream_protocol_error",
    }
    assert body["choices"] == [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]
    assert r.done
    assert r.finish() == b""  # closed once


def test_stream_cut_in_the_middle_of_an_event() -> None:
    r = relay()
    r.feed(GOLDEN[:500])
    body = _error_event(r.finish())
    assert body["error"]["message"] == "provider 'sim' ended in the middle of an event"  # type: ignore[index]


def test_overlong_event_is_a_protocol_error() -> None:
    r = relay()
    r.feed(chunk("hi"))
    with pytest.raises(UpstreamProtocolError) as caught:
        r.feed(b'data: {"choices":[{"delta":{"content":"' + b"x" * (16 * 1024 * 1024 + 1))
    assert caught.value.message == "provider 'sim': a stream event exceeded 16777216 bytes"


# -- suspicious usage reaches the client as the numbers the gateway records ---------------------

ABSURD = {"prompt_tokens": -5, "completion_tokens": 10**12, "total_tokens": 10**12 - 5}
CLAMPED = {"prompt_tokens": 0, "completion_tokens": 100_000_000, "total_tokens": 100_000_000}


def usage_seen(forwarded: bytes) -> list[dict[str, object]]:
    payloads = [event[6:] for event in forwarded.split(b"\n\n") if event.startswith(b"data: {")]
    return [body["usage"] for body in map(json.loads, payloads) if body.get("usage")]


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_suspicious_usage_chunk_is_restated(size: int) -> None:
    absurd = (
        b'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":'
        + json.dumps(ABSURD).encode().replace(b" ", b"")
        + b"}\n\n"
    )
    stream = chunk("hi") + absurd + DONE
    r = relay()
    out = feed_in_pieces(r, stream, size)
    assert out.startswith(chunk("hi")) and out.endswith(DONE)
    assert usage_seen(out) == [CLAMPED]
    assert r.usage is not None and r.usage.suspicious
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (0, 100_000_000)
    assert r.events == 3 and r.done


def test_suspicious_usage_is_restated_on_the_careful_path_too() -> None:
    """A comment in the block sends it event by event; the restated chunk keeps its other lines."""
    stream = b": keep-alive\n\n" + chunk("hi", usage=None) + chunk("!", usage=ABSURD) + DONE
    r = relay()
    out = r.feed(stream)
    assert out.startswith(b": keep-alive\n\n" + chunk("hi", usage=None))
    assert usage_seen(out) == [CLAMPED]
    assert json.loads(out.split(b"\n\n")[2][6:])["choices"][0]["delta"] == {"content": "!"}


def test_suspicious_usage_chunk_is_still_dropped_when_the_gateway_asked_for_it() -> None:
    r = relay(drop=True)
    absurd = b'data: {"choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":2}}\n\n'
    assert r.feed(chunk("hi") + absurd + DONE) == chunk("hi") + DONE
    assert r.usage is not None and r.usage.suspicious
