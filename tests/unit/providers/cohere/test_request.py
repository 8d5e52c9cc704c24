"""Canonical requests to Cohere v2 chat requests: golden files per case, then each rule and refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchgear.core.errors import InvalidRequest, UpstreamError
from switchgear.core.types import (
    ChatRequest,
    ImagePart,
    Message,
    Reasoning,
    ResponseFormat,
    TextPart,
    ToolChoice,
)
from switchgear.providers.cohere.request import request_body
from tests.unit.providers.cohere.cases import CLOCK, GOLDENS, WEATHER
from tests.unit.providers.cohere.support import ADAPTER, deployment, load


def ask(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=list(messages) or [Message("user", [TextPart("hi")])], **fields)


def body(request: ChatRequest) -> dict[str, Any]:
    return request_body(request, "command-a")


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_request(name: str) -> None:
    request = ADAPTER.build_request(GOLDENS[name](), deployment())
    sent = {
        "method": request.method,
        "url": request.url,
        "params": request.params,
        "headers": request.headers,
        "body": json.loads(request.body),
    }
    assert sent == load(f"requests/{name}")


def test_body_is_compact_json() -> None:
    request = ADAPTER.build_request(ask(), deployment("command-r"))
    assert request.body == b'{"model":"command-r","messages":[{"role":"user","content":"hi"}]}'


def test_base_url_trailing_slash_and_missing_key() -> None:
    assert ADAPTER.build_request(ask(), deployment(base_url="http://sim:1/")).url == "http://sim:1/v2/chat"
    with pytest.raises(UpstreamError, match="has no api_key"):
        ADAPTER.build_request(ask(), deployment(api_key=None))


@pytest.mark.parametrize(
    ("choice", "tools", "mode"),
    [
        (ToolChoice("auto"), ["get_weather", "get_time"], None),
        (ToolChoice("none"), ["get_weather", "get_time"], "NONE"),
        (ToolChoice("required"), ["get_weather", "get_time"], "REQUIRED"),
        (ToolChoice("named", "get_time"), ["get_time"], "REQUIRED"),
    ],
)
def test_tool_choice(choice: ToolChoice, tools: list[str], mode: str | None) -> None:
    out = body(ask(tools=[WEATHER, CLOCK], tool_choice=choice))
    assert [t["function"]["name"] for t in out["tools"]] == tools
    assert out.get("tool_choice") == mode
    assert out["tools"][-1]["function"]["parameters"] == (
        {"type": "object", "properties": {}} if tools[-1] == "get_time" else WEATHER.parameters
    )


def test_named_tool_must_exist_and_strict_tools() -> None:
    with pytest.raises(InvalidRequest) as info:
        body(ask(tools=[WEATHER], tool_choice=ToolChoice("named", "nope")))
    assert info.value.param == "tool_choice"
    strict = [WEATHER.__class__(name="a", strict=True)]
    assert body(ask(tools=strict))["strict_tools"] is True
    assert "strict_tools" not in body(ask(tools=[WEATHER]))


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (ResponseFormat("text"), None),
        (ResponseFormat("json_object"), {"type": "json_object"}),
        (ResponseFormat("json_schema", name="x"), {"type": "json_object"}),
    ],
)
def test_response_format(fmt: ResponseFormat, expected: dict[str, Any] | None) -> None:
    assert body(ask(response_format=fmt)).get("response_format") == expected


@pytest.mark.parametrize(
    ("reasoning", "thinking"),
    [
        (Reasoning(effort="none"), {"type": "disabled"}),
        (Reasoning(effort="minimal"), {"type": "enabled", "token_budget": 128}),
        (Reasoning(effort="max"), {"type": "enabled", "token_budget": 16384}),
        (Reasoning(budget_tokens=3000, effort="low"), {"type": "enabled", "token_budget": 3000}),
        (Reasoning(budget_tokens=0), {"type": "disabled"}),
        (Reasoning(), {"type": "enabled"}),
    ],
)
def test_thinking(reasoning: Reasoning, thinking: dict[str, Any]) -> None:
    assert body(ask(reasoning=reasoning))["thinking"] == thinking


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        (ask(n=2), "n"),
        (ask(reasoning=Reasoning(effort="extreme")), "reasoning_effort"),
        (ask(Message("system", [TextPart("only a system prompt")])), "messages"),
        (
            ask(Message("system", [ImagePart(url="https://x/y.png")]), Message("user", [TextPart("hi")])),
            "messages[0].content[0]",
        ),
        (ask(Message("tool", [TextPart("x")])), "messages[0].tool_call_id"),
        (ask(Message("assistant", [ImagePart(url="https://x/y.png")])), "messages[0].content[0]"),
        (ask(Message("user", [TextPart("a"), ImagePart()])), "messages[0].content[1]"),
    ],
)
def test_refusals(request_: ChatRequest, param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        body(request_)
    assert info.value.param == param
