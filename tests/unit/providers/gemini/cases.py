"""Canonical requests whose Gemini translations are kept as golden files under fixtures/gemini/requests."""

from __future__ import annotations

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

SIGNATURE = "1MziI++DdtJ6fXVSInzjz+PE4fFqiYvtmcY2h7XYkZA04A0x5z09cdDOyFL6aXI1"
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WEATHER = ToolDef(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
    strict=True,
)


def plain_system() -> ChatRequest:
    return ChatRequest(
        model="capitals",
        messages=[
            Message("system", [TextPart("You are terse.")]),
            Message("user", [TextPart("Capital of France?")]),
            Message("assistant", [TextPart("Paris.")]),
            Message("system", [TextPart("Answer in French from now on.")]),
            Message("user", [TextPart("And of Italy?"), TextPart("")], name="alice"),
            Message("user", [TextPart("One word.")]),
        ],
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_tokens=256,
        stop=["\n\n", "END"],
        n=2,
        seed=7,
        user="u-1",
        metadata={"trace": "t-9"},
    )


def tool_round_trip(*, stream: bool = False) -> ChatRequest:
    return ChatRequest(
        model="weather",
        stream=stream,
        messages=[
            Message("system", [TextPart("Use tools when useful.")]),
            Message("user", [TextPart("Weather in Paris and Tokyo?")]),
            Message(
                "assistant",
                [TextPart("Let me check both cities.")],
                tool_calls=[
                    ToolCall("call_0", "get_weather", '{"city":"Paris","unit":"celsius"}'),
                    ToolCall("call_1", "get_weather", '{"city": "Tokyo", "unit": "celsius"}'),
                ],
                reasoning=[ReasoningPart("**Checking the weather**\n\nTwo cities, two calls.", SIGNATURE)],
            ),
            # Answered out of order: sent back in call order.
            Message("tool", [TextPart("22 C, cloudy")], tool_call_id="call_1"),
            Message("tool", [TextPart("weather service timed out")], tool_call_id="call_0", is_error=True),
            Message("user", [TextPart("Which is warmer?")]),
        ],
        tools=[WEATHER, ToolDef(name="get_time")],
        tool_choice=ToolChoice("named", "get_weather"),
        parallel_tool_calls=False,
        max_tokens=1024,
    )


def image_inline() -> ChatRequest:
    return ChatRequest(
        model="vision",
        messages=[
            Message(
                "user",
                [
                    TextPart("What is in these images?"),
                    ImagePart.from_url(f"data:image/png;base64,{PIXEL}", detail="high"),
                    ImagePart(url="gs://acme-media/photos/cat.jpg"),
                    ImagePart(
                        url="https://generativelanguage.googleapis.com/v1beta/files/abc123xyz",
                        media_type="image/webp",
                    ),
                ],
            )
        ],
    )


def json_schema() -> ChatRequest:
    return ChatRequest(
        model="extract",
        messages=[Message("user", [TextPart("Extract the person: Ada Lovelace, born 1815.")])],
        response_format=ResponseFormat(
            type="json_schema",
            name="person",
            strict=True,
            schema={
                "type": "object",
                "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
                "required": ["name", "born"],
                "additionalProperties": False,
            },
        ),
    )


def thinking_budget() -> ChatRequest:
    return ChatRequest(
        model="thinker",
        stream=True,
        messages=[Message("user", [TextPart("Sum the integers from 1 to 100.")])],
        reasoning=Reasoning(effort="high"),
        max_tokens=8192,
    )


# golden file -> (provider type, deployment model, request, provider options)
GOLDENS = {
    "plain_system.json": ("gemini", "gemini-2.0-flash", plain_system, {}),
    "tool_round_trip.json": ("gemini", "gemini-2.5-flash", tool_round_trip, {}),
    "image_inline.json": ("gemini", "gemini-2.5-flash", image_inline, {}),
    "json_schema.json": ("gemini", "models/gemini-2.5-flash", json_schema, {}),
    "thinking_budget.json": ("gemini", "gemini-2.5-pro", thinking_budget, {}),
    "vertex_tool_round_trip.json": (
        "vertex",
        "gemini-2.5-flash",
        lambda: tool_round_trip(stream=True),
        {"project": "acme-prod", "location": "europe-west4"},
    ),
}
