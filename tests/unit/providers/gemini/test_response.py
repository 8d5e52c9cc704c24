"""Gemini answers to canonical responses: golden files, finish reasons, usage, garbage."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.types import ChatRequest, ImagePart, Message, TextPart
from switchgear.providers.gemini.request import request_body
from switchgear.providers.gemini.response import finish_reason, usage_of
from tests.unit.providers.gemini.support import ADAPTER, FIXTURES, deployment, dump_response, load

RESPONSES = sorted(p.name for p in (FIXTURES / "responses").glob("*.json"))


def parse(answer: dict[str, Any] | bytes) -> Any:
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return ADAPTER.parse_response(raw, deployment())


def test_every_response_fixture_has_a_golden() -> None:
    assert sorted(p.name for p in (FIXTURES / "canonical").glob("*.json")) == RESPONSES
    assert len(RESPONSES) == 9


@pytest.mark.parametrize("name", RESPONSES)
def test_golden_response(name: str) -> None:
    raw = (FIXTURES / "responses" / name).read_bytes()
    has_time = b"createTime" in raw
    before = int(time.time())
    response = ADAPTER.parse_response(raw, deployment("vertex" if name.startswith("vertex") else "gemini"))
    assert dump_response(response, created=has_time) == load(f"canonical/{name}")
    if not has_time:
        assert before <= response.created <= int(time.time())


def test_vertex_create_time_is_the_created_timestamp() -> None:
    response = ADAPTER.parse_response(
        (FIXTURES / "responses" / "vertex_two_candidates.json").read_bytes(), deployment()
    )
    assert response.created == 1750759872  # 2025-06-24T10:11:12Z


@pytest.mark.parametrize(
    "name", ["tools.json", "thoughts_text.json", "function_ids.json", "text_signed.json"]
)
def test_thought_signature_goes_back_on_the_kind_of_part_it_came_on(name: str) -> None:
    message = parse((FIXTURES / "responses" / name).read_bytes()).choices[0].message
    body = request_body(
        ChatRequest(model="m", messages=[Message("user", [TextPart("q")]), message]), function_ids=True
    )
    original = [
        p for p in load(f"responses/{name}")["candidates"][0]["content"]["parts"] if "thoughtSignature" in p
    ]
    signed = [p for p in body["contents"][1]["parts"] if "thoughtSignature" in p]
    assert len(signed) == len(original) == 1
    assert signed[0]["thoughtSignature"] == original[0]["thoughtSignature"]
    kind = "functionCall" if "functionCall" in original[0] else "text"
    assert kind in signed[0]
    if kind == "functionCall":
        assert signed[0]["functionCall"]["name"] == original[0]["functionCall"]["name"]
        assert signed[0]["functionCall"]["args"] == original[0]["functionCall"]["args"]


def test_function_call_ids_are_echoed_back() -> None:
    message = parse((FIXTURES / "responses" / "function_ids.json").read_bytes()).choices[0].message
    assert message.tool_calls[0].id == "8f2kq1xa"
    body = request_body(
        ChatRequest(
            model="m",
            messages=[
                Message("user", [TextPart("where is my order?")]),
                message,
                Message("tool", [TextPart('{"status":"shipped"}')], tool_call_id="8f2kq1xa"),
            ],
        ),
        function_ids=True,
    )
    assert body["contents"][2]["parts"] == [
        {
            "functionResponse": {
                "name": "lookup_order",
                "response": {"output": '{"status":"shipped"}'},
                "id": "8f2kq1xa",
            }
        }
    ]


@pytest.mark.parametrize(
    ("native", "has_calls", "expected"),
    [
        ("STOP", False, "stop"),
        ("STOP", True, "tool_calls"),
        ("MAX_TOKENS", False, "length"),
        ("MAX_TOKENS", True, "length"),
        ("CONTINUATION", False, "length"),
        ("SAFETY", False, "content_filter"),
        ("RECITATION", False, "content_filter"),
        ("BLOCKLIST", False, "content_filter"),
        ("PROHIBITED_CONTENT", False, "content_filter"),
        ("SPII", False, "content_filter"),
        ("LANGUAGE", False, "content_filter"),
        ("IMAGE_SAFETY", False, "content_filter"),
        ("MODEL_ARMOR", False, "content_filter"),
        ("MALFORMED_FUNCTION_CALL", False, "error"),
        ("UNEXPECTED_TOOL_CALL", True, "error"),
        ("TOO_MANY_TOOL_CALLS", True, "error"),
        ("MISSING_THOUGHT_SIGNATURE", False, "error"),
        ("MALFORMED_RESPONSE", False, "error"),
        ("OTHER", False, "error"),
        ("FINISH_REASON_UNSPECIFIED", False, "error"),
        ("SOMETHING_NEW", False, "error"),
    ],
)
def test_finish_reasons(native: str, has_calls: bool, expected: str) -> None:
    assert finish_reason(native, has_calls) == expected


def test_every_sdk_finish_reason_is_mapped_as_the_table_says() -> None:
    from google.genai import types

    assert {r.value: finish_reason(r.value, False) for r in types.FinishReason} == {
        "FINISH_REASON_UNSPECIFIED": "error",
        "STOP": "stop",
        "MAX_TOKENS": "length",
        "SAFETY": "content_filter",
        "RECITATION": "content_filter",
        "LANGUAGE": "content_filter",
        "OTHER": "error",
        "BLOCKLIST": "content_filter",
        "PROHIBITED_CONTENT": "content_filter",
        "SPII": "content_filter",
        "MALFORMED_FUNCTION_CALL": "error",
        "IMAGE_SAFETY": "content_filter",
        "IMAGE_PROHIBITED_CONTENT": "content_filter",
        "IMAGE_OTHER": "error",
        "NO_IMAGE": "error",
        "IMAGE_RECITATION": "content_filter",
        "UNEXPECTED_TOOL_CALL": "error",
        "TOO_MANY_TOOL_CALLS": "error",
        "MISSING_THOUGHT_SIGNATURE": "error",
        "MALFORMED_RESPONSE": "error",
        "ESCALATION": "content_filter",
        "PUP_LIMITED_DISABLED": "content_filter",
        "CONTINUATION": "length",
        "MODEL_ARMOR": "content_filter",
    }


def test_usage_counts_tool_use_prompt_cache_and_thoughts() -> None:
    usage = usage_of(
        {
            "promptTokenCount": 1200,
            "toolUsePromptTokenCount": 300,
            "cachedContentTokenCount": 1024,
            "candidatesTokenCount": 50,
            "thoughtsTokenCount": 400,
            "totalTokenCount": 1950,
        }
    )
    assert (usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens, usage.reasoning_tokens) == (
        1500,
        1024,
        450,
        400,
    )
    assert usage.total_tokens == 1950
    assert usage.reported and not usage.suspicious


def test_usage_missing_or_absurd() -> None:
    assert not usage_of(None).reported
    usage = usage_of({"promptTokenCount": -5, "candidatesTokenCount": "7"})
    assert (usage.prompt_tokens, usage.completion_tokens) == (0, 0)
    assert usage.suspicious


def test_missing_envelope_is_synthesized() -> None:
    response = parse({"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}]})
    assert response.id.startswith("gemini-")
    assert response.model == "gemini-2.5-flash"  # the deployment's
    assert not response.usage.reported


def test_function_call_without_args() -> None:
    response = parse(
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": "now"}}]}, "finishReason": "STOP"}]}
    )
    call = response.choices[0].message.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("call_0", "now", "{}")
    assert response.choices[0].finish_reason == "tool_calls"


def test_unmodelled_parts_are_dropped() -> None:
    parts = [
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
        {"text": "done"},
    ]
    message = (
        parse({"candidates": [{"content": {"parts": parts}, "finishReason": "STOP"}]}).choices[0].message
    )
    assert message.content == [TextPart("done")]
    assert not any(isinstance(p, ImagePart) for p in message.content)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"<html>oops</html>", "that is not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"{}", "answered without candidates"),
        (b'{"candidates": "x"}', "malformed candidates"),
        (b'{"candidates": [{"content": {"parts": "x"}}]}', "malformed content parts"),
        (b'{"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}', "without a name"),
        (
            b'{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": [1]}}]}}]}',
            "not an object",
        ),
        (
            b'{"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}',
            "HTTP 200 with an error: internal",
        ),
    ],
)
def test_garbage_is_a_protocol_error(raw: bytes, why: str) -> None:
    with pytest.raises(UpstreamProtocolError) as info:
        parse(raw)
    assert why in info.value.message
    assert info.value.provider == "gemini"
