"""Canonical requests → Converse bodies: golden files, checked against botocore's service model."""

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
    ReasoningPart,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolDef,
)
from switchgear.providers.bedrock.request import request_body
from tests.unit.providers.bedrock.support import ADAPTER, deployment, golden, validate_converse

CLAUDE = "us.anthropic.claude-sonnet-4-20250514-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
NOVA = "amazon.nova-pro-v1:0"
MISTRAL = "mistral.mistral-large-2407-v1:0"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
JPEG = (
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP////////////////////////////////////////////////////////"
    "//2wBDAf//////////////////////////////////////////////////////////wAARCAABAAEDASIAAhEBAxEB"
    "/8QAFAABAAAAAAAAAAAAAAAAAAAAA//EABQQAQAAAAAAAAAAAAAAAAAAAAD/xAAUAQEAAAAAAAAAAAAAAAAAAAAA/8"
    "QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AP//Z"
)
WEATHER = ToolDef(
    name="get_weather",
    description="Current weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolDef(name="get_time", parameters={"type": "object", "properties": {"tz": {"type": "string"}}})


def user(*parts: str | ImagePart) -> Message:
    return Message("user", [TextPart(p) if isinstance(p, str) else p for p in parts])


def tool_round_trip() -> ChatRequest:
    return ChatRequest(
        model="client-name",
        messages=[
            Message("system", [TextPart("Use the tools.")]),
            user("Weather and time in Paris?"),
            Message(
                "assistant",
                [TextPart("Checking both.")],
                tool_calls=[
                    ToolCall("toolu_01A", "get_weather", '{"city": "Paris"}'),
                    ToolCall("call.with.dots/1", "get_time", ""),
                ],
            ),
            Message("tool", [TextPart("18 C, clear")], tool_call_id="toolu_01A"),
            Message("tool", [TextPart("unknown tz")], tool_call_id="call.with.dots/1", is_error=True),
            user("And tomorrow?"),
        ],
        tools=[WEATHER, CLOCK],
        tool_choice=ToolChoice("auto"),
        max_tokens=512,
    )


CASES: dict[str, tuple[str, ChatRequest]] = {
    "converse_plain_system.json": (
        LLAMA,
        ChatRequest(
            model="client-name",
            messages=[
                Message("system", [TextPart("You are terse.")]),
                Message("system", [TextPart("")]),
                user("Hello"),
                Message("assistant", [TextPart("Hi.")]),
                Message("system", [TextPart("Answer in French.")]),
                user("Weather?"),
                user("Grüße ☀"),
            ],
            max_tokens=256,
            temperature=0.2,
            top_p=0.9,
            stop=["END", "\n\n"],
            seed=7,
            user="u-1",
        ),
    ),
    "converse_tool_round_trip.json": (CLAUDE, tool_round_trip()),
    "converse_image.json": (
        NOVA,
        ChatRequest(
            model="client-name",
            messages=[
                user(
                    "Compare these.",
                    ImagePart(media_type="image/png", data=PNG, detail="high"),
                    ImagePart.from_url("data:image/jpeg;base64," + JPEG),
                ),
                Message(
                    "user",
                    [TextPart("Long shared context.", cache_control={"type": "ephemeral", "ttl": "1h"})],
                ),
            ],
            top_k=40,
        ),
    ),
    "converse_reasoning.json": (
        CLAUDE,
        ChatRequest(
            model="client-name",
            messages=[
                user("What is 17 * 23?"),
                Message(
                    "assistant",
                    [],
                    tool_calls=[ToolCall("toolu_calc", "get_weather", '{"city":"Oslo"}')],
                    reasoning=[
                        ReasoningPart("Let me compute.", signature="EqQBCkYIARgCKkA..."),
                        ReasoningPart(redacted="RVFxQkNrWUlBUmdDS2tB"),
                        ReasoningPart("unsigned text from another family"),
                    ],
                ),
                Message("tool", [TextPart("sunny")], tool_call_id="toolu_calc"),
            ],
            tools=[WEATHER],
            max_tokens=1000,
            temperature=0.5,
            top_p=0.5,
            top_k=5,
            reasoning=Reasoning(effort="high"),
        ),
    ),
    "converse_json_schema.json": (
        MISTRAL,
        ChatRequest(
            model="client-name",
            messages=[user("Give me a city.")],
            response_format=ResponseFormat(
                type="json_schema",
                name="city",
                description="A city and its country",
                strict=True,
                schema={
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "country": {"type": "string"}},
                    "required": ["name", "country"],
                    "additionalProperties": False,
                },
            ),
            stream=True,
        ),
    ),
}


