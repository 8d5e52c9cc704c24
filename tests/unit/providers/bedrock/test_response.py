"""Converse answers → canonical responses: golden files, usage, stop reasons and garbage."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from switchgear.core.errors import UpstreamProtocolError
from switchgear.providers.bedrock.response import usage_of
from tests.unit.providers.bedrock.support import ADAPTER, FIXTURES, NOW, deployment, golden, validate_answer

MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"
GOLDENS = sorted(p.name for p in FIXTURES.glob("response_*.json"))


def canonical(raw: bytes) -> dict[str, Any]:
    response = ADAPTER.parse_response(raw, deployment(MODEL))
    assert re.fullmatch(r"bedrock-[0-9a-f]{32}", response.id)
    assert response.created == int(NOW.timestamp())
    as_dict = dataclasses.asdict(response)
    del as_dict["id"]
    return as_dict


def test_goldens_are_present() -> None:
    assert GOLDENS == ["response_reasoning.json", "response_text.json", "response_tool_use.json"]


@pytest.mark.parametrize("name", GOLDENS)
def test_response_matches_golden(name: str) -> None:
    case = golden(name)
    validate_answer(case["converse"])
    got = canonical(json.dumps(case["converse"]).encode())
    assert got == golden(name, {**case, "canonical": got})["canonical"]


def test_ids_differ_per_answer() -> None:
    raw = json.dumps(golden("response_text.json")["converse"]).encode()
    target = deployment(MODEL)
    assert ADAPTER.parse_response(raw, target).id != ADAPTER.parse_response(raw, target).id


@pytest.mark.parametrize(
    ("native", "has_calls", "expected"),
    [
        ("end_turn", False, "stop"),
        ("stop_sequence", False, "stop"),
        ("tool_use", True, "tool_calls"),
        ("max_tokens", False, "length"),
        ("model_context_window_exceeded", False, "length"),
        ("guardrail_intervened", False, "content_filter"),
        ("content_filtered", False, "content_filter"),
        ("malformed_model_output", False, "error"),
        ("malformed_tool_use", True, "error"),
        ("brand_new_reason", False, "stop"),
        ("brand_new_reason", True, "tool_calls"),
    ],
)
def test_stop_reasons(native: str, has_calls: bool, expected: str) -> None:
    content: list[dict[str, Any]] = [{"text": "x"}]
    if has_calls:
        content.append({"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}})
    raw = json.dumps(
        {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": native,
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        }
    ).encode()
    choice = ADAPTER.parse_response(raw, deployment(MODEL)).choices[0]
    assert (choice.finish_reason, choice.native_finish_reason) == (expected, native)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        # inputTokens excludes the cache, totalTokens holds everything
        (
            {
                "inputTokens": 20,
                "outputTokens": 5,
                "totalTokens": 4339,
                "cacheReadInputTokens": 4314,
                "cacheWriteInputTokens": 0,
            },
            (4334, 5, 4314, 0, False),
        ),
        # no total: the parts are summed
        ({"inputTokens": 20, "outputTokens": 5, "cacheWriteInputTokens": 100}, (120, 5, 0, 100, False)),
        ({"inputTokens": 7, "outputTokens": 3, "totalTokens": 10}, (7, 3, 0, 0, False)),
        ({"inputTokens": -1, "outputTokens": 3, "totalTokens": 10}, (7, 3, 0, 0, True)),
        ({"inputTokens": "7", "outputTokens": 3}, (0, 3, 0, 0, True)),
        ({"inputTokens": 10**12, "outputTokens": 3}, (100_000_000, 3, 0, 0, True)),
        # an absurd total is no basis for the prompt (orjson reads 5 + 10**20 as 1e20)
        ({"inputTokens": 5, "outputTokens": 1e20, "totalTokens": 1e20}, (5, 100_000_000, 0, 0, True)),
        ({"inputTokens": 7.0, "outputTokens": 3.0, "totalTokens": 10.0}, (7, 3, 0, 0, False)),
        # cache reads beyond the prompt the total allows
        (
            {"inputTokens": 1, "outputTokens": 3, "totalTokens": 10, "cacheReadInputTokens": 50},
            (7, 3, 7, 0, True),
        ),
    ],
)
def test_usage(usage: dict[str, Any], expected: tuple[int, int, int, int, bool]) -> None:
    got = usage_of(usage)
    assert (
        got.prompt_tokens,
        got.completion_tokens,
        got.cached_tokens,
        got.cache_write_tokens,
        got.suspicious,
    ) == expected
    assert got.reported


def test_missing_usage_is_not_reported() -> None:
    assert not usage_of(None).reported


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (b"<html>", "not JSON"),
        (b"[]", "not a Converse response"),
        (b'{"output": {"message": {"role": "assistant"}}}', "not a Converse response"),
        (b'{"output": {"message": {"content": ["text"]}}}', "not an object"),
        (b'{"output": {"message": {"content": [{"toolUse": {"input": {}}}]}}}', "without id or name"),
    ],
)
def test_garbage_is_a_protocol_error(raw: bytes, what: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=what) as caught:
        ADAPTER.parse_response(raw, deployment(MODEL, name="aws-west"))
    assert caught.value.provider == "aws-west"
    assert "aws-west" in caught.value.message
