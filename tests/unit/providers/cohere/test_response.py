"""Cohere v2 chat answers to canonical responses: goldens, finish reasons, usage, garbage."""

from __future__ import annotations

import json

import pytest

from switchgear.core.errors import UpstreamProtocolError
from switchgear.providers.cohere.response import finish_reason, usage_of
from tests.unit.providers.cohere.support import ADAPTER, deployment, dump_response, load, raw

CASES = ["text.json", "tools.json", "thinking.json", "max_tokens.json"]


@pytest.mark.parametrize("name", CASES)
def test_golden_response(name: str) -> None:
    response = ADAPTER.parse_response(raw(f"responses/{name}"), deployment())
    assert dump_response(response) == load(f"canonical/{name}")


@pytest.mark.parametrize(
    ("native", "calls", "reason"),
    [
        ("COMPLETE", False, "stop"),
        ("STOP_SEQUENCE", False, "stop"),
        ("MAX_TOKENS", False, "length"),
        ("TOOL_CALL", True, "tool_calls"),
        ("COMPLETE", True, "tool_calls"),
        ("ERROR", False, "error"),
        ("TIMEOUT", False, "error"),
        ("SOMETHING_NEW", False, "error"),
    ],
)
def test_finish_reason(native: str, calls: bool, reason: str) -> None:
    assert finish_reason(native, calls) == reason


def test_usage_fallbacks_and_clamping() -> None:
    billed = usage_of({"billed_units": {"input_tokens": 5, "output_tokens": 3}})
    assert (billed.prompt_tokens, billed.completion_tokens, billed.reported) == (5, 3, True)
    odd = usage_of({"tokens": {"input_tokens": 2.5, "output_tokens": -1}})
    assert (odd.prompt_tokens, odd.completion_tokens, odd.suspicious) == (0, 0, True)
    floats = usage_of({"tokens": {"input_tokens": 4.0, "output_tokens": 3.0}, "cached_tokens": 1.0})
    assert (floats.prompt_tokens, floats.completion_tokens, floats.cached_tokens, floats.suspicious) == (
        4,
        3,
        1,
        False,
    )
    more_cached = usage_of({"tokens": {"input_tokens": 2, "output_tokens": 3}, "cached_tokens": 9})
    assert (more_cached.prompt_tokens, more_cached.cached_tokens, more_cached.suspicious) == (2, 2, True)
    assert usage_of(None).reported is False


def test_missing_id_and_arguments_are_filled() -> None:
    answer = {
        "finish_reason": "TOOL_CALL",
        "message": {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]},
    }
    response = ADAPTER.parse_response(json.dumps(answer).encode(), deployment())
    assert response.id.startswith("cohere-")
    call = response.choices[0].message.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("call_0", "f", "{}")
    assert response.usage.reported is False


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"id": "x"}', "without a message"),
        (b'{"message": {"content": "text"}}', "malformed message"),
        (b'{"message": {"content": [1]}}', "malformed content item"),
        (b'{"message": {"tool_calls": [{"function": {}}]}}', "without a name"),
        (b'{"message": {"tool_calls": [{"function": {"name": "f", "arguments": {}}}]}}', "not a string"),
    ],
)
def test_garbage(body: bytes, match: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=match):
        ADAPTER.parse_response(body, deployment())