def body_of(model: str, request: ChatRequest) -> dict[str, Any]:
    built = ADAPTER.build_request(request, deployment(model))
    result: dict[str, Any] = json.loads(built.body)
    return result


def test_every_golden_is_exercised() -> None:
    from tests.unit.providers.bedrock.support import FIXTURES

    assert sorted(p.name for p in FIXTURES.glob("converse_*.json")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_converse_body_matches_golden(name: str) -> None:
    model, request = CASES[name]
    body = body_of(model, request)
    assert body == golden(name, body)
    validate_converse(body, model)


def test_body_is_compact_utf8_json() -> None:
    model, request = CASES["converse_plain_system.json"]
    raw = ADAPTER.build_request(request, deployment(model)).body
    assert "Grüße ☀".encode() in raw
    assert b", " not in raw and b'": ' not in raw


# --- details --------------------------------------------------------------------------------------


def test_image_url_is_refused() -> None:
    request = ChatRequest(model="m", messages=[user("look", ImagePart.from_url("https://example.com/a.png"))])
    with pytest.raises(InvalidRequest, match="Bedrock needs inline images") as caught:
        request_body(request, NOVA)
    assert caught.value.param == "messages[0].content[1]"


def test_unsupported_image_type_is_refused() -> None:
    request = ChatRequest(model="m", messages=[user(ImagePart(media_type="image/bmp", data="Qk0="))])
    with pytest.raises(InvalidRequest, match="png, jpeg, gif and webp") as caught:
        request_body(request, NOVA)
    assert caught.value.param == "messages[0].content[0]"


def test_webp_and_gif_formats() -> None:
    parts = [
        ImagePart(media_type="image/webp", data="UklGRg=="),
        ImagePart(media_type="image/GIF", data="R0lG"),
    ]
    body = request_body(ChatRequest(model="m", messages=[Message("user", list(parts))]), NOVA)
    assert [b["image"]["format"] for b in body["messages"][0]["content"]] == ["webp", "gif"]


def test_more_than_one_choice_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        request_body(ChatRequest(model="m", messages=[user("hi")], n=2), LLAMA)
    assert caught.value.param == "n"


@pytest.mark.parametrize(("arguments", "what"), [("{not json", "not valid JSON"), ("[1, 2]", "JSON object")])
def test_bad_tool_call_arguments_name_the_message(arguments: str, what: str) -> None:
    request = ChatRequest(
        model="m",
        messages=[user("hi"), Message("assistant", tool_calls=[ToolCall("a", "get_weather", arguments)])],
        tools=[WEATHER],
    )
    with pytest.raises(InvalidRequest, match=what) as caught:
        request_body(request, CLAUDE)
    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"


def test_tool_names_outside_bedrock_pattern_are_refused() -> None:
    request = ChatRequest(model="m", messages=[user("hi")], tools=[WEATHER, ToolDef(name="weather.get")])
    with pytest.raises(InvalidRequest) as caught:
        request_body(request, CLAUDE)
    assert caught.value.param == "tools[1].function.name"


def test_tool_message_needs_its_call_id() -> None:
    request = ChatRequest(model="m", messages=[user("hi"), Message("tool", [TextPart("x")])])
    with pytest.raises(InvalidRequest) as caught:
        request_body(request, CLAUDE)
    assert caught.value.param == "messages[1].tool_call_id"


def test_history_must_hold_a_turn() -> None:
    with pytest.raises(InvalidRequest) as caught:
        request_body(ChatRequest(model="m", messages=[Message("system", [TextPart("s")])]), LLAMA)
    assert caught.value.param == "messages"


def test_history_opening_with_the_assistant_gets_a_user_turn_first() -> None:
    request = ChatRequest(model="m", messages=[Message("assistant", [TextPart("Hi! Ask me.")]), user("Why?")])
    assert request_body(request, LLAMA)["messages"] == [
        {"role": "user", "content": [{"text": "."}]},
        {"role": "assistant", "content": [{"text": "Hi! Ask me."}]},
        {"role": "user", "content": [{"text": "Why?"}]},
    ]


def test_blank_text_is_dropped_and_empty_turns_vanish() -> None:
    request = ChatRequest(
        model="m",
        messages=[user("a"), Message("assistant", [TextPart("  ")]), user(" "), user("b")],
    )
    assert request_body(request, LLAMA)["messages"] == [
        {"role": "user", "content": [{"text": "a"}, {"text": "b"}]}
    ]


def test_tool_results_lead_their_user_turn() -> None:
    request = ChatRequest(
        model="m",
        messages=[
            user("go"),
            Message("assistant", tool_calls=[ToolCall("c1", "get_weather", "{}")]),
            user("interjection"),
            Message("tool", [TextPart("r")], tool_call_id="c1"),
        ],
        tools=[WEATHER],
    )
    last = request_body(request, CLAUDE)["messages"][-1]
    assert last == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "c1", "content": [{"text": "r"}]}},
            {"text": "interjection"},
        ],
    }


