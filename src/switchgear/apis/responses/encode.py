"""Encoding a canonical answer as an OpenAI Responses ``response`` object for the client.

Owns what a ``/v1/responses`` client sees for a translated answer: output items (reasoning,
message, function_call), usage, the echoed request settings and the outcome (``completed``,
``incomplete`` with its reason, ``failed``). Item ids derive from the upstream id and the output
index, so a stream (``stream``) ends with the same object as the non-streamed answer. The helpers
here are shared with the stream encoder.
"""

from __future__ import annotations

import os
import re
from typing import Any

from switchgear.core.jsoncodec import dumps
from switchgear.core.money import Usd
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
    FinishReason,
    ImagePart,
    Message,
    TextPart,
)
from switchgear.core.usage import Usage

_PREFIX = re.compile(r"^[A-Za-z]+[-_]")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
ITEM_PREFIXES = {"message": "msg", "reasoning": "rs", "function_call": "fc"}  # item ids


def id_base(upstream_id: str) -> str:
    """The id stem shared by a response and its items: the upstream id without its prefix."""
    return _NOT_ALNUM.sub("", _PREFIX.sub("", upstream_id))[-48:] or os.urandom(12).hex()


def usage_object(usage: Usage, cost: int | None = None) -> dict[str, Any]:
    """The Responses ``usage`` object; with ``cost`` (nano-USD, priced) as ``cost`` in USD."""
    cached = {"cached_tokens": usage.cached_tokens, "cache_write_tokens": usage.cache_write_tokens}
    body: dict[str, Any] = {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": cached,
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }
    if cost is not None:
        body["cost"] = Usd(cost)
    return body


def outcome(reason: FinishReason | None, native: str | None) -> tuple[str, dict[str, Any] | None, Any]:
    """``status``, ``incomplete_details`` and ``error`` for a canonical finish reason."""
    if reason in ("length", "content_filter"):
        return "incomplete", {"reason": "max_output_tokens" if reason == "length" else reason}, None
    if reason == "error":
        message = "the provider stopped the response with an error" + (f" ({native})" if native else "")
        return "failed", None, {"code": "server_error", "message": message}
    return "completed", None, None


def echo(request: ChatRequest | None) -> dict[str, Any]:
    """The request settings a Responses object repeats (defaults when the request is unknown)."""
    request = request or ChatRequest(model="", messages=[])
    tools = [
        {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters,
         "strict": t.strict}
        for t in request.tools
    ]  # fmt: skip
    choice: Any = "auto"
    if request.tool_choice is not None:
        mode = request.tool_choice.mode
        choice = {"type": "function", "name": request.tool_choice.name} if mode == "named" else mode
    fmt = request.response_format
    text_format: dict[str, Any] = {"type": fmt.type if fmt else "text"}
    if fmt is not None and fmt.type == "json_schema":
        text_format.update(name=fmt.name, schema=fmt.schema, strict=fmt.strict)
        if fmt.description is not None:
            text_format["description"] = fmt.description
    reasoning = request.reasoning
    return {
        "instructions": None,
        "max_output_tokens": request.max_tokens,
        "metadata": request.metadata or {},
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "previous_response_id": None,
        "reasoning": {
            "effort": reasoning.effort if reasoning else None,
            "summary": "auto" if reasoning and reasoning.include else None,
        },
        "temperature": request.temperature,
        "text": {"format": text_format},
        "tool_choice": choice,
        "tools": tools,
        "top_p": request.top_p,
        "truncation": "disabled",
        "user": request.user,
    }


def response_object(
    base: str, created: int, model: str, *, status: str, output: list[dict[str, Any]], usage: Any,
    settings: dict[str, Any], incomplete: dict[str, Any] | None = None, error: Any = None,
) -> dict[str, Any]:  # fmt: skip
    return {"id": f"resp_{base}", "object": "response", "created_at": created, "status": status,
            "background": False, "error": error, "incomplete_details": incomplete, "model": model,
            "output": output, "usage": usage, **settings}  # fmt: skip


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [text_part(text)] if status != "in_progress" else []
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "status": status, "arguments": arguments,
            "call_id": call_id, "name": name}  # fmt: skip


def reasoning_item(item_id: str, text: str, signature: str | None) -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": text}] if text else []
    item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": summary}
    if signature is not None:
        item["encrypted_content"] = signature
    return item


def output_items(message: Message, base: str, incomplete: bool) -> list[dict[str, Any]]:
    """A whole answer's items, in the order a stream produces them: reasoning, text, calls."""
    items: list[dict[str, Any]] = []
    for reasoning in message.reasoning:
        if reasoning.text or reasoning.signature is not None:  # redacted data alone has no slot
            items.append(reasoning_item(f"rs_{base}_{len(items)}", reasoning.text, reasoning.signature))
    texts: list[str] = []
    for part in message.content:
        match part:
            case TextPart():
                texts.append(part.text)
            case ImagePart():
                pass  # a Responses message carries no images
    if text := "".join(texts):
        items.append(message_item(f"msg_{base}_{len(items)}", text, "completed"))
    for call in message.tool_calls:
        args = call.arguments or "{}"
        items.append(call_item(f"fc_{base}_{len(items)}", call.id, call.name, args, "completed"))
    if incomplete and items and items[-1]["type"] != "reasoning":
        items[-1]["status"] = "incomplete"  # the item that was cut
    return items


def encode_answer(
    response: ChatResponse, model: str, *, request: ChatRequest | None = None, cost: int | None = None
) -> bytes:
    """A whole canonical answer as a Responses object (``model``: the name the client asked for;
    ``cost``: the price in nano-USD, as ``usage.cost``)."""
    base = id_base(response.id)
    choice = response.choices[0] if response.choices else None
    reason, native = (choice.finish_reason, choice.native_finish_reason) if choice else (None, None)
    status, incomplete, error = outcome(reason, native)
    output = output_items(choice.message, base, incomplete is not None) if choice else []
    return dumps(
        response_object(base, response.created, model, status=status, output=output,
                        usage=usage_object(response.usage, cost), settings=echo(request),
                        incomplete=incomplete, error=error)
    )  # fmt: skip
