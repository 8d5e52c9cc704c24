"""ResponsesCodec.decode: Responses requests to exact canonical requests (golden files)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from switchgear.apis.base import InboundCodec
from switchgear.apis.responses.codec import ResponsesCodec
from tests.unit.apis.responses.goldens import golden, to_json

CODEC = ResponsesCodec()
GOLDENS = ["decode_string_input.json", "decode_conversation.json", "decode_tool_loop.json"]


def decode(body: dict[str, Any]) -> Any:
    return to_json(CODEC.decode(copy.deepcopy(body), {}))


def test_the_codec_is_an_inbound_codec() -> None:
    codec: InboundCodec = CODEC
    assert (codec.api, codec.family) == ("responses", "openai-responses")


@pytest.mark.parametrize("name", GOLDENS)
def test_golden_decode(name: str) -> None:
    case = golden(name)
    assert decode(case["request"]) == case["canonical"]


def test_decode_does_not_change_the_body() -> None:
    body = golden("decode_conversation.json")["request"]
    before = copy.deepcopy(body)
    CODEC.decode(body, {})
    assert body == before


def test_string_input_is_one_user_message() -> None:
    request = CODEC.decode({"model": "m", "input": "hi", "instructions": "be brief"}, {})
    assert [(m.role, m.text()) for m in request.messages] == [("system", "be brief"), ("user", "hi")]


def test_function_call_round_trip_pairs_calls_with_outputs() -> None:
    request = CODEC.decode(golden("decode_conversation.json")["request"], {})
    assistant = next(m for m in request.messages if m.role == "assistant")
    tools = [m for m in request.messages if m.role == "tool"]
    assert (
        [c.id for c in assistant.tool_calls]
        == [m.tool_call_id for m in tools]
        == ["call_weather", "call_time"]
    )
    assert assistant.tool_calls[1].arguments == "{}"  # "" -> "{}", as the canonical form has it


def test_reasoning_item_keeps_its_encrypted_content_as_the_signature() -> None:
    request = CODEC.decode(golden("decode_conversation.json")["request"], {})
    reasoning = next(m for m in request.messages if m.role == "assistant").reasoning
    assert [(r.text, r.signature) for r in reasoning] == [
        ("The photo shows the Eiffel Tower.", "gAAAAABo-opaque-state==")
    ]


def test_reasoning_item_with_summary_only() -> None:
    body = {
        "model": "m",
        "input": [{"type": "reasoning", "id": "rs_1", "summary": []}, {"role": "user", "content": "x"}],
    }
    request = CODEC.decode(body, {})
    assert request.messages[0].role == "assistant"
    assert [(r.text, r.signature) for r in request.messages[0].reasoning] == [("", None)]


@pytest.mark.parametrize(
    ("reasoning", "effort", "include"),
    [
        ({"effort": "medium"}, "medium", False),
        ({"effort": "minimal", "summary": "detailed"}, "minimal", True),
        ({"summary": "concise"}, None, True),
        ({"generate_summary": "auto"}, None, True),
        ({}, None, None),
    ],
)
def test_reasoning_settings(reasoning: dict[str, Any], effort: str | None, include: bool | None) -> None:
    request = CODEC.decode({"model": "m", "input": "x", "reasoning": reasoning}, {})
    if include is None:
        assert request.reasoning is None
    else:
        assert request.reasoning is not None
        assert (request.reasoning.effort, request.reasoning.include) == (effort, include)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            {"type": "text"},
            {"type": "text", "name": None, "schema": None, "strict": None, "description": None},
        ),
        (
            {"type": "json_object"},
            {"type": "json_object", "name": None, "schema": None, "strict": None, "description": None},
        ),
        (
            {"type": "json_schema", "name": "s", "schema": {"type": "object"}},
            {
                "type": "json_schema",
                "name": "s",
                "schema": {"type": "object"},
                "strict": None,
                "description": None,
            },
        ),
    ],
)
def test_text_format(fmt: dict[str, Any], expected: dict[str, Any]) -> None:
    assert decode({"model": "m", "input": "x", "text": {"format": fmt}})["response_format"] == expected


def test_text_without_format_and_unknown_fields_are_ignored() -> None:
    request = CODEC.decode(
        {
            "model": "m",
            "input": "x",
            "text": {"verbosity": "high"},
            "some_future_field": {"a": 1},
            "previous_response_id": None,
            "conversation": None,
            "background": False,
            "store": True,
        },
        {},
    )
    assert request.response_format is None


@pytest.mark.parametrize(
    ("choice", "mode", "name"),
    [
        ("auto", "auto", None),
        ("none", "none", None),
        ("required", "required", None),
        ({"type": "function", "name": "f"}, "named", "f"),
    ],
)
def test_tool_choice(choice: Any, mode: str, name: str | None) -> None:
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}]
    request = CODEC.decode({"model": "m", "input": "x", "tools": tools, "tool_choice": choice}, {})
    assert request.tool_choice is not None
    assert (request.tool_choice.mode, request.tool_choice.name) == (mode, name)
    assert [t.name for t in request.tools] == ["f"]


def test_allowed_tools_keeps_only_the_allowed_ones() -> None:
    request = CODEC.decode(golden("decode_tool_loop.json")["request"], {})
    assert [t.name for t in request.tools] == ["add", "mul"]
    assert request.tool_choice is not None and request.tool_choice.mode == "required"


def test_user_prefers_safety_identifier() -> None:
    assert CODEC.decode({"model": "m", "input": "x", "user": "u"}, {}).user == "u"
    assert CODEC.decode({"model": "m", "input": "x", "safety_identifier": "s", "user": "u"}, {}).user == "s"


def test_http_image_url_and_original_detail() -> None:
    body = {
        "model": "m",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_image", "image_url": "http://img.example/a.gif", "detail": "original"}
                ],
            }
        ],
    }
    part = CODEC.decode(body, {}).messages[0].content[0]
    assert to_json(part) == {
        "type": "image",
        "url": "http://img.example/a.gif",
        "media_type": None,
        "data": None,
        "detail": "original",
        "cache_control": None,
    }