def test_tool_error_status_only_for_models_that_take_it() -> None:
    messages = [
        user("go"),
        Message("assistant", tool_calls=[ToolCall("c1", "get_weather", "{}")]),
        Message("tool", [TextPart("boom")], tool_call_id="c1", is_error=True),
    ]
    request = ChatRequest(model="m", messages=messages, tools=[WEATHER])
    results = {
        model: request_body(request, model)["messages"][-1]["content"][0]["toolResult"]
        for model in (CLAUDE, NOVA, LLAMA)
    }
    assert results[CLAUDE]["status"] == results[NOVA]["status"] == "error"
    assert "status" not in results[LLAMA]


def test_tool_choice_mapping() -> None:
    def choice(mode: str, name: str | None = None) -> Any:
        request = ChatRequest(
            model="m",
            messages=[user("hi")],
            tools=[WEATHER, CLOCK],
            tool_choice=ToolChoice(mode, name),  # type: ignore[arg-type]
        )
        return request_body(request, CLAUDE).get("toolConfig", {}).get("toolChoice", "absent")

    assert choice("auto") == {"auto": {}}
    assert choice("required") == {"any": {}}
    assert choice("named", "get_time") == {"tool": {"name": "get_time"}}
    with pytest.raises(InvalidRequest) as caught:
        choice("named", "nope")
    assert caught.value.param == "tool_choice"
    request = ChatRequest(model="m", messages=[user("hi")], tools=[WEATHER])
    assert request_body(request, CLAUDE)["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Current weather in a city",
                    "inputSchema": {"json": WEATHER.parameters},
                }
            }
        ]
    }


def test_tool_choice_none_omits_tools_unless_the_history_uses_them() -> None:
    fresh = ChatRequest(model="m", messages=[user("hi")], tools=[WEATHER], tool_choice=ToolChoice("none"))
    assert "toolConfig" not in request_body(fresh, CLAUDE)
    used = tool_round_trip()
    used.tool_choice = ToolChoice("none")
    config = request_body(used, CLAUDE)["toolConfig"]
    assert [t["toolSpec"]["name"] for t in config["tools"]] == ["get_weather", "get_time"]
    assert "toolChoice" not in config


def test_history_tools_without_declared_tools_are_declared_open() -> None:
    request = tool_round_trip()
    request.tools = []
    request.tool_choice = None
    body = request_body(request, CLAUDE)
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "inputSchema": {"json": {"type": "object", "properties": {}}},
                }
            },
            {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object", "properties": {}}}}},
        ]
    }
    validate_converse(body, CLAUDE)


def test_tool_cache_control_and_strict() -> None:
    tool = ToolDef(name="t", parameters=None, strict=True, cache_control={"type": "ephemeral"})
    body = request_body(ChatRequest(model="m", messages=[user("hi")], tools=[tool]), CLAUDE)
    assert body["toolConfig"]["tools"] == [
        {
            "toolSpec": {
                "name": "t",
                "inputSchema": {"json": {"type": "object", "properties": {}}},
                "strict": True,
            }
        },
        {"cachePoint": {"type": "default"}},
    ]
    validate_converse(body, CLAUDE)


