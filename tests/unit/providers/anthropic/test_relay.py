"""Anthropic client to Anthropic upstream: the body passes with only its model changed, answers
and streams reach the client byte for byte, and usage is recorded on the way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchgear.core.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError, UpstreamTimeout
from switchgear.providers.anthropic import AnthropicStreamRelay

from .goldens import ADAPTER, KEY, deployment, golden, golden_bytes

STREAM = golden_bytes("stream_tools.sse")
ERROR_STREAM = golden_bytes("stream_error.sse")
CLIENT_BODY: dict[str, Any] = {
    "model": "fast",
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "sig"}]},
        {"role": "user", "content": "again"},
    ],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},  # not modelled: survives
    "stream": True,
}


def test_messages_body_passes_with_only_the_model_replaced() -> None:
    request = ADAPTER.build_passthrough("messages", CLIENT_BODY, deployment(), want_usage=False)
    assert request.method == "POST"
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert json.loads(request.body) == {**CLIENT_BODY, "model": "claude-sonnet-4-5"}
    assert CLIENT_BODY["model"] == "fast"  # the client's dict is not modified
    assert request.headers == {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": KEY,
    }


def test_client_version_and_beta_headers_go_along_and_the_key_is_the_providers() -> None:
    client = {
        "Anthropic-Version": "2026-10-21",
        "anthropic-beta": "context-management-2025-06-27",
        "x-api-key": "sk-gateway-virtual-key",
        "authorization": "Bearer sk-gateway-virtual-key",
    }
    request = ADAPTER.build_passthrough(
        "messages", CLIENT_BODY, deployment(), want_usage=True, client_headers=client
    )
    assert request.headers == {
        "content-type": "application/json",
        "anthropic-version": "2026-10-21",
        "anthropic-beta": "context-management-2025-06-27",
        "x-api-key": KEY,
    }


def test_count_tokens_goes_to_its_own_path() -> None:
    body = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
    request = ADAPTER.build_passthrough(
        "count_tokens", body, deployment(base_url="http://sim:9"), want_usage=True
    )
    assert request.url == "http://sim:9/v1/messages/count_tokens"
    assert json.loads(request.body) == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_endpoints_of_other_families_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="does not serve the 'embeddings' endpoint"):
        ADAPTER.build_passthrough("embeddings", {}, deployment(), want_usage=True)


def test_read_answer_returns_the_bytes_unchanged_with_their_usage() -> None:
    raw = json.dumps(golden("response_cache_usage.json")["anthropic"], indent=1).encode()
    out, usage = ADAPTER.read_answer("messages", CLIENT_BODY, raw, deployment())
    assert out is raw
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens, usage.completion_tokens) == (
        3320,
        1800,
        1500,
        30,
    )


def test_read_answer_of_count_tokens_costs_nothing() -> None:
    out, usage = ADAPTER.read_answer("count_tokens", {}, b'{"input_tokens": 14}', deployment())
    assert out == b'{"input_tokens": 14}'
    assert (usage.prompt_tokens, usage.reported) == (0, False)
    with pytest.raises(UpstreamProtocolError):
        ADAPTER.read_answer("count_tokens", {}, b'{"tokens": 14}', deployment())


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"type":"message"}', b'{"choices":[]}'])
def test_read_answer_rejects_garbage(raw: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        ADAPTER.read_answer("messages", {}, raw, deployment())


def test_read_answer_of_a_200_error_raises_the_mapped_error() -> None:
    raw = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    with pytest.raises(UpstreamStatusError) as caught:
        ADAPTER.read_answer("messages", {}, raw, deployment())
    assert (caught.value.status, caught.value.message) == (429, "provider 'claude': slow down")


# --- stream relay -------------------------------------------------------------------------------


def relay() -> AnthropicStreamRelay:
    return ADAPTER.stream_relay(deployment(), client_wants_usage=False)


def feed_in_pieces(r: AnthropicStreamRelay, data: bytes, size: int) -> bytes:
    return b"".join(r.feed(data[i : i + size]) for i in range(0, len(data), size))


@pytest.mark.parametrize("size", range(1, 65))
def test_relay_forwards_the_stream_unchanged_at_every_split_and_records_usage(size: int) -> None:
    r = relay()
    assert feed_in_pieces(r, STREAM, size) == STREAM
    assert r.done
    assert r.events == STREAM.count(b"\n\n") == 21
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.cached_tokens, r.usage.completion_tokens) == (1820, 1800, 118)
    assert r.usage.reported
    assert r.failed is None
    assert r.finish() == b""


def test_relay_knows_input_usage_as_soon_as_the_message_starts() -> None:
    r = relay()
    r.feed(STREAM[: STREAM.index(b"\n\n") + 2])
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (1820, 1)
    assert not r.done


def test_a_cut_stream_ends_with_an_anthropic_error_event() -> None:
    r = relay()
    cut = STREAM.index(b"event: message_delta")
    assert r.feed(STREAM[:cut]) == STREAM[:cut]
    assert not r.done
    closing = r.finish()
    assert closing == (
        b'event: error\ndata: {"type":"error","error":{"type":"api_error",'
        b'"message":"provider \'claude\' ended the stream before message_stop"}}\n\n'
    )
    assert r.done
    assert r.finish() == b""


def test_a_stream_cut_inside_an_event_says_so() -> None:
    r = relay()
    cut = STREAM.index(b"event: message_delta") + 30
    r.feed(STREAM[:cut])
    assert b"ended in the middle of an event" in r.finish()


def test_error_event_for_a_gateway_failure() -> None:
    r = relay()
    r.feed(STREAM[:200])
    out = r.error(UpstreamTimeout("provider 'claude' went silent for 120 s", provider="claude"))
    assert out.startswith(b"event: error\ndata: ")
    assert json.loads(out.split(b"data: ", 1)[1]) == {
        "type": "error",
        "error": {"type": "timeout_error", "message": "provider 'claude' went silent for 120 s"},
    }
    assert out.endswith(b"\n\n")


def test_upstream_error_event_is_forwarded_and_recorded() -> None:
    r = relay()
    assert feed_in_pieces(r, ERROR_STREAM, 7) == ERROR_STREAM
    assert r.done
    assert isinstance(r.failed, UpstreamStatusError)
    assert (r.failed.status, r.failed.upstream_status) == (503, 529)
    assert r.finish() == b""


def test_relay_tolerates_comments_and_rejects_a_malformed_usage_event() -> None:
    r = relay()
    data = b": keep-alive\n\n" + STREAM
    assert r.feed(data) == data
    assert r.done
    with pytest.raises(UpstreamProtocolError):
        relay().feed(b"event: message_delta\ndata: {oops\n\n")
    with pytest.raises(UpstreamProtocolError):
        relay().feed(b"event: message_start\n\n")


def test_relay_counts_events_not_comments_on_the_fast_path() -> None:
    r = relay()
    head = STREAM[: STREAM.index(b"event: content_block_start")]
    r.feed(head)
    pings = b': keep-alive\n\nevent: ping\ndata: {"type": "ping"}\n\n: again\n\n'
    assert r.feed(pings) == pings
    assert r.events == 2 + 1


# --- suspicious usage reaches the client as the numbers the gateway records ---------------------


def test_read_answer_restates_a_suspicious_usage() -> None:
    message = golden("response_cache_usage.json")["anthropic"]
    usage = {**message["usage"], "input_tokens": -5, "output_tokens": 10**20, "service_tier": "standard"}
    raw = json.dumps({**message, "usage": usage}).encode()
    out, read = ADAPTER.read_answer("messages", CLIENT_BODY, raw, deployment())
    assert json.loads(out) == {
        **message,
        "usage": {**usage, "input_tokens": 0, "output_tokens": 100_000_000},  # other fields kept
    }
    assert (read.prompt_tokens, read.completion_tokens, read.suspicious) == (3300, 100_000_000, True)


ABSURD_STREAM = STREAM.replace(b'"input_tokens":20,', b'"input_tokens":-5,').replace(
    b'"usage":{"output_tokens":118}', b'"usage":{"output_tokens":1000000000000}'
)


def usage_events(stream: bytes) -> list[dict[str, Any]]:
    found = []
    for event in stream.split(b"\n\n")[:-1]:
        body = json.loads(event.split(b"data: ", 1)[1])
        if body["type"] == "message_start":
            found.append(body["message"]["usage"])
        elif body["type"] == "message_delta":
            found.append(body["usage"])
    return found


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_relay_restates_suspicious_usage_in_message_start_and_message_delta(size: int) -> None:
    assert ABSURD_STREAM != STREAM
    r = relay()
    out = feed_in_pieces(r, ABSURD_STREAM, size)
    assert usage_events(out) == [
        {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1800,
         "output_tokens": 1, "service_tier": "standard"},
        {"output_tokens": 100_000_000},
    ]  # fmt: skip
    # every other event is forwarded as it came
    assert [e for e in out.split(b"\n\n") if b"usage" not in e] == [
        e for e in ABSURD_STREAM.split(b"\n\n") if b"usage" not in e
    ]
    assert r.usage is not None and r.usage.suspicious
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (1800, 100_000_000)
    assert r.done and r.events == 21


def test_relay_leaves_a_sane_message_delta_alone_after_a_suspicious_start() -> None:
    stream = STREAM.replace(b'"input_tokens":20,', b'"input_tokens":-5,')
    out = relay().feed(stream)
    delta = stream[stream.index(b"event: message_delta") :]
    assert out.endswith(delta)  # nothing in it to restate: the provider's bytes
