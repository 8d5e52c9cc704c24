"""Bedrock Converse answer → canonical response, and the tables streams share with it.

Text blocks join into one text part; ``toolUse`` blocks become tool calls (input as compact JSON,
ids through ``toolids.from_bedrock``); ``reasoningContent`` blocks become reasoning parts with
their signature (or redacted data, base64 as on the wire). Other blocks (citations, images,
documents) are dropped. ``stopReason`` maps per WIRE-FORMATS §8.a with the raw value kept;
usage per §8.b: the prompt is ``totalTokens - outputTokens`` (all input, cache reads and writes
included, whichever way Bedrock splits ``inputTokens``), else the sum of the parts. Bedrock
answers carry no id: one is made up (``bedrock-<hex>``).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.jsoncodec import load_json
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
from switchgear.core.usage import MAX_PLAUSIBLE_TOKENS, Usage, whole
from switchgear.providers.bedrock.toolids import from_bedrock

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "error",
    "malformed_tool_use": "error",
}


def new_response_id() -> str:
    return f"bedrock-{uuid.uuid4().hex}"


def finish_reason(native: Any, *, has_tool_calls: bool) -> FinishReason:
    """The canonical finish reason of a Bedrock ``stopReason`` (unknown: by what was produced)."""
    if isinstance(native, str) and native in FINISH_REASONS:
        return FINISH_REASONS[native]
    return "tool_calls" if has_tool_calls else "stop"


def usage_of(raw: Any) -> Usage:
    """Canonical usage of a Bedrock ``usage`` object (negative or absurd values flagged)."""
    if not isinstance(raw, dict):
        return Usage()
    fields = ("inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens", "cacheWriteInputTokens")
    values = {name: raw.get(name) for name in fields}
    counts = {name: _count(value) for name, value in values.items()}
    total, output = counts["totalTokens"], counts["outputTokens"]
    prompt: Any = values["inputTokens"]
    if total is not None and output is not None and total >= output:
        prompt = total - output
    elif all(counts[name] is not None or values[name] is None for name in fields[:1] + fields[3:]):
        prompt = sum(counts[name] or 0 for name in fields[:1] + fields[3:])
    usage = Usage.from_openai(
        {
            "prompt_tokens": prompt,
            "completion_tokens": values["outputTokens"],
            "prompt_tokens_details": {
                "cached_tokens": values["cacheReadInputTokens"],
                "cache_write_tokens": values["cacheWriteInputTokens"],
            },
        }
    )
    if any(values[name] is not None and counts[name] is None for name in fields):
        usage.suspicious = True
    return usage


def _count(value: Any) -> int | None:
    """``value`` when it is a plausible token count (a whole number from 0 to the cap), else None:
    an absurd total is no basis for the prompt."""
    number = whole(value)
    return number if number is not None and 0 <= number <= MAX_PLAUSIBLE_TOKENS else None


def parse_response(raw: bytes, *, model: str, created: int, provider: str) -> ChatResponse:
    """A Converse answer body as a canonical response; UpstreamProtocolError on garbage."""
    answer = load_json(raw, provider)
    output = answer.get("output") if isinstance(answer, dict) else None
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise UpstreamProtocolError(
            f"provider {provider!r} answered without output.message.content: not a Converse response",
            provider=provider,
        )
    texts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[ReasoningPart] = []
    for block in content:
        if not isinstance(block, dict):
            raise UpstreamProtocolError(
                f"provider {provider!r} sent a content block that is not an object", provider=provider
            )
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            calls.append(_tool_call(block["toolUse"], provider))
        elif isinstance(block.get("reasoningContent"), dict):
            reasoning.append(_reasoning(block["reasoningContent"]))
    text = "".join(texts)
    parts: list[ContentPart] = [TextPart(text)] if text else []
    native = answer.get("stopReason")
    return ChatResponse(
        id=new_response_id(),
        model=model,
        created=created,
        choices=[
            Choice(
                index=0,
                message=Message(role="assistant", content=parts, tool_calls=calls, reasoning=reasoning),
                finish_reason=finish_reason(native, has_tool_calls=bool(calls)),
                native_finish_reason=native if isinstance(native, str) else None,
            )
        ],
        usage=usage_of(answer.get("usage")),
    )


def _tool_call(block: dict[str, Any], provider: str) -> ToolCall:
    call_id, name = block.get("toolUseId"), block.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise UpstreamProtocolError(
            f"provider {provider!r} sent a toolUse without id or name", provider=provider
        )
    arguments = block.get("input")
    return ToolCall(
        id=from_bedrock(call_id),
        name=name,
        arguments=orjson.dumps(arguments).decode() if arguments is not None else "{}",
    )


def _reasoning(block: dict[str, Any]) -> ReasoningPart:
    if isinstance(block.get("redactedContent"), str):
        return ReasoningPart(redacted=block["redactedContent"])
    text_block = block.get("reasoningText")
    if not isinstance(text_block, dict):
        return ReasoningPart()
    text, signature = text_block.get("text"), text_block.get("signature")
    return ReasoningPart(
        text=text if isinstance(text, str) else "",
        signature=signature if isinstance(signature, str) else None,
    )
