"""Anthropic Messages bodies decoded into canonical requests: a Claude-Code-shaped golden request,
each mapping on its own, and the API's validation errors (400, with the parameter named)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from switchgear.apis.anthropic.codec import AnthropicMessagesCodec
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
from tests.unit.apis.anthropic.conftest import fixture

codec = AnthropicMessagesCodec()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
BASE: dict[str, Any] = {
    "model": "claude-test",
    "max_tokens": 2048,
    "system": "Be brief.",
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Need the city.", "signature": "sig-1"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Thanks."},
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C, sunny"},
            ],
        },
    ],
    "tools": [{"name": "get_weather", "description": "Current weather.", "input_schema": WEATHER}],
}


def body(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    out.update(changes)
    return out


def decode(raw: dict[str, Any], headers: dict[str, str] | None = None) -> ChatRequest:
    return codec.decode(raw, headers or {})


def test_claude_code_request_decodes_to_the_golden_canonical_request() -> None:
    headers = {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,"
        "fine-grained-tool-streaming-2025-05-14",
        "user-agent": "claude-cli/2.0.0",
    }
    request = decode(fixture("claude_code_request.json"), headers)
    assert dataclasses.asdict(request) == fixture("claude_code_canonical.json")
    # asdict forgets the part classes: check them too.
    kinds = [[type(p).__name__ for p in m.content] for m in request.messages]
    assert kinds == [
        ["TextPart", "TextPart"],
        ["TextPart", "TextPart", "ImagePart"],
        ["TextPart"],
        ["TextPart"],
        ["TextPart"],
        ["TextPart"],
        [],
        ["TextPart"],
        [],
        ["TextPart"],
        ["ImagePart", "TextPart", "ImagePart"],
    ]


def test_base_request_decodes_to_exact_canonical_objects() -> None:
    assert decode(BASE) == ChatRequest(
        model="claude-test",
        max_tokens=2048,
        messages=[
            Message("system", [TextPart("Be brief.")]),
            Message("user", [TextPart("Weather in Paris?")]),
            Message(
                "assistant",
                tool_calls=[ToolCall("toolu_1", "get_weather", '{"city":"Paris"}')],
                reasoning=[ReasoningPart("Need the city.", signature="sig-1")],
            ),
            # The result goes first; the text of the same turn follows as a user message.
            Message("tool", [TextPart("18°C, sunny")], tool_call_id="toolu_1"),
            Message("user", [TextPart("Thanks.")]),
        ],
        tools=[ToolDef("get_weather", "Current weather.", WEATHER)],
    )


def test_parallel_results_keep_their_order_and_error_flag() -> None:
    raw = body(
        messages=[
            {"role": "user", "content": "Two cities."},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "a", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "b", "name": "get_weather", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "b", "is_error": True, "content": "no city"},
                    {"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": "18"}]},
                ],
            },
        ]
    )
    messages = decode(raw).messages
    assert messages[2] == Message(
        "assistant",
        [TextPart("Checking both.")],
        tool_calls=[ToolCall("a", "get_weather", '{"city":"Paris"}'), ToolCall("b", "get_weather", "{}")],
    )
    assert messages[3:] == [
        Message("tool", [TextPart("no city")], tool_call_id="b", is_error=True),
        Message("tool", [TextPart("18")], tool_call_id="a"),
    ]


def test_tool_result_forms() -> None:
    raw = body()
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    marker = {"type": "ephemeral"}
    raw["messages"][2]["content"] = [
        {"type": "tool_result", "tool_use_id": "toolu_1"},  # no content at all
    ]
    assert decode(raw).messages[3:] == [Message("tool", [], tool_call_id="toolu_1")]
    raw["messages"][2]["content"] = [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "cache_control": marker,
            "content": [
                {"type": "text", "text": ""},
                {"type": "text", "text": "one"},
                image,
                {"type": "text", "text": "two"},
            ],
        },
    ]
    assert decode(raw).messages[3:] == [
        Message("tool", [TextPart("one"), TextPart("two", cache_control=marker)], tool_call_id="toolu_1"),
        Message("user", [ImagePart(url="https://example.com/a.png")]),
    ]


def test_thinking_config() -> None:
    assert decode(body(thinking={"type": "enabled", "budget_tokens": 1024})).reasoning == Reasoning(
        budget_tokens=1024
    )
    omitted = {"type": "enabled", "budget_tokens": 2000, "display": "omitted"}
    assert decode(body(thinking=omitted)).reasoning == Reasoning(budget_tokens=2000, include=False)
    assert decode(body(thinking={"type": "adaptive"})).reasoning == Reasoning(effort="medium")
    adaptive_high = body(thinking={"type": "adaptive"}, output_config={"effort": "high"})
    assert decode(adaptive_high).reasoning == Reasoning(effort="high")
    assert decode(body(thinking={"type": "disabled"})).reasoning == Reasoning(effort="none")
    assert decode(body(output_config={"effort": "low"})).reasoning == Reasoning(effort="low")
    assert decode(body()).reasoning is None


def test_tool_choice_and_parallel_calls() -> None:
    cases = [
        ({"type": "auto"}, ToolChoice("auto"), None),
        ({"type": "any"}, ToolChoice("required"), None),
        ({"type": "tool", "name": "get_weather"}, ToolChoice("named", "get_weather"), None),
        ({"type": "none"}, ToolChoice("none"), None),
        ({"type": "auto", "disable_parallel_tool_use": True}, ToolChoice("auto"), False),
        ({"type": "any", "disable_parallel_tool_use": False}, ToolChoice("required"), None),
    ]
    for raw, choice, parallel in cases:
        request = decode(body(tool_choice=raw))
        assert (request.tool_choice, request.parallel_tool_calls) == (choice, parallel), raw


def test_sampling_stop_user_stream_and_structured_output() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    request = decode(
        body(
            stream=True,
            temperature=0,
            top_p=0.9,
            top_k=40,
            stop_sequences=["###", "END"],
            metadata={"user_id": "u-42"},
            output_config={"format": {"type": "json_schema", "schema": schema}},
            service_tier="auto",  # dropped: no canonical field
            unknown_future_field={"x": 1},  # dropped, as the OpenAI codec passes unknown fields over
        )
    )
    assert (request.stream, request.temperature, request.top_p, request.top_k) == (True, 0.0, 0.9, 40)
    assert request.stop == ["###", "END"]
    assert request.user == "u-42"
    assert request.response_format == ResponseFormat("json_schema", schema=schema)


def test_top_level_cache_control_marks_the_last_part_only_when_unmarked() -> None:
    marker = {"type": "ephemeral", "ttl": "1h"}
    messages = decode(body(cache_control=marker)).messages
    assert messages[-1].content[-1] == TextPart("Thanks.", cache_control=marker)
    assert all(p.cache_control is None for m in messages[:-1] for p in m.content)
    raw = body(cache_control=marker)
    raw["messages"][2]["content"][0]["cache_control"] = {"type": "ephemeral"}
    assert decode(raw).messages[-1].content[-1].cache_control == {"type": "ephemeral"}


def test_system_blocks_string_and_system_role_messages() -> None:
    blocks = [
        {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "B"},
    ]
    assert decode(body(system=blocks)).messages[0] == Message(
        "system", [TextPart("A", cache_control={"type": "ephemeral"}), TextPart("B")]
    )
    assert decode(body(system="")).messages[0].role == "user"
    raw = body()
    del raw["system"]
    raw["messages"].insert(1, {"role": "system", "content": "Late instruction."})
    assert [m.role for m in decode(raw).messages] == ["user", "system", "assistant", "tool", "user"]


def test_prefill_may_be_empty_and_headers_are_filtered() -> None:
    raw = body(messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}])
    headers = {"anthropic-version": "2026-10-21", "x-api-key": "sk-secret", "authorization": "Bearer sk"}
    request = decode(raw, headers)
    assert request.messages[1:] == [Message("user", [TextPart("Hi")]), Message("assistant")]
    assert request.headers == {"anthropic-version": "2026-10-21"}


def test_count_tokens_body_needs_no_max_tokens() -> None:
    raw = body()
    del raw["max_tokens"]
    request = codec.decode_count_tokens(raw, {})
    assert request.max_tokens is None
    assert len(request.messages) == 5


DELETE = object()


def change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
U0, A1, U2 = ("messages", 0), ("messages", 1), ("messages", 2)
INVALID = [
    (change(("model",), DELETE), "model", "model: field required"),
    (change(("model",), 5), "model", "must be a string, got an integer"),
    (change(("model",), ""), "model", "non-empty"),
    (change(("max_tokens",), DELETE), "max_tokens", "max_tokens: field required"),
    (change(("max_tokens",), "100"), "max_tokens", "must be an integer, got a string"),
    (change(("max_tokens",), True), "max_tokens", "must be an integer, got a boolean"),
    (change(("max_tokens",), 0), "max_tokens", "only available when the model is served by Anthropic"),
    (change(("max_tokens",), -5), "max_tokens", "greater than or equal to 1"),
    (change(("messages",), DELETE), "messages", "field required"),
    (change(("messages",), "hi"), "messages", "must be an array, got a string"),
    (change(("messages",), []), "messages", "at least one message"),
    (change(("messages", 0), "hi"), "messages[0]", "must be an object"),
    (change((*U0, "role"), "tool"), "messages[0].role", "got 'tool'"),
    (change((*U0, "content"), DELETE), "messages[0].content", "field required"),
    (change((*U0, "content"), 5), "messages[0].content", "string or an array of content blocks"),
    (change((*U0, "content"), ""), "messages[0].content", "non-empty"),
    (change((*U0, "content"), [{"text": "x"}]), "messages[0].content[0].type", "with a 'type'"),
    (
        change((*U0, "content"), [{"type": "video"}]),
        "messages[0].content[0].type",
        "unknown content block type 'video'",
    ),
    (
        change((*U0, "content"), [{"type": "document", "source": {}}]),
        "messages[0].content[0].type",
        "'document' blocks are only available when the model is served by Anthropic",
    ),
    (
        change((*U0, "content"), [{"type": "tool_use", "id": "x", "name": "f", "input": {}}]),
        "messages[0].content[0].type",
        "'tool_use' blocks are not allowed in user messages",
    ),
    (change((*A1, "content"), [IMAGE]), "messages[1].content[0].type", "not allowed in assistant messages"),
    (change((*U0, "content"), [{"type": "text"}]), "messages[0].content[0].text", "field required"),
    (change((*U0, "content"), [{"type": "text", "text": ""}]), "messages[0].content[0].text", "non-empty"),
    (
        change((*U0, "content"), [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]),
        "messages[0].content[0].cache_control",
        "ephemeral",
    ),
    (
        change(
            (*U0, "content"),
            [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "2h"}}],
        ),
        "messages[0].content[0].cache_control",
        "'5m' or '1h'",
    ),
    (change((*U0, "content"), [{"type": "image"}]), "messages[0].content[0].source", "field required"),
    (
        change(
            (*U0, "content"),
            [{**IMAGE, "source": {"type": "base64", "media_type": "image/bmp", "data": "x"}}],
        ),
        "messages[0].content[0].source.media_type",
        "image/jpeg",
    ),
    (
        change((*U0, "content"), [{**IMAGE, "source": {"type": "file", "file_id": "file_1"}}]),
        "messages[0].content[0].source.type",
        "file sources are only available",
    ),
    (
        change((*U0, "content"), [{**IMAGE, "source": {"type": "url"}}]),
        "messages[0].content[0].source.url",
        "field required",
    ),
    (change((*A1, "content", 1, "input"), "{}"), "messages[1].content[1].input", "must be an object"),
    (change((*A1, "content", 1, "id"), DELETE), "messages[1].content[1].id", "field required"),
    (change((*A1, "content", 0, "signature"), DELETE), "messages[1].content[0].signature", "field required"),
    (
        change((*A1, "content", 0), {"type": "redacted_thinking"}),
        "messages[1].content[0].data",
        "field required",
    ),
    (
        change((*U2, "content", 1, "tool_use_id"), DELETE),
        "messages[2].content[1].tool_use_id",
        "field required",
    ),
    (
        change((*U2, "content", 1, "tool_use_id"), "toolu_9"),
        "messages[2].content[1].tool_use_id",
        "unexpected tool_use_id found in tool_result blocks: toolu_9",
    ),
    (
        change((*U2, "content"), "Thanks."),
        "messages[1]",
        "tool_use ids were found without tool_result blocks immediately after: toolu_1",
    ),
    (change((*U2, "content", 1, "is_error"), "yes"), "messages[2].content[1].is_error", "must be a boolean"),
    (
        change((*U2, "content", 1, "content"), [{"type": "tool_result", "tool_use_id": "toolu_1"}]),
        "messages[2].content[1].content[0].type",
        "cannot be nested",
    ),
    (
        change((*U2, "content", 1, "content"), [{"type": "document"}]),
        "messages[2].content[1].content[0].type",
        "only available when the model is served by Anthropic",
    ),
    (change(("system",), 5), "system", "string or an array"),
    (change(("system",), [IMAGE]), "system[0].type", "not allowed in system messages"),
    (change(("tools",), {"name": "f"}), "tools", "must be an array"),
    (
        change(("tools", 0), {"type": "web_search_20250305", "name": "web_search"}),
        "tools[0].type",
        "server tools ('web_search_20250305') are only available when the model is served by Anthropic",
    ),
    (change(("tools", 0, "input_schema"), DELETE), "tools[0].input_schema", "field required"),
    (change(("tools", 0, "name"), DELETE), "tools[0].name", "field required"),
    (change(("tools", 0, "strict"), "yes"), "tools[0].strict", "must be a boolean"),
    (change(("tool_choice",), "auto"), "tool_choice.type", "'auto', 'any', 'tool' or 'none'"),
    (change(("tool_choice",), {"type": "required"}), "tool_choice.type", "'auto', 'any', 'tool' or 'none'"),
    (change(("tool_choice",), {"type": "tool"}), "tool_choice.name", "field required"),
    (change(("tool_choice",), {"type": "tool", "name": "nope"}), "tool_choice.name", "no tool named 'nope'"),
    (
        change(("tool_choice",), {"type": "auto", "disable_parallel_tool_use": "yes"}),
        "tool_choice.disable_parallel_tool_use",
        "must be a boolean",
    ),
    (change(("temperature",), "hot"), "temperature", "must be a number, got a string"),
    (change(("temperature",), 1.5), "temperature", "between 0 and 1"),
    (change(("top_p",), 2), "top_p", "between 0 and 1"),
    (change(("top_k",), 2.5), "top_k", "must be an integer, got a number"),
    (change(("top_k",), -1), "top_k", "greater than or equal to 0"),
    (change(("stop_sequences",), "END"), "stop_sequences", "must be an array of strings, got a string"),
    (change(("stop_sequences",), ["END", 1]), "stop_sequences", "array of strings"),
    (change(("stream",), "yes"), "stream", "must be a boolean"),
    (change(("thinking",), {"type": "enabled"}), "thinking.budget_tokens", "field required"),
    (change(("thinking",), {"type": "enabled", "budget_tokens": 512}), "thinking.budget_tokens", "1024"),
    (
        change(("thinking",), {"type": "enabled", "budget_tokens": 4096}),
        "max_tokens",
        "greater than thinking.budget_tokens",
    ),
    (change(("thinking",), {"type": "on"}), "thinking.type", "'enabled', 'adaptive' or 'disabled'"),
    (change(("thinking",), {"type": "adaptive", "display": "full"}), "thinking.display", "summarized"),
    (change(("thinking",), "enabled"), "thinking", "must be an object"),
    (change(("output_config",), {"effort": "extreme"}), "output_config.effort", "low, medium, high"),
    (
        change(("output_config",), {"format": {"type": "json_object"}}),
        "output_config.format.type",
        "json_schema",
    ),
    (
        change(("output_config",), {"format": {"type": "json_schema"}}),
        "output_config.format.schema",
        "field required",
    ),
    (change(("metadata",), "u1"), "metadata", "must be an object"),
    (change(("metadata",), {"user_id": 7}), "metadata.user_id", "must be a string"),
    (change(("cache_control",), {"type": "ephemeral", "ttl": "1d"}), "cache_control", "'5m' or '1h'"),
    (
        change(("container",), "container_1"),
        "container",
        "only available when the model is served by Anthropic",
    ),
    (change(("mcp_servers",), [{"type": "url"}]), "mcp_servers", "only available"),
]


@pytest.mark.parametrize(
    ("raw", "param", "fragment"), INVALID, ids=[f"{i}-{c[1]}" for i, c in enumerate(INVALID)]
)
def test_invalid_requests_are_400_naming_the_parameter(
    raw: dict[str, Any], param: str, fragment: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode(raw)
    assert caught.value.param == param
    assert fragment in caught.value.message
    assert caught.value.message.startswith(param + ": ")
    assert (caught.value.status, caught.value.anthropic_type) == (400, "invalid_request_error")


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        codec.decode([], {})  # type: ignore[arg-type]
    assert (caught.value.status, caught.value.param) == (400, None)
