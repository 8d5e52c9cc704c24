"""Anthropic Messages answers to canonical responses: golden files, usage, garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchgear.core.errors import UpstreamProtocolError, UpstreamStatusError

from .goldens import ADAPTER, FIXTURES, as_json, deployment, golden

RESPONSE_GOLDENS = sorted(p.name for p in FIXTURES.glob("response_*.json"))


def parse(answer: Any) -> Any:
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return ADAPTER.parse_response(raw, deployment())


def test_every_response_golden_is_listed() -> None:
    assert RESPONSE_GOLDENS == [
        "response_cache_usage.json",
        "response_max_tokens.json",
        "response_refusal.json",
        "response_text.json",
        "response_thinking.json",
        "response_tool_use.json",
    ]


@pytest.mark.parametrize("name", [*RESPONSE_GOLDENS, "stream_tools_message.json"])
def test_response_golden(name: str) -> None:
    doc = golden(name)
    response = parse(doc["anthropic"])
    assert as_json(response) == doc["canonical"]
    assert response.created > 1_700_000_000


def test_cache_usage_in_numbers() -> None:
    usage = parse(golden("response_cache_usage.json")["anthropic"]).usage
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens) == (
        20 + 1800 + 1500,
        1800,
        1500,
    )
    assert (usage.completion_tokens, usage.total_tokens) == (30, 3350)
    assert usage.reported and not usage.suspicious


def test_tool_arguments_are_compact_json_of_the_input() -> None:
    calls = parse(golden("response_tool_use.json")["anthropic"]).choices[0].message.tool_calls
    assert [c.arguments for c in calls] == ['{"city":"Zürich","unit":"c"}', "{}"]


def message(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    return base | overrides


@pytest.mark.parametrize(
    ("native", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
    ],
)
def test_stop_reasons(native: str, reason: str) -> None:
    choice = parse(message(stop_reason=native)).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == (reason, native)


def test_missing_usage_and_model_and_stop_reason() -> None:
    response = parse(message(usage=None, model=None, stop_reason=None))
    assert response.model == "claude-sonnet-4-5"  # the deployment's
    assert not response.usage.reported
    assert response.choices[0].finish_reason is None


def test_absurd_usage_is_flagged() -> None:
    usage = parse(message(usage={"input_tokens": -5, "output_tokens": "7"})).usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.suspicious) == (0, 0, True)


@pytest.mark.parametrize(
    "raw",
    [
        b"<html>bad gateway</html>",
        b"[1, 2]",
        json.dumps({"type": "completion", "completion": "hi"}).encode(),
        json.dumps(message(content="hi")).encode(),
        json.dumps(message(content=["hi"])).encode(),
        json.dumps(message(content=[{"type": "text"}])).encode(),
        json.dumps(message(content=[{"type": "tool_use", "id": "t", "name": "f", "input": [1]}])).encode(),
        json.dumps(message(content=[{"type": "tool_use", "name": "f", "input": {}}])).encode(),
        json.dumps(message(content=[{"type": "redacted_thinking"}])).encode(),
    ],
)
def test_garbage_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(UpstreamProtocolError) as caught:
        parse(raw)
    assert caught.value.provider == "claude"
    assert caught.value.status == 502


def test_a_200_carrying_an_error_is_the_mapped_upstream_error() -> None:
    body = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": "r1",
    }
    with pytest.raises(UpstreamStatusError) as caught:
        parse(body)
    exc = caught.value
    assert (exc.status, exc.code, exc.anthropic_type, exc.upstream_status) == (
        503,
        "overloaded",
        "overloaded_error",
        529,
    )
    assert exc.message == "provider 'claude' failed mid-answer (overloaded_error)"
    assert exc.retryable


def test_integers_beyond_64_bits_in_tool_input_stay_exact() -> None:
    raw = json.dumps(
        message(content=[{"type": "tool_use", "id": "t", "name": "f", "input": {"n": 2**100}}])
    ).encode()
    assert parse(raw).choices[0].message.tool_calls[0].arguments == '{"n":' + str(2**100) + "}"


def test_a_body_that_is_not_utf8_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        parse(b'{"type":"message","content":[{"type":"text","text":"\xff"}], "n": 12345678901234567890}')
