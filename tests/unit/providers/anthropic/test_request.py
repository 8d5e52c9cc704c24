"""Canonical requests to Anthropic Messages requests: golden files, then the rules one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchgear.core.errors import InvalidRequest
from switchgear.core.types import (
    ChatRequest,
    ImagePart,
    Message,
    Reasoning,
    ResponseFormat,
    TextPart,
    ToolCall,
)
from switchgear.transport.client import HttpRequest

from .goldens import ADAPTER, FIXTURES, canonical_request, deployment, golden

REQUEST_GOLDENS = sorted(p.name for p in FIXTURES.glob("request_*.json"))


def sent(request: HttpRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "headers": request.headers,
        "body": json.loads(request.body),
    }


def body_of(request: ChatRequest, **deployment_args: Any) -> dict[str, Any]:
    return sent(ADAPTER.build_request(request, deployment(**deployment_args)))["body"]


def user(text: str) -> Message:
    return Message(role="user", content=[TextPart(text)])


def test_every_request_golden_is_listed() -> None:
    assert REQUEST_GOLDENS == [
        "request_images.json",
        "request_json_schema.json",
        "request_plain_system.json",
        "request_reasoning_effort.json",
        "request_thinking_round_trip.json",
        "request_tool_round_trip.json",
    ]


@pytest.mark.parametrize("name", REQUEST_GOLDENS)
def test_request_golden(name: str) -> None:
    doc = golden(name)
    target = deployment(
        max_output_tokens=doc.get("deployment", {}).get("max_output_tokens"),
        headers=doc.get("provider_headers"),
    )
    assert sent(ADAPTER.build_request(canonical_request(doc["canonical"]), target)) == doc["upstream"]


def test_body_is_compact_json_in_key_order() -> None:
    request = ChatRequest(model="claude", messages=[user("hi")], max_tokens=10)
    raw = ADAPTER.build_request(request, deployment()).body
    assert raw == (
        b'{"model":"claude-sonnet-4-5","max_tokens":10,'
        b'"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}'
    )


def test_base_url_with_trailing_slash_and_bearer_free_key_header() -> None:
    request = ChatRequest(model="claude", messages=[user("hi")])
    sent_ = ADAPTER.build_request(request, deployment(base_url="http://127.0.0.1:9/"))
    assert sent_.url == "http://127.0.0.1:9/v1/messages"
    assert "authorization" not in sent_.headers


def test_provider_static_headers_are_sent_and_may_pin_the_version() -> None:
    request = ChatRequest(model="claude", messages=[user("hi")], headers={"Anthropic-Beta": "b1"})
    headers = ADAPTER.build_request(
        request, deployment(headers={"anthropic-version": "2026-10-21", "x-team": "7"})
    ).headers
    assert headers == {
        "content-type": "application/json",
        "anthropic-version": "2026-10-21",
        "x-team": "7",
        "anthropic-beta": "b1",
        "x-api-key": "sk-ant-test-key-0001",
    }


# --- messages -----------------------------------------------------------------------------------


def test_tool_results_go_ahead_of_user_text_that_came_between_call_and_result() -> None:
    call = ToolCall("toolu_1", "f", "{}")
    messages = [
        user("go"),
        Message(role="assistant", tool_calls=[call]),
        user("also, hurry"),
        Message(role="tool", tool_call_id="toolu_1", content=[TextPart("done")]),
    ]
    body = body_of(ChatRequest(model="claude", messages=messages))
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"},
            {"type": "text", "text": "also, hurry"},
        ],
    }


def test_consecutive_assistant_turns_merge_and_empty_ones_vanish() -> None:
    messages = [
        user("a"),
        Message(role="assistant", content=[TextPart("b")]),
        Message(role="assistant", content=[TextPart("")]),
        Message(role="assistant", content=[TextPart("c")]),
        user(""),
    ]
    body = body_of(ChatRequest(model="claude", messages=messages))
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "b"}, {"type": "text", "text": "c"}]},
    ]


def test_tool_result_with_cache_control_keeps_blocks_and_empty_result_has_no_content() -> None:
    messages = [
        user("a"),
        Message(role="assistant", tool_calls=[ToolCall("t1", "f", "{}"), ToolCall("t2", "g", "{}")]),
        Message(role="tool", tool_call_id="t1", content=[TextPart("x", cache_control={"type": "ephemeral"})]),
        Message(role="tool", tool_call_id="t2", content=[]),
    ]
    body = body_of(ChatRequest(model="claude", messages=messages))
    assert body["messages"][2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}],
        },
        {"type": "tool_result", "tool_use_id": "t2"},
    ]


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (
            [user("a"), Message(role="assistant", tool_calls=[ToolCall("t", "f", '{"city": "Par')])],
            "messages[1].tool_calls[0].arguments",
        ),
        (
            [user("a"), Message(role="assistant", tool_calls=[ToolCall("t", "f", "[1, 2]")])],
            "messages[1].tool_calls[0].arguments",
        ),
        ([user("a"), Message(role="tool", content=[TextPart("r")])], "messages[1]"),
        (
            [Message(role="user", content=[ImagePart(media_type="image/bmp", data="Qk0=")])],
            "messages[0].content[0]",
        ),
        ([Message(role="user", content=[ImagePart()])], "messages[0].content[0]"),
        (
            [Message(role="system", content=[ImagePart(url="https://x/y.png")]), user("a")],
            "messages[0].content[0]",
        ),
        (
            [user("a"), Message(role="assistant", content=[ImagePart(url="https://x/y.png")])],
            "messages[1].content[0]",
        ),
        ([Message(role="system", content=[TextPart("only a system prompt")])], "messages"),
    ],
)
def test_inexpressible_messages_are_rejected_naming_the_message(messages: list[Message], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        ADAPTER.build_request(ChatRequest(model="claude", messages=messages), deployment())
    assert caught.value.param == param
    assert caught.value.status == 400


def test_invalid_arguments_message_names_the_message_index() -> None:
    messages = [user("a"), Message(role="assistant", tool_calls=[ToolCall("t", "f", "{nope")])]
    with pytest.raises(
        InvalidRequest, match=r"^messages\[1\]\.tool_calls\[0\]: the tool call arguments are not valid JSON$"
    ):
        ADAPTER.build_request(ChatRequest(model="claude", messages=messages), deployment())


# --- controls -----------------------------------------------------------------------------------


def test_n_above_one_is_rejected() -> None:
    with pytest.raises(InvalidRequest, match="Anthropic returns one choice") as caught:
        ADAPTER.build_request(ChatRequest(model="claude", messages=[user("a")], n=2), deployment())
    assert caught.value.param == "n"


def test_max_tokens_defaults_to_the_catalog_then_4096() -> None:
    request = ChatRequest(model="claude", messages=[user("a")])
    assert body_of(request, max_output_tokens=8192)["max_tokens"] == 8192
    assert body_of(request)["max_tokens"] == 4096
    request.max_tokens = 77
    assert body_of(request, max_output_tokens=8192)["max_tokens"] == 77


@pytest.mark.parametrize(
    ("reasoning", "max_tokens", "cap", "thinking", "sent_max"),
    [
        (Reasoning(effort="minimal"), 4000, None, {"type": "enabled", "budget_tokens": 1024}, 4000),
        (Reasoning(effort="low"), 4000, None, {"type": "enabled", "budget_tokens": 1024}, 4000),
        (Reasoning(effort="medium"), 4000, None, {"type": "enabled", "budget_tokens": 2048}, 4000),
        (Reasoning(effort="high"), 4000, None, {"type": "enabled", "budget_tokens": 4096}, 8096),
        (Reasoning(effort="xhigh"), 1000, None, {"type": "enabled", "budget_tokens": 8192}, 9192),
        (Reasoning(effort="max"), None, None, {"type": "enabled", "budget_tokens": 16384}, 20480),
        (Reasoning(effort="max"), None, 18000, {"type": "enabled", "budget_tokens": 16384}, 18000),
        (Reasoning(budget_tokens=500), 4000, None, {"type": "enabled", "budget_tokens": 1024}, 4000),
        (
            Reasoning(effort="low", budget_tokens=3000),
            4000,
            None,
            {"type": "enabled", "budget_tokens": 3000},
            4000,
        ),
        (Reasoning(effort="none"), 4000, None, {"type": "disabled"}, 4000),
        (Reasoning(budget_tokens=0), 4000, None, {"type": "disabled"}, 4000),
        (Reasoning(), 4000, None, None, 4000),
    ],
)
def test_reasoning_to_thinking(
    reasoning: Reasoning,
    max_tokens: int | None,
    cap: int | None,
    thinking: dict[str, Any] | None,
    sent_max: int,
) -> None:
    request = ChatRequest(model="claude", messages=[user("a")], max_tokens=max_tokens, reasoning=reasoning)
    body = body_of(request, max_output_tokens=cap)
    assert body.get("thinking") == thinking
    assert body["max_tokens"] == sent_max


def test_unknown_effort_is_rejected() -> None:
    request = ChatRequest(model="claude", messages=[user("a")], reasoning=Reasoning(effort="extreme"))
    with pytest.raises(InvalidRequest, match="unknown reasoning effort 'extreme'") as caught:
        body_of(request)
    assert caught.value.param == "reasoning_effort"


@pytest.mark.parametrize(
    ("mode", "name", "parallel", "expected"),
    [
        ("auto", None, None, {"type": "auto"}),
        ("required", None, None, {"type": "any"}),
        ("required", None, False, {"type": "any", "disable_parallel_tool_use": True}),
        ("named", "f", None, {"type": "tool", "name": "f"}),
        ("named", "f", False, {"type": "tool", "name": "f", "disable_parallel_tool_use": True}),
        ("none", None, False, {"type": "none"}),
        (None, None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, None, True, None),
        (None, None, None, None),
    ],
)
def test_tool_choice(mode: str | None, name: str | None, parallel: bool | None, expected: Any) -> None:
    raw: dict[str, Any] = {
        "model": "claude",
        "messages": [{"role": "user", "content": "a"}],
        "tools": [{"name": "f"}],
    }
    if mode is not None:
        raw["tool_choice"] = {"mode": mode, "name": name}
    if parallel is not None:
        raw["parallel_tool_calls"] = parallel
    assert body_of(canonical_request(raw)).get("tool_choice") == expected


def test_tool_choice_without_tools_is_not_sent() -> None:
    raw = {
        "model": "claude",
        "messages": [{"role": "user", "content": "a"}],
        "tool_choice": {"mode": "required"},
    }
    body = body_of(canonical_request(raw))
    assert "tool_choice" not in body
    assert "tools" not in body


def test_named_tool_choice_needs_a_name() -> None:
    raw = {"model": "claude", "messages": [{"role": "user", "content": "a"}], "tools": [{"name": "f"}],
           "tool_choice": {"mode": "named"}}  # fmt: skip
    with pytest.raises(InvalidRequest) as caught:
        body_of(canonical_request(raw))
    assert caught.value.param == "tool_choice"


def test_json_object_becomes_a_system_instruction_after_the_system_prompt() -> None:
    request = ChatRequest(
        model="claude",
        messages=[Message(role="system", content=[TextPart("Be brief.")]), user("a city")],
        response_format=ResponseFormat(type="json_object"),
    )
    body = body_of(request)
    assert body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Respond with a single JSON object only, with no text before or after it."},
    ]
    assert "output_config" not in body


def test_text_response_format_changes_nothing_and_json_schema_needs_a_schema() -> None:
    request = ChatRequest(model="claude", messages=[user("a")], response_format=ResponseFormat(type="text"))
    assert set(body_of(request)) == {"model", "max_tokens", "messages"}
    request.response_format = ResponseFormat(type="json_schema", name="x")
    with pytest.raises(InvalidRequest) as caught:
        body_of(request)
    assert caught.value.param == "response_format"


def test_integers_beyond_64_bits_in_arguments_stay_exact() -> None:
    big = "123456789012345678901234567890"
    messages = [user("a"), Message(role="assistant", tool_calls=[ToolCall("t", "f", '{"n": ' + big + "}")])]
    raw = ADAPTER.build_request(ChatRequest(model="claude", messages=messages), deployment()).body
    assert b'"input":{"n":' + big.encode() + b"}" in raw
    assert json.loads(raw)["messages"][1]["content"][0]["input"] == {"n": int(big)}
