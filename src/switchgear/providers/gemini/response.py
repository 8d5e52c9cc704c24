"""A Gemini ``GenerateContentResponse`` as a canonical chat response, and the pieces the stream shares.

Candidates become choices (by ``index``). Text parts are joined into one text; ``thought`` parts
become reasoning. A ``thoughtSignature`` closes the open reasoning part (the thought text it
signs), or, when no thought text is open (thoughts not requested, or the signature sits on a
function call or text part), becomes a reasoning part of its own with empty text; the request
side puts it back on the turn's first function call (or first text). ``functionCall`` parts
become tool calls with compact-JSON arguments and, when Gemini sent no id, ``call_<n>`` (the
call's position in its choice, so the stream and the whole answer agree). Finish reasons and
usage follow WIRE-FORMATS 8.a / 8.b; a blocked prompt (``promptFeedback.blockReason``, no
candidates) is one empty choice finished by ``content_filter``. Other parts (inline images,
code execution, grounding) are dropped.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.jsoncodec import load_object, sent
from switchgear.core.types import (
    ChatResponse,
    Choice,
    FinishReason,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
)
from switchgear.core.usage import Usage
from switchgear.providers.base import Deployment
from switchgear.providers.errors import MAX_MESSAGE

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "CONTINUATION": "length",
    **dict.fromkeys(
        (
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
            "LANGUAGE",
            "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION",
            "MODEL_ARMOR",
            "ESCALATION",
            "PUP_LIMITED_DISABLED",
        ),
        "content_filter",
    ),
    # MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS, MISSING_THOUGHT_SIGNATURE,
    # MALFORMED_RESPONSE, OTHER, NO_IMAGE, IMAGE_OTHER, FINISH_REASON_UNSPECIFIED and anything
    # newer: "error".
}


def finish_reason(native: str, has_calls: bool) -> FinishReason:
    """The canonical reason for a Gemini ``finishReason`` (``STOP`` after function calls: tool_calls)."""
    reason = _FINISH.get(native, "error")
    return "tool_calls" if reason == "stop" and has_calls else reason


def usage_of(metadata: Any) -> Usage:
    """Canonical usage from ``usageMetadata`` (prompt includes tool-use prompt and cached tokens;
    completion includes thoughts)."""
    if not isinstance(metadata, dict):
        return Usage()
    usage = Usage(reported=True)
    count = usage.count
    usage.prompt_tokens = count(metadata.get("promptTokenCount")) + count(
        metadata.get("toolUsePromptTokenCount")
    )
    usage.cached_tokens = count(metadata.get("cachedContentTokenCount"))
    thoughts = count(metadata.get("thoughtsTokenCount"))
    usage.completion_tokens = count(metadata.get("candidatesTokenCount")) + thoughts
    usage.reasoning_tokens = thoughts
    return usage.bound()


def add_reasoning(reasoning: list[ReasoningPart], text: str, signature: str | None) -> None:
    """Append thought text to the open (unsigned) reasoning part; a signature closes that part."""
    if text:
        if reasoning and reasoning[-1].signature is None:
            reasoning[-1].text += text
        else:
            reasoning.append(ReasoningPart(text))
    if signature:
        if reasoning and reasoning[-1].signature is None:
            reasoning[-1].signature = signature
        else:
            reasoning.append(ReasoningPart("", signature))


def call_arguments(function_call: dict[str, Any], provider: str) -> str:
    """The compact JSON text of a ``functionCall``'s ``args`` (``"{}"`` when absent)."""
    args = function_call.get("args")
    if args is None:
        return "{}"
    if not isinstance(args, dict):
        raise UpstreamProtocolError(
            f"provider {provider!r} sent function arguments that are not an object", provider=provider
        )
    return orjson.dumps(args).decode()


