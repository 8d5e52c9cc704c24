"""ResponsesCodec.encode_response and error_body: golden Responses objects, checked with the SDK."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import pytest
from openai.types.responses import Response

from switchgear.apis.responses.codec import ResponsesCodec
from switchgear.core.errors import InvalidRequest, RateLimited, UpstreamStatusError, UpstreamTimeout
from switchgear.core.types import ChatResponse, Choice, ImagePart, Message, TextPart, ToolCall
from switchgear.core.usage import Usage
from tests.unit.apis.responses.goldens import chat_response, golden

CODEC = ResponsesCodec()
GOLDENS = [
    "encode_text.json",
    "encode_tools_reasoning.json",
    "encode_incomplete.json",
    "encode_content_filter.json",
]


def encode(case: dict[str, Any]) -> dict[str, Any]:
    request = CODEC.decode(case["request"], {}) if "request" in case else None
    body = CODEC.encode_response(chat_response(case["canonical"]), case["model"], request=request)
    decoded: dict[str, Any] = json.loads(body)
    return decoded


@pytest.mark.parametrize("name", GOLDENS)
def test_golden_encode(name: str) -> None:
    case = golden(name)
    assert encode(case) == case["expected"]


@pytest.mark.parametrize("name", GOLDENS)
def test_the_sdk_accepts_the_encoding(name: str) -> None:
    case = golden(name)
    response = Response.model_validate(encode(case))
    choice = case["canonical"]["choices"][0]
    text = "".join(p["text"] for p in choice["message"].get("content", []))
    assert response.output_text == text
    assert response.model == case["model"]
    assert response.usage is not None
    usage = case["canonical"]["usage"]
    assert response.usage.input_tokens == usage["prompt_tokens"]
    assert response.usage.output_tokens == usage["completion_tokens"]
    assert response.usage.total_tokens == usage["prompt_tokens"] + usage["completion_tokens"]
    assert response.usage.input_tokens_details.cached_tokens == usage.get("cached_tokens", 0)
    assert response.usage.output_tokens_details.reasoning_tokens == usage.get("reasoning_tokens", 0)
    calls = [(o.call_id, o.name, o.arguments) for o in response.output if o.type == "function_call"]
    assert calls == [(c["id"], c["name"], c["arguments"]) for c in choice["message"].get("tool_calls", [])]


def test_function_calls_and_reasoning_as_the_sdk_reads_them() -> None:
    response = Response.model_validate(encode(golden("encode_tools_reasoning.json")))
    assert [o.type for o in response.output] == ["reasoning", "message", "function_call", "function_call"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert [s.text for s in reasoning.summary] == ["The user wants weather and time; call both."]
    assert reasoning.encrypted_content == "EqQBCgIYAhIM1gbcDa9G"
    assert response.tool_choice == "required"
    assert [t.name for t in response.tools if t.type == "function"] == ["get_weather", "get_time"]
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"


def test_incomplete_outcome() -> None:
    response = Response.model_validate(encode(golden("encode_incomplete.json")))
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    message = response.output[-1]
    assert message.type == "message" and message.status == "incomplete"
    assert response.max_output_tokens == 16


def answer(message: Message, reason: Any = "stop", upstream_id: str = "chatcmpl-x1") -> ChatResponse:
    return ChatResponse(
        upstream_id, "up", 1700000000, [Choice(0, message, reason)], Usage(3, 2, reported=True)
    )


def test_error_finish_is_a_failed_response() -> None:
    body = json.loads(CODEC.encode_response(answer(Message("assistant", [TextPart("par")]), "error"), "m"))
    response = Response.model_validate(body)
    assert response.status == "failed"
    assert response.error is not None and response.error.code == "server_error"
    assert response.output_text == "par"


def test_images_in_an_answer_are_dropped_and_empty_text_makes_no_message() -> None:
    message = Message(
        "assistant", [TextPart(""), ImagePart(url="https://x/y.png")], [ToolCall("c1", "f", "")]
    )
    body = json.loads(CODEC.encode_response(answer(message, "tool_calls"), "m"))
    assert [o["type"] for o in body["output"]] == ["function_call"]
    assert body["output"][0]["arguments"] == "{}"
    assert Response.model_validate(body).output_text == ""


def test_response_id_comes_from_the_upstream_id_or_is_random() -> None:
    first = json.loads(CODEC.encode_response(answer(Message("assistant"), upstream_id=""), "m"))
    second = json.loads(CODEC.encode_response(answer(Message("assistant"), upstream_id=""), "m"))
    assert re.fullmatch(r"resp_[0-9a-f]{24}", first["id"])
    assert first["id"] != second["id"]
    odd = json.loads(CODEC.encode_response(answer(Message("assistant"), upstream_id="chatcmpl-a.b/c:d"), "m"))
    assert odd["id"] == "resp_abcd"


def test_huge_integers_in_an_echoed_schema_still_encode() -> None:
    request = CODEC.decode(
        {
            "model": "m",
            "input": "x",
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "integer", "maximum": 2**70}}],
        },
        {},
    )
    body = json.loads(
        CODEC.encode_response(answer(Message("assistant", [TextPart("ok")])), "m", request=request)
    )
    assert body["tools"][0]["parameters"]["maximum"] == 2**70


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            InvalidRequest("'input' is bad", param="input"),
            {"message": "'input' is bad", "type": "invalid_request_error", "param": "input", "code": None},
        ),
        (
            RateLimited("slow down"),
            {
                "message": "slow down",
                "type": "rate_limit_error",
                "param": None,
                "code": "rate_limit_exceeded",
            },
        ),
        (
            UpstreamTimeout("provider 'p' timed out", provider="p"),
            {"message": "provider 'p' timed out", "type": "server_error", "param": None, "code": "timeout"},
        ),
        (
            UpstreamStatusError(
                400, "provider 'p': too long", provider="p", upstream_code="context_length_exceeded"
            ),
            {
                "message": "provider 'p': too long",
                "type": "invalid_request_error",
                "param": None,
                "code": "context_length_exceeded",
            },
        ),
    ],
)
def test_error_body(exc: Any, expected: dict[str, Any]) -> None:
    assert orjson.loads(CODEC.error_body(exc)) == {"error": expected}
