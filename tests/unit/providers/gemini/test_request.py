"""Canonical requests to Gemini requests: golden files per case, then every rule and refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from switchgear.core.errors import InvalidRequest, UpstreamError
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
)
from switchgear.providers.gemini.request import request_body
from switchgear.transport.client import HttpRequest
from tests.unit.providers.gemini.cases import GOLDENS, SIGNATURE, WEATHER, tool_round_trip
from tests.unit.providers.gemini.support import ADAPTER, GEMINI_KEY, VERTEX_TOKEN, deployment, load


def sent(request: HttpRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "params": request.params,
        "headers": request.headers,
        "body": json.loads(request.body),
    }


def body(request: ChatRequest, *, function_ids: bool = True) -> dict[str, Any]:
    return request_body(request, function_ids=function_ids)


def user(text: str = "hi") -> Message:
    return Message("user", [TextPart(text)])


def ask(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=list(messages) or [user()], **fields)


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_request(name: str) -> None:
    type_, model, make, options = GOLDENS[name]
    request = ADAPTER.build_request(make(), deployment(type_, model, options=options))
    assert sent(request) == load(f"requests/{name}")


def test_body_is_compact_json() -> None:
    request = ADAPTER.build_request(ask(), deployment())
    assert request.body == b'{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'


# --- roles, system, merging -------------------------------------------------------------------


def test_system_only_is_refused() -> None:
    with pytest.raises(InvalidRequest) as info:
        body(ask(Message("system", [TextPart("be nice")])))
    assert info.value.param == "messages"
    assert "at least one user or assistant message" in info.value.message


def test_empty_turns_vanish_and_neighbours_merge() -> None:
    out = body(ask(user("a"), Message("assistant", [TextPart("")]), user("b")))
    assert out["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


def test_history_starting_with_the_model_is_sent_as_is() -> None:
    out = body(ask(Message("assistant", [TextPart("Hello! How can I help?")]), user("Tell a joke.")))
    assert [c["role"] for c in out["contents"]] == ["model", "user"]


def test_image_in_system_is_refused() -> None:
    system = Message("system", [TextPart("look"), ImagePart(media_type="image/png", data="AAAA")])
    with pytest.raises(InvalidRequest) as info:
        body(ask(system, user()))
    assert info.value.param == "messages[0].content[1]"


# --- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/cat.png",
        "http://10.0.0.1/x.jpg",
        "https://generativelanguage.googleapis.com/v1beta/models",
    ],
)
def test_image_urls_are_refused_not_fetched(url: str) -> None:
    message = Message("user", [TextPart("what is this?"), ImagePart(url=url)])
    with pytest.raises(InvalidRequest) as info:
        ADAPTER.build_request(ask(message), deployment())
    assert info.value.param == "messages[0].content[1]"
    assert info.value.message == (
        "messages[0].content[1]: Gemini cannot fetch image URLs; send the image inline as a data: URL"
    )


def test_gs_uri_without_known_extension_has_no_mime_type() -> None:
    out = body(ask(Message("user", [ImagePart(url="gs://bucket/blob")])))
    assert out["contents"][0]["parts"] == [{"fileData": {"fileUri": "gs://bucket/blob"}}]


def test_inline_image_without_media_type_is_refused() -> None:
    with pytest.raises(InvalidRequest) as info:
        body(ask(Message("user", [ImagePart(data="AAAA")])))
    assert info.value.param == "messages[0].content[0]"


# --- tools ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (ToolChoice("auto"), {"mode": "AUTO"}),
        (ToolChoice("required"), {"mode": "ANY"}),
        (ToolChoice("none"), {"mode": "NONE"}),
        (ToolChoice("named", "get_weather"), {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ],
)
def test_tool_choice(choice: ToolChoice, expected: dict[str, Any]) -> None:
    out = body(ask(tools=[WEATHER], tool_choice=choice))
    assert out["toolConfig"] == {"functionCallingConfig": expected}


def test_no_tool_config_without_tools_or_choice() -> None:
    assert "toolConfig" not in body(ask(tools=[WEATHER]))
    assert "toolConfig" not in body(ask(tool_choice=ToolChoice("none")))
    assert "tools" not in body(ask(tool_choice=ToolChoice("none")))


def test_tool_result_for_an_unknown_call_names_the_message() -> None:
    request = ask(user(), Message("tool", [TextPart("18 C")], tool_call_id="call_x"))
    with pytest.raises(InvalidRequest) as info:
        body(request)
    assert info.value.param == "messages[1].tool_call_id"
    assert "messages[1] answers tool call 'call_x'" in info.value.message


def test_tool_result_before_its_call_is_unknown() -> None:
    call = ToolCall("c1", "f", "{}")
    request = ask(
        user(), Message("tool", [TextPart("x")], tool_call_id="c1"), Message("assistant", tool_calls=[call])
    )
    with pytest.raises(InvalidRequest) as info:
        body(request)
    assert info.value.param == "messages[1].tool_call_id"


def test_repeated_call_ids_resolve_to_the_nearest_call() -> None:
    request = ask(
        user(),
        Message("assistant", tool_calls=[ToolCall("call_0", "first", "{}")]),
        Message("tool", [TextPart("1")], tool_call_id="call_0"),
        Message("assistant", tool_calls=[ToolCall("call_0", "second", "{}")]),
        Message("tool", [TextPart("2")], tool_call_id="call_0"),
    )
    names = [
        p["functionResponse"]["name"]
        for c in body(request)["contents"]
        for p in c["parts"]
        if "functionResponse" in p
    ]
    assert names == ["first", "second"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", {}),
        ("  ", {}),
        ("{}", {}),
        ('{"a": [1, {"b": null}], "c": "é"}', {"a": [1, {"b": None}], "c": "é"}),
    ],
)
def test_call_arguments_become_objects(arguments: str, expected: dict[str, Any]) -> None:
    out = body(ask(user(), Message("assistant", tool_calls=[ToolCall("c", "f", arguments)])))
    assert out["contents"][1]["parts"] == [{"functionCall": {"name": "f", "args": expected, "id": "c"}}]


@pytest.mark.parametrize(
    ("arguments", "why"), [("{not json", "is not valid JSON"), ("[1, 2]", "must be a JSON object")]
)
def test_bad_call_arguments_are_refused(arguments: str, why: str) -> None:
    request = ask(
        user(), Message("assistant", tool_calls=[ToolCall("a", "f", "{}"), ToolCall("b", "f", arguments)])
    )
    with pytest.raises(InvalidRequest) as info:
        body(request)
    assert info.value.param == "messages[1].tool_calls[1].function.arguments"
    assert why in info.value.message


def test_image_in_tool_result_is_refused() -> None:
    request = ask(
        user(),
        Message("assistant", tool_calls=[ToolCall("c", "f", "{}")]),
        Message("tool", [ImagePart(media_type="image/png", data="AAAA")], tool_call_id="c"),
    )
    with pytest.raises(InvalidRequest) as info:
        body(request)
    assert info.value.param == "messages[2].content[0]"


def test_vertex_gets_no_function_ids() -> None:
    out = body(tool_round_trip(), function_ids=False)
    parts = [p for c in out["contents"] for p in c["parts"]]
    assert [p["functionCall"] for p in parts if "functionCall" in p] == [
        {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}},
        {"name": "get_weather", "args": {"city": "Tokyo", "unit": "celsius"}},
    ]
    assert all("id" not in p["functionResponse"] for p in parts if "functionResponse" in p)


# --- reasoning signatures ---------------------------------------------------------------------


def test_signature_without_calls_goes_on_the_first_text_part() -> None:
    assistant = Message(
        "assistant",
        [TextPart("The answer is 42."), TextPart(" Really.")],
        reasoning=[ReasoningPart("", SIGNATURE)],
    )
    out = body(ask(user(), assistant, user("why?")))
    assert out["contents"][1]["parts"] == [
        {"text": "The answer is 42.", "thoughtSignature": SIGNATURE},
        {"text": " Really."},
    ]


def test_reasoning_text_without_signature_is_not_sent() -> None:
    assistant = Message("assistant", [TextPart("42")], reasoning=[ReasoningPart("long thoughts")])
    out = body(ask(user(), assistant, user("ok")))
    assert out["contents"][1] == {"role": "model", "parts": [{"text": "42"}]}


def test_several_signatures_go_on_the_calls_in_order() -> None:
    assistant = Message(
        "assistant",
        tool_calls=[ToolCall("a", "f", "{}"), ToolCall("b", "g", "{}")],
        reasoning=[ReasoningPart("t", "SIG1"), ReasoningPart("", "SIG2")],
    )
    parts = body(ask(user(), assistant))["contents"][1]["parts"]
    assert [p.get("thoughtSignature") for p in parts] == ["SIG1", "SIG2"]


# --- generation config ------------------------------------------------------------------------


def test_json_object_mode() -> None:
    out = body(ask(response_format=ResponseFormat(type="json_object")))
    assert out["generationConfig"] == {"responseMimeType": "application/json"}


def test_text_format_and_defaults_send_no_generation_config() -> None:
    assert "generationConfig" not in body(ask(response_format=ResponseFormat(type="text")))


@pytest.mark.parametrize(
    ("reasoning", "expected"),
    [
        (Reasoning(effort="none"), {"thinkingBudget": 0}),
        (Reasoning(effort="minimal"), {"thinkingBudget": 128, "includeThoughts": True}),
        (Reasoning(effort="low"), {"thinkingBudget": 1024, "includeThoughts": True}),
        (Reasoning(effort="medium"), {"thinkingBudget": 2048, "includeThoughts": True}),
        (Reasoning(effort="xhigh"), {"thinkingBudget": 8192, "includeThoughts": True}),
        (Reasoning(effort="max"), {"thinkingBudget": 16384, "includeThoughts": True}),
        (Reasoning(effort="low", budget_tokens=3000), {"thinkingBudget": 3000, "includeThoughts": True}),
        (Reasoning(budget_tokens=-1), {"thinkingBudget": -1, "includeThoughts": True}),
        (Reasoning(effort="high", include=False), {"thinkingBudget": 4096}),
        (Reasoning(), {"includeThoughts": True}),
    ],
)
def test_thinking_config(reasoning: Reasoning, expected: dict[str, Any]) -> None:
    assert body(ask(reasoning=reasoning))["generationConfig"] == {"thinkingConfig": expected}


def test_unknown_effort_is_refused() -> None:
    with pytest.raises(InvalidRequest) as info:
        body(ask(reasoning=Reasoning(effort="extreme")))
    assert info.value.param == "reasoning_effort"


# --- URLs and auth ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("my model/v1:beta", "my%20model%2Fv1%3Abeta"),
    ],
)
def test_model_is_percent_encoded(model: str, path: str) -> None:
    request = ADAPTER.build_request(ask(), deployment(model=model))
    assert request.url == f"https://generativelanguage.googleapis.com/v1beta/models/{path}:generateContent"


def test_gemini_key_goes_in_a_header_never_the_url() -> None:
    request = ADAPTER.build_request(ask(stream=True), deployment(headers={"x-extra": "1"}))
    assert request.headers == {
        "content-type": "application/json",
        "x-extra": "1",
        "x-goog-api-key": GEMINI_KEY,
    }
    assert request.params == {"alt": "sse"}
    assert GEMINI_KEY not in request.url and "key=" not in request.url


def test_gemini_custom_base_url() -> None:
    request = ADAPTER.build_request(ask(), deployment(base_url="http://127.0.0.1:9999"))
    assert request.url == "http://127.0.0.1:9999/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.mark.parametrize(
    ("options", "base_url", "url"),
    [
        (
            {"project": "acme", "location": "us-central1"},
            None,
            "https://us-central1-aiplatform.googleapis.com/v1/projects/acme/locations/us-central1",
        ),
        ({"project": "acme"}, None, "https://aiplatform.googleapis.com/v1/projects/acme/locations/global"),
        (
            {"project": "acme", "location": "global"},
            None,
            "https://aiplatform.googleapis.com/v1/projects/acme/locations/global",
        ),
        (
            {"project": "acme", "location": "eu"},
            None,
            "https://aiplatform.eu.rep.googleapis.com/v1/projects/acme/locations/eu",
        ),
        (
            {"project": "acme", "location": "us-east5"},
            "https://vertex.internal.example",
            "https://vertex.internal.example/v1/projects/acme/locations/us-east5",
        ),
    ],
)
def test_vertex_urls(options: dict[str, str], base_url: str | None, url: str) -> None:
    dep = deployment("vertex", "gemini-2.5-pro", options=options, base_url=base_url or "")
    request = ADAPTER.build_request(ask(), dep)
    assert request.url == url + "/publishers/google/models/gemini-2.5-pro:generateContent"
    assert request.headers["authorization"] == f"Bearer {VERTEX_TOKEN}"
    assert "x-goog-api-key" not in request.headers


def test_vertex_access_token_wins_over_api_key() -> None:
    dep = deployment("vertex", options={"project": "acme"})
    request = ADAPTER.build_request(ask(), dep, access_token="ya29.minted")
    assert request.headers["authorization"] == "Bearer ya29.minted"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: deployment("vertex", options={"location": "us-central1"}), "has no project option"),
        (lambda: deployment("vertex", options={"project": "acme"}, api_key=""), "has no access token"),
    ],
)
def test_vertex_misconfiguration_fails_over(make: Callable[[], Any], why: str) -> None:
    with pytest.raises(UpstreamError) as info:
        ADAPTER.build_request(ask(), make())
    assert why in info.value.message
    assert info.value.code == "provider_misconfigured"
    assert info.value.retryable
    assert VERTEX_TOKEN not in info.value.message