def envelope(answer: dict[str, Any], deployment: Deployment) -> tuple[str, str, int]:
    """id, model and creation time of a response (synthesized when Gemini leaves them out)."""
    response_id = answer.get("responseId")
    model = answer.get("modelVersion")
    return (
        response_id if isinstance(response_id, str) and response_id else f"gemini-{time.time_ns():x}",
        model if isinstance(model, str) and model else deployment.model,
        _created(answer.get("createTime")),
    )


def _created(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value).timestamp())
        except ValueError:
            pass
    return int(time.time())


def parts_of(candidate: dict[str, Any], provider: str) -> list[dict[str, Any]]:
    """The content parts of a candidate ([] when it has no content)."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if parts is None:
        return []
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise UpstreamProtocolError(f"provider {provider!r} sent malformed content parts", provider=provider)
    return parts


def blocked_reason(answer: dict[str, Any]) -> str | None:
    """``promptFeedback.blockReason``, when the prompt was blocked."""
    feedback = answer.get("promptFeedback")
    reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    return reason if isinstance(reason, str) and reason else None


def parse_response(raw: bytes, deployment: Deployment) -> ChatResponse:
    """A whole ``generateContent`` answer as a canonical response."""
    provider = deployment.provider.name
    answer = load_object(raw, provider, sent("an answer"))
    candidates = answer.get("candidates")
    if candidates is not None and not (
        isinstance(candidates, list) and all(isinstance(c, dict) for c in candidates)
    ):
        raise UpstreamProtocolError(f"provider {provider!r} sent malformed candidates", provider=provider)
    response_id, model, created = envelope(answer, deployment)
    choices: list[Choice] = []
    if candidates:
        choices = sorted((_choice(c, n, provider) for n, c in enumerate(candidates)), key=lambda c: c.index)
    else:
        blocked = blocked_reason(answer)
        if blocked is None:
            error = answer.get("error")
            if isinstance(error, dict):
                message = str(error.get("message") or "no message")[:MAX_MESSAGE]
                raise UpstreamProtocolError(
                    f"provider {provider!r} answered HTTP 200 with an error: {message}", provider=provider
                )
            raise UpstreamProtocolError(
                f"provider {provider!r} answered without candidates", provider=provider
            )
        choices = [Choice(0, Message(role="assistant"), "content_filter", blocked)]
    return ChatResponse(
        id=response_id,
        model=model,
        created=created,
        choices=choices,
        usage=usage_of(answer.get("usageMetadata")),
    )


def _choice(candidate: dict[str, Any], position: int, provider: str) -> Choice:
    texts: list[str] = []
    reasoning: list[ReasoningPart] = []
    calls: list[ToolCall] = []
    for part in parts_of(candidate, provider):
        signature = part.get("thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        text = part.get("text")
        if part.get("thought") is True:
            add_reasoning(reasoning, text if isinstance(text, str) else "", signature)
            continue
        if signature:
            add_reasoning(reasoning, "", signature)
        function_call = part.get("functionCall")
        if isinstance(function_call, dict):
            calls.append(tool_call(function_call, len(calls), provider))
        elif isinstance(text, str):
            texts.append(text)
    text = "".join(texts)
    message = Message(
        role="assistant", content=[TextPart(text)] if text else [], tool_calls=calls, reasoning=reasoning
    )
    native = candidate.get("finishReason")
    index = candidate.get("index", position)
    return Choice(
        index=index if isinstance(index, int) else position,
        message=message,
        finish_reason=finish_reason(native, bool(calls)) if isinstance(native, str) else None,
        native_finish_reason=native if isinstance(native, str) else None,
    )


def tool_call(function_call: dict[str, Any], position: int, provider: str) -> ToolCall:
    """A canonical tool call from a ``functionCall`` (id ``call_<position>`` when Gemini sent none)."""
    name = function_call.get("name")
    if not isinstance(name, str) or not name:
        raise UpstreamProtocolError(
            f"provider {provider!r} sent a function call without a name", provider=provider
        )
    call_id = function_call.get("id")
    return ToolCall(
        id=call_id if isinstance(call_id, str) and call_id else f"call_{position}",
        name=name,
        arguments=call_arguments(function_call, provider),
    )