def test_json_object_is_asked_for_in_the_system_prompt() -> None:
    request = ChatRequest(
        model="m", messages=[user("a city")], response_format=ResponseFormat(type="json_object")
    )
    assert request_body(request, LLAMA)["system"] == [
        {"text": "Respond only with a single valid JSON object."}
    ]


def test_json_schema_without_schema_asks_for_an_object() -> None:
    request = ChatRequest(model="m", messages=[user("x")], response_format=ResponseFormat(type="json_schema"))
    assert request_body(request, CLAUDE)["outputConfig"] == {
        "textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": '{"type":"object"}'}}}
    }


def test_temperature_is_clamped_to_bedrock_range() -> None:
    request = ChatRequest(model="m", messages=[user("x")], temperature=1.7)
    assert request_body(request, LLAMA)["inferenceConfig"] == {"temperature": 1.0}


@pytest.mark.parametrize(
    ("reasoning", "max_tokens", "cap", "expected_max", "expected_budget"),
    [
        (Reasoning(effort="low"), None, None, 1024 + 4096, 1024),
        (Reasoning(effort="minimal"), 8000, None, 8000, 1024),
        (Reasoning(effort="medium"), 2048, None, 4096, 2048),
        (Reasoning(effort="max"), 20000, None, 20000, 16384),
        (Reasoning(effort="xhigh"), 100, 8192, 8192, 8191),
        (Reasoning(budget_tokens=300), 4000, None, 4000, 1024),
        (Reasoning(budget_tokens=3000, effort="low"), 10000, 64000, 10000, 3000),
    ],
)
def test_thinking_budget_and_max_tokens(
    reasoning: Reasoning, max_tokens: int | None, cap: int | None, expected_max: int, expected_budget: int
) -> None:
    request = ChatRequest(model="m", messages=[user("x")], max_tokens=max_tokens, reasoning=reasoning)
    body = request_body(request, CLAUDE, max_output=cap)
    assert body["inferenceConfig"]["maxTokens"] == expected_max
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": expected_budget}
    }


@pytest.mark.parametrize("reasoning", [Reasoning(effort="none"), Reasoning(), Reasoning(budget_tokens=0)])
def test_no_thinking_when_off(reasoning: Reasoning) -> None:
    body = request_body(ChatRequest(model="m", messages=[user("x")], reasoning=reasoning), CLAUDE)
    assert "additionalModelRequestFields" not in body


def test_thinking_that_cannot_fit_the_cap_is_refused() -> None:
    request = ChatRequest(model="m", messages=[user("x")], reasoning=Reasoning(effort="high"))
    with pytest.raises(InvalidRequest) as caught:
        request_body(request, CLAUDE, max_output=1024)
    assert caught.value.param == "max_tokens"


def test_unknown_effort_is_refused() -> None:
    request = ChatRequest(model="m", messages=[user("x")], reasoning=Reasoning(effort="extreme"))
    with pytest.raises(InvalidRequest):
        request_body(request, CLAUDE)


def test_reasoning_is_not_sent_to_models_without_thinking() -> None:
    request = ChatRequest(
        model="m", messages=[user("x")], reasoning=Reasoning(effort="high"), temperature=0.3
    )
    body = request_body(request, LLAMA)
    assert "additionalModelRequestFields" not in body
    assert body["inferenceConfig"] == {"temperature": 0.3}


def test_deployment_output_cap_comes_from_the_catalog() -> None:
    from dataclasses import replace

    from switchgear.catalog import ModelInfo

    target = replace(deployment(CLAUDE), info=ModelInfo(vendor="bedrock", id=CLAUDE, max_output_tokens=6000))
    request = ChatRequest(
        model="m", messages=[user("x")], reasoning=Reasoning(effort="high"), max_tokens=4000
    )
    body = json.loads(ADAPTER.build_request(request, target).body)
    assert body["inferenceConfig"]["maxTokens"] == 6000
    assert body["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 4096
