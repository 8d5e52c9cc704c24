"""Encoding a canonical answer as an OpenAI ``chat.completion`` body for the client.

Reasoning comes back in ``reasoning_content`` plus ``reasoning_details`` (OpenRouter's shape);
token logprobs in ``logprobs.content`` when the answer carries them (the client asked for them).
"""

from __future__ import annotations

from typing import Any

import orjson

from switchgear.core.money import json_default
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
    ReasoningPart,
    TokenLogprob,
    ToolCall,
)


def encode_answer(
    response: ChatResponse, model: str, *, request: ChatRequest | None = None, cost: int | None = None
) -> bytes:
    """A whole canonical answer as a ``chat.completion`` body, named with the model the client asked
    for; ``cost``: the price in nano-USD, as ``usage.cost``."""
    choices = []
    for choice in response.choices:
        message: dict[str, Any] = {"role": "assistant", "content": choice.message.text() or None}
        if choice.message.tool_calls:
            message["tool_calls"] = [_call(c) for c in choice.message.tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        _add_reasoning(message, choice.message.reasoning)
        choices.append(
            {
                "index": choice.index,
                "message": message,
                "logprobs": _logprobs(choice.logprobs),
                "finish_reason": choice.finish_reason,
            }
        )
    return orjson.dumps(
        {
            "id": response.id,
            "object": "chat.completion",
            "created": response.created,
            "model": model,
            "choices": choices,
            "usage": response.usage.to_openai(cost),
        },
        default=json_default,
    )


def _logprobs(tokens: list[TokenLogprob] | None) -> dict[str, Any] | None:
    if tokens is None:
        return None
    return {"content": [_token(t, top=True) for t in tokens], "refusal": None}


def _token(token: TokenLogprob, *, top: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"token": token.token, "logprob": token.logprob, "bytes": token.token_bytes}
    if top:
        entry["top_logprobs"] = [_token(t) for t in token.top]
    return entry


def _call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _add_reasoning(message: dict[str, Any], parts: list[ReasoningPart]) -> None:
    if not parts:
        return
    message["reasoning_content"] = "".join(p.text for p in parts)
    message["reasoning_details"] = [
        {"type": "reasoning.encrypted", "data": p.redacted}
        if p.redacted is not None
        else {"type": "reasoning.text", "text": p.text, "signature": p.signature}
        for p in parts
    ]
