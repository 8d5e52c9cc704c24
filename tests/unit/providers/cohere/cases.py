"""The canonical requests behind the Cohere request goldens (``tests/fixtures/cohere/requests``)."""

from __future__ import annotations

from collections.abc import Callable

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

WEATHER = ToolDef(
    name="get_weather",
    description="Current weather in a city",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)
CLOCK = ToolDef(name="get_time")


def plain_system() -> ChatRequest:
    return ChatRequest(
        model="ignored",
        messages=[
            Message("system", [TextPart("You are terse.")]),
            Message("user", [TextPart("What is the capital of France?")]),
        ],
        max_tokens=256,
        temperature=0.3,
        top_p=0.9,
        top_k=40,
        stop=["\n\n", "END"],
        seed=7,
        user="u-42",
    )


def tool_round_trip() -> ChatRequest:
    return ChatRequest(
        model="ignored",
        messages=[
            Message("user", [TextPart("Weather in Paris, and the time?")]),
            Message(
                "assistant",
                tool_calls=[
                    ToolCall("call_1", "get_weather", '{"city":"Paris"}'),
                    ToolCall("call_2", "get_time", ""),
                ],
                reasoning=[ReasoningPart("I will look up the weather and the time.")],
            ),
            Message("tool", [TextPart('{"temp_c":18}')], tool_call_id="call_1"),
            Message("tool", [TextPart("boom")], tool_call_id="call_2", is_error=True),
            Message("assistant", [TextPart("18 °C in Paris.")]),
            Message("user", [TextPart("Thanks, now Berlin.")]),
        ],
        tools=[WEATHER, CLOCK],
        tool_choice=ToolChoice("named", "get_weather"),
        parallel_tool_calls=False,
        stream=True,
    )


def image() -> ChatRequest:
    return ChatRequest(
        model="ignored",
        messages=[
            Message(
                "user",
                [
                    TextPart("Compare these two images."),
                    ImagePart(url="https://example.com/cat.jpg", detail="low"),
                    ImagePart(media_type="image/png", data="iVBORw0KGgo="),
                ],
            )
        ],
    )


def json_schema() -> ChatRequest:
    return ChatRequest(
        model="ignored",
        messages=[Message("user", [TextPart("Give me a person as JSON.")])],
        response_format=ResponseFormat(
            "json_schema",
            name="person",
            strict=True,
            schema={
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                "required": ["name", "age"],
            },
        ),
    )


def thinking() -> ChatRequest:
    return ChatRequest(
        model="ignored",
        messages=[
            Message("user", [TextPart("What is 17 * 23?")]),
            Message("assistant", [TextPart("391.")], reasoning=[ReasoningPart("17*20=340, 17*3=51.")]),
            Message("user", [TextPart("And 17 * 24?")]),
        ],
        reasoning=Reasoning(effort="high"),
        max_tokens=8000,
    )


GOLDENS: dict[str, Callable[[], ChatRequest]] = {
    "plain_system.json": plain_system,
    "tool_round_trip.json": tool_round_trip,
    "image.json": image,
    "json_schema.json": json_schema,
    "thinking.json": thinking,
}
