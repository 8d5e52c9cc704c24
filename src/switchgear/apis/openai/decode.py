"""Decoding an OpenAI Chat Completions request into the canonical form.

The body is checked first (``checks.check``), then each message, tool, tool choice, response
format and reasoning setting is decoded. Reasoning history is accepted as ``reasoning_content``
or ``reasoning_details`` (OpenRouter's shape: text with its signature, or encrypted data), so
opaque thinking state round-trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchgear.apis.openai.checks import check
from switchgear.core.errors import InvalidRequest
from switchgear.core.types import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    Reasoning,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolDef,
)


def decode_request(body: dict[str, Any], headers: Mapping[str, str]) -> ChatRequest:
    """A checked Chat Completions body in canonical form; InvalidRequest (with ``param``) when wrong."""
    checked = check("chat", body)
    messages = [_message(m, i) for i, m in enumerate(body["messages"])]
    request = ChatRequest(
        model=checked.model, messages=messages, stream=checked.stream, headers=dict(headers)
    )
    request.max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    request.temperature = body.get("temperature")
    request.top_p = body.get("top_p")
    stop = body.get("stop")
    request.stop = [stop] if isinstance(stop, str) else list(stop or [])
    request.n = body.get("n") or 1
    request.seed = body.get("seed")
    request.user = body.get("user")
    request.metadata = body.get("metadata")
    request.tools = [_tool(t, i) for i, t in enumerate(body.get("tools") or [])]
    request.tool_choice = _tool_choice(body.get("tool_choice"))
    request.parallel_tool_calls = body.get("parallel_tool_calls")
    request.response_format = _response_format(body.get("response_format"))
    request.reasoning = _reasoning(body)
    request.logprobs = body.get("logprobs") is True
    request.top_logprobs = body.get("top_logprobs")
    return request


def _message(raw: dict[str, Any], i: int) -> Message:
    role = raw["role"]
    content = raw.get("content")
    if role == "function":
        raise InvalidRequest(
            f"messages[{i}]: legacy 'function' messages are not supported for this model; use tool messages",
            param=f"messages[{i}].role",
        )
    if role == "tool":
        call_id = raw.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(
                f"messages[{i}].tool_call_id is required for tool messages",
                param=f"messages[{i}].tool_call_id",
            )
        return Message(role="tool", content=_parts(content, i), tool_call_id=call_id)
    message = Message(role="system" if role == "developer" else role, content=_parts(content, i))
    if isinstance(raw.get("name"), str):
        message.name = raw["name"]
    if role == "assistant":
        message.tool_calls = [_history_call(c, i, j) for j, c in enumerate(raw.get("tool_calls") or [])]
        message.reasoning = _history_reasoning(raw)
    return message


def _parts(content: Any, i: int) -> list[ContentPart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[ContentPart] = []
    for j, part in enumerate(content):
        where = f"messages[{i}].content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append(TextPart(part["text"], cache_control=part.get("cache_control")))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise InvalidRequest(f"{where}.image_url.url must be a URL", param=f"{where}.image_url")
            detail = image.get("detail") if isinstance(image, dict) else None
            parts.append(ImagePart.from_url(url, detail))
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append(TextPart(part["refusal"]))
        else:
            raise InvalidRequest(
                f"{where}: content part type {kind!r} is not supported for this model", param=where
            )
    return parts


def _history_call(raw: Any, i: int, j: int) -> ToolCall:
    where = f"messages[{i}].tool_calls[{j}]"
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise InvalidRequest(f"{where} must have a function name", param=where)
    arguments = function.get("arguments") or "{}"
    if not isinstance(arguments, str):
        raise InvalidRequest(f"{where}.function.arguments must be a JSON string", param=where)
    return ToolCall(id=str(raw.get("id") or f"call_{i}_{j}"), name=function["name"], arguments=arguments)


def _history_reasoning(raw: dict[str, Any]) -> list[ReasoningPart]:
    details = raw.get("reasoning_details")
    if isinstance(details, list) and details:
        parts = []
        for item in details:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "reasoning.encrypted":
                parts.append(ReasoningPart(redacted=str(item.get("data") or "")))
            else:
                parts.append(ReasoningPart(str(item.get("text") or ""), signature=item.get("signature")))
        return parts
    text = raw.get("reasoning_content") or raw.get("reasoning")
    return [ReasoningPart(text)] if isinstance(text, str) and text else []


def _tool(raw: Any, i: int) -> ToolDef:
    function = raw.get("function") if isinstance(raw, dict) and raw.get("type") == "function" else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise InvalidRequest(f"tools[{i}] must be a function tool with a name", param=f"tools[{i}]")
    return ToolDef(
        name=function["name"],
        description=function.get("description"),
        parameters=function.get("parameters"),
        strict=function.get("strict"),
        cache_control=raw.get("cache_control"),
    )


def _tool_choice(raw: Any) -> ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        return ToolChoice(raw)
    if isinstance(raw, dict) and isinstance(raw.get("function"), dict) and raw["function"].get("name"):
        return ToolChoice("named", raw["function"]["name"])
    raise InvalidRequest(
        "tool_choice must be 'auto', 'none', 'required' or a named function", param="tool_choice"
    )


def _response_format(raw: Any) -> ResponseFormat | None:
    if raw is None:
        return None
    kind = raw.get("type")
    if kind in ("text", "json_object"):
        return ResponseFormat(kind)
    if kind == "json_schema" and isinstance(raw.get("json_schema"), dict):
        spec = raw["json_schema"]
        return ResponseFormat(
            "json_schema",
            name=spec.get("name"),
            schema=spec.get("schema"),
            strict=spec.get("strict"),
            description=spec.get("description"),
        )
    raise InvalidRequest(
        "response_format.type must be text, json_object or json_schema", param="response_format"
    )


def _reasoning(body: dict[str, Any]) -> Reasoning | None:
    effort = body.get("reasoning_effort")
    extra = body.get("reasoning")  # OpenRouter's {effort, max_tokens, exclude}
    if isinstance(extra, dict):
        return Reasoning(
            effort=extra.get("effort") or effort,
            budget_tokens=extra.get("max_tokens"),
            include=not extra.get("exclude", False),
        )
    return Reasoning(effort=effort) if isinstance(effort, str) else None
