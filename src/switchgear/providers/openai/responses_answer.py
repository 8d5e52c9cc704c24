"""An OpenAI Responses ``response`` object read back as a canonical answer, strictly.

For what needs a Responses answer in canonical form (the response cache, which stores what a
``/v1/responses`` client got): ``message`` items of ``output_text`` without annotations,
``function_call`` and ``reasoning`` items, the usage, and the outcome (``completed``, or
``incomplete`` at the output limit or a content filter). Anything the canonical form cannot hold
(another item or content type, annotations, logprobs, a failed response) is an
``UpstreamProtocolError``: such an answer must not be replayed with parts missing.
"""

from __future__ import annotations

from typing import Any

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.types import (
    ChatResponse,
    Choice,
    FinishReason,
    Message,
    ReasoningPart,
    TextPart,
    ToolCall,
)
from switchgear.providers.openai.responses_relay import responses_usage

_INCOMPLETE: dict[str, FinishReason] = {"max_output_tokens": "length", "content_filter": "content_filter"}


def responses_answer(answer: Any, provider: str) -> ChatResponse:
    """The canonical answer of a Responses object (parsed JSON)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("output"), list):
        raise _unusable(provider, "is not a Responses object with output")
    message = Message(role="assistant")
    for item in answer["output"]:
        _item(item, message, provider)
    return ChatResponse(
        id=str(answer.get("id") or ""),
        model=str(answer.get("model") or ""),
        created=answer["created_at"] if isinstance(answer.get("created_at"), int) else 0,
        choices=[Choice(0, message, _finish(answer, message, provider))],
        usage=responses_usage(answer),
    )


def _item(item: Any, message: Message, provider: str) -> None:
    kind = item.get("type") if isinstance(item, dict) else None
    if kind == "message":
        for part in item.get("content") or []:
            if not isinstance(part, dict) or part.get("type") != "output_text" or part.get("annotations"):
                raise _unusable(provider, "has message content other than plain output_text")
            if part.get("logprobs"):
                raise _unusable(provider, "carries logprobs")
            message.content.append(TextPart(str(part.get("text") or "")))
    elif kind == "function_call":
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise _unusable(provider, "has a function_call without call_id or name")
        message.tool_calls.append(ToolCall(call_id, name, str(item.get("arguments") or "")))
    elif kind == "reasoning":
        summary = item.get("summary") or []
        text = "".join(str(s.get("text") or "") for s in summary if isinstance(s, dict))
        signature = item.get("encrypted_content")
        message.reasoning.append(ReasoningPart(text, signature if isinstance(signature, str) else None))
    else:
        raise _unusable(provider, f"has an output item of type {kind!r}")


def _finish(answer: dict[str, Any], message: Message, provider: str) -> FinishReason:
    status = answer.get("status")
    if status == "completed":
        return "tool_calls" if message.tool_calls else "stop"
    details = answer.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if status == "incomplete" and reason in _INCOMPLETE:
        return _INCOMPLETE[reason]
    raise _unusable(provider, f"ended {status!r}")


def _unusable(provider: str, what: str) -> UpstreamProtocolError:
    return UpstreamProtocolError(f"the Responses answer {what}", provider=provider)
