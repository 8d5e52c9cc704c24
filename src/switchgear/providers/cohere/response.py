"""A Cohere v2 chat answer to a canonical response, and the readers ``stream`` shares.

``message.content`` ``text`` items join into one text part; ``thinking`` items and then
``tool_plan`` become the reasoning (one unsigned part: Cohere has no signatures); ``tool_calls``
become canonical calls (arguments as sent, ``"{}"`` when empty). ``finish_reason`` maps per
WIRE-FORMATS 8.a (``COMPLETE``/``STOP_SEQUENCE`` → stop, ``MAX_TOKENS`` → length, ``TOOL_CALL``
→ tool_calls, ``ERROR``/``TIMEOUT`` → error), the raw value kept. Usage per 8.b: ``tokens``
(``billed_units`` when ``tokens`` is absent), ``cached_tokens`` as cached. Cohere sends no model
or creation time: the deployment's model and the current time stand in.
"""

from __future__ import annotations

import time
from typing import Any

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

_FINISH: dict[str, FinishReason] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
    "TIMEOUT": "error",
    # v1 reasons, in case an endpoint still sends them
    "ERROR_TOXIC": "content_filter",
    "ERROR_LIMIT": "length",
    "USER_CANCEL": "error",
}


def finish_reason(native: str, has_calls: bool) -> FinishReason:
    """The canonical reason for a Cohere ``finish_reason`` (unknown values: error)."""
    reason = _FINISH.get(native, "error")
    return "tool_calls" if reason == "stop" and has_calls else reason


def usage_of(raw: Any) -> Usage:
    """Canonical usage from a Cohere ``usage`` object (token counts may arrive as floats)."""
    if not isinstance(raw, dict):
        return Usage()
    tokens = raw.get("tokens")
    if not isinstance(tokens, dict):
        tokens = raw.get("billed_units")
    if not isinstance(tokens, dict):
        tokens = {}
    usage = Usage(reported=True)
    usage.prompt_tokens = usage.count(tokens.get("input_tokens"))
    usage.completion_tokens = usage.count(tokens.get("output_tokens"))
    usage.cached_tokens = usage.count(raw.get("cached_tokens"))
    return usage.bound()


def response_id(value: Any) -> str:
    """Cohere's id, or a synthesized one."""
    return value if isinstance(value, str) and value else f"cohere-{time.time_ns():x}"


def tool_call(raw: Any, position: int, provider: str) -> ToolCall:
    """A canonical call from a Cohere ``tool_calls`` item (id ``call_<position>`` when missing)."""
    function = raw.get("function") if isinstance(raw, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str) or not name:
        raise UpstreamProtocolError(
            f"provider {provider!r} sent a tool call without a name", provider=provider
        )
    assert isinstance(function, dict) and isinstance(raw, dict)
    call_id = raw.get("id")
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        raise UpstreamProtocolError(
            f"provider {provider!r} sent tool-call arguments that are not a string", provider=provider
        )
    return ToolCall(
        id=call_id if isinstance(call_id, str) and call_id else f"call_{position}",
        name=name,
        arguments=arguments if arguments and arguments.strip() else "{}",
    )


def parse_response(raw: bytes, deployment: Deployment) -> ChatResponse:
    """A whole ``/v2/chat`` answer as a canonical response."""
    provider = deployment.provider.name
    answer = load_object(raw, provider, sent("an answer"))
    message = answer.get("message")
    if not isinstance(message, dict):
        raise UpstreamProtocolError(f"provider {provider!r} answered without a message", provider=provider)
    content = message.get("content") or []
    raw_calls = message.get("tool_calls") or []
    if not isinstance(content, list) or not isinstance(raw_calls, list):
        raise UpstreamProtocolError(f"provider {provider!r} sent a malformed message", provider=provider)
    texts: list[str] = []
    reasoning = ""
    for item in content:
        if not isinstance(item, dict):
            raise UpstreamProtocolError(
                f"provider {provider!r} sent a malformed content item", provider=provider
            )
        match item.get("type"):
            case "text" if isinstance(item.get("text"), str):
                texts.append(item["text"])
            case "thinking" if isinstance(item.get("thinking"), str):
                reasoning += item["thinking"]
            case _:
                pass  # unknown content types are noise (pitfall 16)
    plan = message.get("tool_plan")
    if isinstance(plan, str):
        reasoning += plan
    calls = [tool_call(c, n, provider) for n, c in enumerate(raw_calls)]
    text = "".join(texts)
    native = answer.get("finish_reason")
    return ChatResponse(
        id=response_id(answer.get("id")),
        model=deployment.model,
        created=int(time.time()),
        choices=[
            Choice(
                index=0,
                message=Message(
                    role="assistant",
                    content=[TextPart(text)] if text else [],
                    tool_calls=calls,
                    reasoning=[ReasoningPart(reasoning)] if reasoning else [],
                ),
                finish_reason=finish_reason(native, bool(calls)) if isinstance(native, str) else None,
                native_finish_reason=native if isinstance(native, str) else None,
            )
        ],
        usage=usage_of(answer.get("usage")),
    )
