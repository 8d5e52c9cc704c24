"""OpenAI Chat Completions answers read back as canonical responses.

Reasoning text has no typed slot in Chat; compatible servers send ``reasoning_content`` (or
``reasoning``), which is read back. Token logprobs (``logprobs.content``, sent when asked) are
kept on the choice. The finish-reason table is shared with ``stream``.
"""

from __future__ import annotations

import time
from typing import Any

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.jsoncodec import load_json
from switchgear.core.types import (
    ChatResponse,
    Choice,
    FinishReason,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    TokenLogprob,
    ToolCall,
)
from switchgear.core.usage import Usage
from switchgear.providers.base import Deployment

FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",
}


def parse_response(raw: bytes, deployment: Deployment) -> ChatResponse:
    provider = deployment.provider.name
    answer = load_json(raw, provider)
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        raise UpstreamProtocolError(f"provider {provider!r} answered without 'choices'", provider=provider)
    choices = []
    for i, raw_choice in enumerate(answer["choices"]):
        if not isinstance(raw_choice, dict) or not isinstance(raw_choice.get("message"), dict):
            raise UpstreamProtocolError(f"provider {provider!r} sent a malformed choice", provider=provider)
        choices.append(_choice(raw_choice, i))
    return ChatResponse(
        id=str(answer.get("id") or f"chatcmpl-{time.time_ns():x}"),
        model=str(answer.get("model") or deployment.model),
        created=int(answer.get("created") or time.time()),
        choices=choices,
        usage=Usage.from_openai(answer.get("usage")),
    )


def _choice(raw: dict[str, Any], position: int) -> Choice:
    message = raw["message"]
    content = message.get("content")
    parts: list[TextPart | ImagePart] = []
    if isinstance(content, str) and content:
        parts.append(TextPart(content))
    elif isinstance(content, list):
        parts.extend(
            TextPart(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    if not parts and isinstance(message.get("refusal"), str):
        parts.append(TextPart(message["refusal"]))
    calls = [
        ToolCall(
            id=str(c.get("id") or f"call_{position}_{j}"),
            name=str(c["function"]["name"]),
            arguments=str(c["function"].get("arguments") or "{}"),
        )
        for j, c in enumerate(message.get("tool_calls") or [])
        if isinstance(c, dict) and isinstance(c.get("function"), dict) and c["function"].get("name")
    ]
    reasoning_text = message.get("reasoning_content") or message.get("reasoning")
    reasoning = [ReasoningPart(reasoning_text)] if isinstance(reasoning_text, str) and reasoning_text else []
    native = raw.get("finish_reason")
    reason = FINISH.get(native, "stop") if isinstance(native, str) else None
    return Choice(
        index=int(raw.get("index", position)),
        message=Message(role="assistant", content=parts, tool_calls=calls, reasoning=reasoning),
        finish_reason=reason,
        native_finish_reason=native if isinstance(native, str) else None,
        logprobs=_logprobs(raw.get("logprobs")),
    )


def _logprobs(raw: Any) -> list[TokenLogprob] | None:
    """A choice's ``logprobs.content`` tokens; None when absent (not asked, or not sent)."""
    content = raw.get("content") if isinstance(raw, dict) else None
    if not isinstance(content, list):
        return None
    return [t for t in (_token(entry) for entry in content) if t is not None]


def _token(raw: Any) -> TokenLogprob | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("logprob"), int | float):
        return None
    found = raw.get("bytes")
    top = raw.get("top_logprobs")
    return TokenLogprob(
        token=str(raw.get("token", "")),
        logprob=float(raw["logprob"]),
        token_bytes=[int(b) for b in found] if isinstance(found, list) else None,
        top=[t for t in (_token(alt) for alt in top) if t is not None] if isinstance(top, list) else [],
    )
