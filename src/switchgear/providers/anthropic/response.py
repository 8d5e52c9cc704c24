"""Anthropic answers read back: a whole Message as a canonical response, its usage and stop
reason (WIRE-FORMATS §3.3, §8.a, §8.b), and Anthropic error bodies as gateway errors — an HTTP
error answer, a 200 that carries ``{"type":"error"}``, or an in-band stream ``error`` event
(§3.5, §8.e). Upstream 5xx messages are masked; 4xx messages are kept, redacted and bounded.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any

import orjson

from switchgear.core.errors import UpstreamProtocolError, UpstreamStatusError
from switchgear.core.redact import redact
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
from switchgear.core.usage import Usage
from switchgear.providers.anthropic.request import dumps, loads
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
# Anthropic error type -> the HTTP status it comes with (for errors that arrive without one).
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_MAX_MESSAGE = 1000
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TOO_LONG = ("prompt is too long", "exceed context limit")


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
    return usage


def load_object(raw: bytes, provider: str) -> dict[str, Any]:
    """The JSON object of an answer body; UpstreamProtocolError for anything else."""
    try:
        answer = loads(raw)
    except ValueError:
        raise UpstreamProtocolError(
            f"provider {provider!r} answered with a body that is not JSON", provider=provider
        ) from None
    if not isinstance(answer, dict):
        raise UpstreamProtocolError(
            f"provider {provider!r} answered with a non-object body", provider=provider
        )
    return answer


def parse_response(raw: bytes, deployment: Deployment) -> ChatResponse:
    """A non-streamed Messages answer as a canonical response (one choice)."""
    provider = deployment.provider.name
    answer = load_object(raw, provider)
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


# --- errors -------------------------------------------------------------------------------------


def status_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamStatusError:
    """An HTTP error answer (``{"type":"error","error":{type, message}}`` or anything else)."""
    type_, message = _error_fields(body)
    if status >= 500 or not message:
        # Provider-internal details stay out of the client's answer: who failed and how.
        text = f"provider {provider!r} failed with HTTP {status}" + (f" ({type_})" if type_ else "")
    else:
        text = f"provider {provider!r}: {redact(message)[:_MAX_MESSAGE]}"
    return UpstreamStatusError(
        status,
        text,
        provider=provider,
        upstream_type=type_,
        upstream_code=_code(status, message),
        retry_after=_retry_after(headers),
    )


def in_band_error(error: Any, provider: str) -> UpstreamStatusError:
    """The ``error`` object of a 200 answer or a stream ``error`` event, mapped by its type."""
    type_, message = _fields(error)
    status = ERROR_STATUS.get(type_ or "", 500)
    if status >= 500 or not message:
        text = f"provider {provider!r} failed mid-answer" + (f" ({type_})" if type_ else "")
    else:
        text = f"provider {provider!r}: {redact(message)[:_MAX_MESSAGE]}"
    return UpstreamStatusError(
        status, text, provider=provider, upstream_type=type_, upstream_code=_code(status, message)
    )


def _error_fields(body: bytes) -> tuple[str | None, str]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, body[:_MAX_MESSAGE].decode("utf-8", "replace").strip()
    if not isinstance(data, dict):
        return None, ""
    return _fields(data.get("error", data))


def _fields(error: Any) -> tuple[str | None, str]:
    """(type when it looks like one, message) of an Anthropic error object."""
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, ""
    type_ = error.get("type")
    message = error.get("message")
    if not isinstance(message, str):
        message = "" if message is None else orjson.dumps(message).decode()
    return (type_ if isinstance(type_, str) and _TYPE_NAME.fullmatch(type_) else None), message


def _code(status: int, message: str) -> str | None:
    lowered = message.lower()
    if status == 400 and any(marker in lowered for marker in _TOO_LONG):
        return "context_length_exceeded"
    return None


def _retry_after(headers: Mapping[str, str]) -> str | None:
    value = headers.get("retry-after")
    if value:
        return value
    millis = headers.get("retry-after-ms")
    try:
        return str(max(1, math.ceil(float(millis) / 1000))) if millis else None
    except (ValueError, OverflowError):
        return None
