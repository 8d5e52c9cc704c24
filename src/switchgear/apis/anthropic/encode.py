"""Encoding a canonical answer as an Anthropic ``message`` body for the client.

Stop reasons follow WIRE-FORMATS §8.a in reverse (a turn with tool calls is ``tool_use``);
usage follows §8.b in reverse (``input_tokens`` excludes cache reads and writes). Tool arguments
that are not a JSON object come back as ``{"raw": "<text>"}``. The helpers here (ids, stop
reasons, usage, tool inputs) are shared with the stream encoder.
"""

from __future__ import annotations

import json
import os
from typing import Any

from switchgear.core.jsoncodec import dumps
from switchgear.core.money import Usd
from switchgear.core.types import (
    ChatResponse,
    FinishReason,
    ImagePart,
    TextPart,
)
from switchgear.core.usage import Usage


def message_id(upstream_id: str) -> str:
    """The upstream id when it is already an Anthropic one, else ``msg_`` + it."""
    if upstream_id.startswith("msg_"):
        return upstream_id
    return "msg_" + (upstream_id or os.urandom(12).hex())


def stop_reason(reason: FinishReason | None, native: str | None, tool_calls: bool) -> str:
    """The Anthropic ``stop_reason`` for a canonical finish reason (and the raw upstream one)."""
    native = (native or "").lower()
    match reason:
        case "tool_calls":
            return "tool_use"
        case "length":
            return (
                "model_context_window_exceeded" if native == "model_context_window_exceeded" else "max_tokens"
            )
        case "content_filter":
            return "refusal"
        case "stop" | "error" | None:
            if tool_calls:
                return "tool_use"  # some families end a tool turn with a plain stop (Gemini)
            return "stop_sequence" if native == "stop_sequence" else "end_turn"


def usage_body(usage: Usage, cost: int | None = None) -> dict[str, Any]:
    """The Anthropic ``usage`` object; with ``cost`` (nano-USD, priced) as ``cost`` in USD."""
    body: dict[str, Any] = {
        "input_tokens": max(usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens, 0),
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.completion_tokens,
    }
    if usage.reasoning_tokens:
        body["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    if cost is not None:
        body["cost"] = Usd(cost)
    return body


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's JSON text as the ``input`` object: ``{}`` when empty, ``{"raw": text}`` when
    the model produced something that is not a JSON object."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return {"raw": arguments}
    return value if isinstance(value, dict) else {"raw": arguments}


def tool_id(call_id: str | None) -> str:
    return call_id or "toolu_" + os.urandom(12).hex()


def encode_answer(response: ChatResponse, model: str, *, cost: int | None = None) -> bytes:
    """The ``message`` JSON for choice 0 (Anthropic answers with one); ``cost``: the price in nano-USD."""
    content: list[dict[str, Any]] = []
    reason: FinishReason | None = None
    native: str | None = None
    calls = False
    if response.choices:
        choice = response.choices[0]
        message = choice.message
        reason, native, calls = choice.finish_reason, choice.native_finish_reason, bool(message.tool_calls)
        for part in message.reasoning:
            if part.redacted is not None:
                content.append({"type": "redacted_thinking", "data": part.redacted})
            elif part.text or part.signature:
                content.append({"type": "thinking", "thinking": part.text, "signature": part.signature or ""})
        texts = []
        for item in message.content:
            match item:
                case TextPart(text=text):
                    texts.append(text)
                case ImagePart():
                    pass  # Anthropic messages have no image output block
        if "".join(texts):
            content.append({"type": "text", "text": "".join(texts)})
        for call in message.tool_calls:
            content.append(
                {
                    "type": "tool_use",
                    "id": tool_id(call.id),
                    "name": call.name,
                    "input": tool_input(call.arguments),
                }
            )
    stop = stop_reason(reason, native, calls)
    return dumps(
        {
            "id": message_id(response.id),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage_body(response.usage, cost),
        }
    )
