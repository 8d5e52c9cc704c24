"""Canonical answers used by the encoding tests: whole responses and the equivalent streams."""

from __future__ import annotations

from switchgear.core.types import (
    ChatResponse,
    Choice,
    Finish,
    FinishReason,
    ImagePart,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage


def answer(
    message: Message,
    reason: FinishReason | None,
    usage: Usage,
    *,
    native: str | None = None,
    response_id: str = "chatcmpl-9f2",
) -> ChatResponse:
    return ChatResponse(
        response_id, "upstream-model", 1_700_000_000, [Choice(0, message, reason, native)], usage
    )


# name -> canonical response; the expected Anthropic JSON is tests/fixtures/anthropic_inbound/responses.json
RESPONSES: dict[str, ChatResponse] = {
    "text": answer(Message("assistant", [TextPart("Paris is "), TextPart("sunny.")]), "stop", Usage(25, 4)),
    "tools": answer(
        Message(
            "assistant",
            [TextPart("Checking both cities.")],
            tool_calls=[
                ToolCall("toolu_01A", "get_weather", '{"city": "Paris", "units": {"temp": "C"}}'),
                ToolCall("call_b2", "get_time", ""),
            ],
        ),
        "tool_calls",
        Usage(310, 58),
        response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
    ),
    "thinking": answer(
        Message(
            "assistant",
            [TextPart("It is 4.")],
            reasoning=[
                ReasoningPart("2 + 2: add the units.", signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3h"),
                ReasoningPart(redacted="EmwKAhgBEgy3va3pzix/LafPsn4a"),
                ReasoningPart("A reasoning model's summary without a signature."),
            ],
        ),
        "stop",
        Usage(40, 130, reasoning_tokens=120),
    ),
    "stop_sequence": answer(
        Message("assistant", [TextPart("1, 2, 3")]), "stop", Usage(12, 6), native="stop_sequence"
    ),
    "cache_usage": answer(
        Message("assistant", [TextPart("Done.")]),
        "stop",
        Usage(2000, 3, cached_tokens=1800, cache_write_tokens=150),
    ),
    "length": answer(
        Message("assistant", [TextPart("Once upon a")]), "length", Usage(9, 3), native="MAX_TOKENS"
    ),
    "context_window": answer(
        Message("assistant", [TextPart("…")]), "length", Usage(9, 1), native="model_context_window_exceeded"
    ),
    "refusal": answer(Message("assistant"), "content_filter", Usage(15, 0), native="SAFETY"),
    "error": answer(
        Message("assistant", [TextPart("partial")]), "error", Usage(8, 2), native="MALFORMED_RESPONSE"
    ),
    "tool_call_with_stop": answer(  # Gemini ends tool turns with STOP
        Message("assistant", tool_calls=[ToolCall("call_0", "get_time", '{"tz":"UTC"}')]),
        "stop",
        Usage(20, 5),
    ),
    "bad_arguments": answer(
        Message(
            "assistant",
            tool_calls=[ToolCall("toolu_x", "run", '{"cmd": "ls'), ToolCall("toolu_y", "run", "[1, 2]")],
        ),
        "tool_calls",
        Usage(30, 12),
    ),
    "image_output": answer(
        Message("assistant", [TextPart("Here:"), ImagePart(media_type="image/png", data="iVBO")]),
        "stop",
        Usage(5, 9),
    ),
    "no_choice": ChatResponse("", "upstream-model", 0, [], Usage()),
}

USAGE_TOOLS = Usage(2000, 58, cached_tokens=1800, cache_write_tokens=150)
USAGE_THINKING = Usage(40, 130, reasoning_tokens=120)

# name -> (canonical stream, the whole response it amounts to)
STREAMS: dict[str, tuple[list[StreamEvent], ChatResponse]] = {
    "text": (
        [
            StreamStart("chatcmpl-9f2", "upstream-model", 1_700_000_000),
            TextDelta(0, ""),
            TextDelta(0, "1, 2"),
            TextDelta(0, ", 3"),
            Finish(0, "stop", "stop_sequence"),
            UsageEvent(Usage(12, 6)),
        ],
        answer(Message("assistant", [TextPart("1, 2, 3")]), "stop", Usage(12, 6), native="stop_sequence"),
    ),
    "tool_use": (
        [
            StreamStart("chatcmpl-7c1", "upstream-model", 1_700_000_000),
            TextDelta(0, "Checking both."),
            ToolCallDelta(0, 0, "call_paris", "get_weather", ""),
            ToolCallDelta(0, 0, None, None, '{"city": "Pa'),
            ToolCallDelta(0, 0, None, None, 'ris"}'),
            ToolCallDelta(0, 1, "call_time", "get_time", ""),
            Finish(0, "tool_calls", "tool_calls"),
            UsageEvent(USAGE_TOOLS),
        ],
        answer(
            Message(
                "assistant",
                [TextPart("Checking both.")],
                tool_calls=[
                    ToolCall("call_paris", "get_weather", '{"city": "Paris"}'),
                    ToolCall("call_time", "get_time", ""),
                ],
            ),
            "tool_calls",
            USAGE_TOOLS,
            response_id="chatcmpl-7c1",
        ),
    ),
    "thinking": (
        [
            StreamStart("msg_01Think", "upstream-model", 1_700_000_000),
            ReasoningDelta(0, "2 + 2: "),
            ReasoningDelta(0, "add the units."),
            ReasoningDelta(0, signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3h"),
            ReasoningDelta(0, redacted="EmwKAhgBEgy3va3pzix/LafPsn4a"),
            TextDelta(0, "It is "),
            TextDelta(0, "4."),
            Finish(0, "stop"),
            UsageEvent(USAGE_THINKING),
        ],
        answer(
            Message(
                "assistant",
                [TextPart("It is 4.")],
                reasoning=[
                    ReasoningPart("2 + 2: add the units.", signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3h"),
                    ReasoningPart(redacted="EmwKAhgBEgy3va3pzix/LafPsn4a"),
                ],
            ),
            "stop",
            USAGE_THINKING,
            response_id="msg_01Think",
        ),
    ),
}
