"""Canonical chat requests as OpenAI Chat Completions bodies (the family as a translation
target: the client speaks another API, the deployment is OpenAI-compatible).

Canonical ``top_k`` and reasoning signatures have no Chat field and are dropped; logprobs are
asked for whole answers only (``response`` reads them back, the stream decoder does not);
``reasoning_effort`` is sent only to models the catalog knows reason.
"""

from __future__ import annotations

from typing import Any

from switchgear.core.types import (
    ChatRequest,
    ImagePart,
    Message,
    TextPart,
)
from switchgear.providers.base import Deployment

_BUDGET_TO_EFFORT = ((1024, "low"), (4096, "medium"))


def request_body(request: ChatRequest, deployment: Deployment) -> dict[str, Any]:
    profile = deployment.provider.profile
    body: dict[str, Any] = {"model": deployment.model, "messages": [_message(m) for m in request.messages]}
    if request.max_tokens is not None:
        body["max_completion_tokens" if profile.max_completion_tokens else "max_tokens"] = request.max_tokens
    for name in ("temperature", "top_p", "seed", "user"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.stop:
        body["stop"] = request.stop
    if request.n != 1:
        body["n"] = request.n
    if request.logprobs and not request.stream:  # the stream decoder reads no logprobs
        body["logprobs"] = True
        if request.top_logprobs:
            body["top_logprobs"] = request.top_logprobs
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": _drop_none(
                    {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                        "strict": t.strict,
                    }
                ),
            }
            for t in request.tools
        ]
    choice = request.tool_choice
    if choice is not None:
        body["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name}} if choice.mode == "named" else choice.mode
        )
    if request.parallel_tool_calls is not None and request.tools:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        if fmt.type == "json_object":
            body["response_format"] = {"type": "json_object"}
        else:
            schema = _drop_none(
                {
                    "name": fmt.name or "response",
                    "description": fmt.description,
                    "schema": fmt.schema,
                    "strict": fmt.strict,
                }
            )
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
    effort = _effort(request)
    if effort is not None and deployment.info is not None and deployment.info.reasoning:
        body["reasoning_effort"] = effort
    if request.stream:
        body["stream"] = True
        if profile.stream_usage:
            body["stream_options"] = {"include_usage": True}
    for name in profile.drop_params:
        body.pop(name, None)
    return body


def _effort(request: ChatRequest) -> str | None:
    reasoning = request.reasoning
    if reasoning is None:
        return None
    if reasoning.effort is not None:
        return reasoning.effort
    if reasoning.budget_tokens is not None:
        for limit, effort in _BUDGET_TO_EFFORT:
            if reasoning.budget_tokens <= limit:
                return effort
        return "high"
    return None


def _message(message: Message) -> dict[str, Any]:
    role = message.role
    if role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.text()}
    out: dict[str, Any] = {"role": role}
    if role == "assistant":
        text = message.text()
        out["content"] = text if text or not message.tool_calls else None
        if message.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
        return out
    parts = message.content
    if all(isinstance(p, TextPart) for p in parts):
        out["content"] = message.text()
    else:
        out["content"] = [_part(p) for p in parts]
    if message.name:
        out["name"] = message.name
    return out


def _part(part: TextPart | ImagePart) -> dict[str, Any]:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case ImagePart():
            image: dict[str, Any] = {"url": part.as_url()}
            if part.detail:
                image["detail"] = part.detail
            return {"type": "image_url", "image_url": image}


def _drop_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}
