"""Anthropic answers read back: a whole Message as a canonical response, its usage and stop
reason (WIRE-FORMATS §3.3, §8.a, §8.b). Error bodies are read by ``errors``.
"""

from __future__ import annotations

import time
from typing import Any

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.jsoncodec import dumps, load_object
from switchgear.core.types import (
    ChatResponse,
    Choice,
    ContentPart,
    FinishReason,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
)
from switchgear.core.usage import Counts, Usage
from switchgear.providers.anthropic.errors import in_band_error
from switchgear.providers.base import Deployment

FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


def finish_reason(native: str) -> FinishReason:
    """The canonical finish reason of an Anthropic ``stop_reason`` (unknown ones: ``stop``)."""
    return FINISH.get(native, "stop")


def read_usage(raw: Any) -> Usage:
    """An Anthropic ``usage`` object: prompt = input + cache reads + cache writes."""
    if not isinstance(raw, dict):
        return Usage()
    usage = Usage(reported=True)
    fresh = usage.count(raw.get("input_tokens"))
    usage.cached_tokens = usage.count(raw.get("cache_read_input_tokens"))
    usage.cache_write_tokens = usage.count(raw.get("cache_creation_input_tokens"))
    usage.prompt_tokens = fresh + usage.cached_tokens + usage.cache_write_tokens
    usage.completion_tokens = usage.count(raw.get("output_tokens"))
    details = raw.get("output_tokens_details")
    if isinstance(details, dict):
        usage.reasoning_tokens = usage.count(details.get("thinking_tokens"))
    return usage.bound()


def usage_counts(usage: Usage) -> Counts:
    """Where ``read_usage`` read each number, for restating a suspicious usage object."""
    return {
        ("input_tokens",): usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens,
        ("cache_read_input_tokens",): usage.cached_tokens,
        ("cache_creation_input_tokens",): usage.cache_write_tokens,
        ("output_tokens",): usage.completion_tokens,
        ("output_tokens_details", "thinking_tokens"): usage.reasoning_tokens,
    }


def parse_response(raw: bytes, deployment: Deployment) -> ChatResponse:
    """A non-streamed Messages answer as a canonical response (one choice)."""
    provider = deployment.provider.name
    answer = load_object(raw, provider, exact=True)
    if answer.get("type") == "error":
        raise in_band_error(answer.get("error"), provider)
    content = answer.get("content")
    if answer.get("type") != "message" or not isinstance(content, list):
        raise UpstreamProtocolError(
            f"provider {provider!r} answered with something that is not an Anthropic message",
            provider=provider,
        )
    native = answer.get("stop_reason")
    native = native if isinstance(native, str) else None
    return ChatResponse(
        id=str(answer.get("id") or f"msg_{time.time_ns():x}"),
        model=str(answer.get("model") or deployment.model),
        created=int(time.time()),
        choices=[
            Choice(
                index=0,
                message=_message(content, provider),
                finish_reason=finish_reason(native) if native is not None else None,
                native_finish_reason=native,
            )
        ],
        usage=read_usage(answer.get("usage")),
    )


def _message(content: list[Any], provider: str) -> Message:
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    reasoning: list[ReasoningPart] = []
    for block in content:
        if not isinstance(block, dict):
            raise UpstreamProtocolError(
                f"provider {provider!r} sent a content block that is not an object", provider=provider
            )
        match block.get("type"):
            case "text":
                text = _string(block, "text", provider)
                if text:
                    parts.append(TextPart(text))
            case "thinking":
                signature = block.get("signature")
                reasoning.append(
                    ReasoningPart(
                        text=_string(block, "thinking", provider),
                        signature=signature if isinstance(signature, str) and signature else None,
                    )
                )
            case "redacted_thinking":
                reasoning.append(ReasoningPart(redacted=_string(block, "data", provider)))
            case "tool_use":
                calls.append(tool_call(block, provider))
            case _:
                pass  # server-tool blocks and future types have no canonical slot
    return Message(role="assistant", content=parts, tool_calls=calls, reasoning=reasoning)


def tool_call(block: dict[str, Any], provider: str) -> ToolCall:
    """A ``tool_use`` block as a call; its ``input`` object becomes compact JSON text."""
    arguments = block.get("input")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise UpstreamProtocolError(
            f"provider {provider!r} sent a tool_use input that is not an object", provider=provider
        )
    return ToolCall(
        id=_string(block, "id", provider),
        name=_string(block, "name", provider),
        arguments=dumps(arguments).decode(),
    )


def _string(block: dict[str, Any], key: str, provider: str) -> str:
    value = block.get(key)
    if not isinstance(value, str):
        raise UpstreamProtocolError(
            f"provider {provider!r} sent a {block.get('type')} block without a string {key!r}",
            provider=provider,
        )
    return value
