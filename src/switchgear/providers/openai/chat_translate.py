"""OpenAI Chat Completions as a translation target: canonical request to a chat body, chat
answers and chunk streams back to canonical. Used when the client speaks another family
(Anthropic messages, Responses) and the deployment is OpenAI-compatible.

Reasoning text has no typed slot in Chat; compatible servers send ``reasoning_content`` (or
``reasoning``), which is read back. Canonical ``top_k`` and reasoning signatures have no Chat
field and are dropped; ``reasoning_effort`` is sent only to models the catalog knows reason.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from switchgear.core.errors import UpstreamError, UpstreamProtocolError
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
    Choice,
    Finish,
    FinishReason,
    ImagePart,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage
from switchgear.providers.base import Deployment
from switchgear.transport.sse import SSESplitter

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",
}
_BUDGET_TO_EFFORT = ((1024, "low"), (4096, "medium"))


def chat_body(request: ChatRequest, deployment: Deployment) -> dict[str, Any]:
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


def parse_chat_response(raw: bytes, deployment: Deployment) -> ChatResponse:
    provider = deployment.provider.name
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(
            f"provider {provider!r} answered with a body that is not JSON", provider=provider
        ) from None
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
    reason = _FINISH.get(native, "stop") if isinstance(native, str) else None
    return Choice(
        index=int(raw.get("index", position)),
        message=Message(role="assistant", content=parts, tool_calls=calls, reasoning=reasoning),
        finish_reason=reason,
        native_finish_reason=native if isinstance(native, str) else None,
    )


class OpenAIChatStreamDecoder:
    """Chat completion chunks to canonical events, over any byte split."""

    __slots__ = ("_model", "_provider", "_splitter", "_started", "done", "usage")

    def __init__(self, deployment: Deployment) -> None:
        self._provider = deployment.provider.name
        self._model = deployment.model
        self._splitter = SSESplitter()
        self._started = False
        self.done = False
        self.usage: Usage | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for payload in self._splitter.payloads(data, self._provider):
            if payload == b"[DONE]":
                self.done = True
                continue
            self._chunk(payload, events)
        return events

    def _chunk(self, payload: bytes, events: list[StreamEvent]) -> None:
        provider = self._provider
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError(
                f"provider {provider!r} sent a malformed stream chunk", provider=provider
            ) from None
        if not isinstance(chunk, dict):
            raise UpstreamProtocolError(
                f"provider {provider!r} sent a stream chunk that is not an object", provider=provider
            )
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise UpstreamError(f"provider {provider!r} failed mid-stream: {message}", provider=provider)
        if not self._started:
            self._started = True
            events.append(
                StreamStart(
                    id=str(chunk.get("id") or f"chatcmpl-{time.time_ns():x}"),
                    model=str(chunk.get("model") or self._model),
                    created=int(chunk.get("created") or time.time()),
                )
            )
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = int(choice.get("index", 0))
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events.append(ReasoningDelta(index, reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.append(TextDelta(index, content))
            for call in delta.get("tool_calls") or ():
                function = call.get("function") or {}
                events.append(
                    ToolCallDelta(
                        index=index,
                        call_index=int(call.get("index", 0)),
                        id=call.get("id"),
                        name=function.get("name"),
                        arguments=function.get("arguments") or "",
                    )
                )
            native = choice.get("finish_reason")
            if isinstance(native, str):
                events.append(Finish(index, _FINISH.get(native, "stop"), native))
        usage = chunk.get("usage")
        if usage:
            self.usage = Usage.from_openai(usage)
            events.append(UsageEvent(self.usage))

    def finish(self) -> list[StreamEvent]:
        if not self.done:
            reason = (
                "ended in the middle of an event"
                if self._splitter.pending.strip()
                else "ended without [DONE]"
            )
            raise UpstreamProtocolError(f"provider {self._provider!r} {reason}", provider=self._provider)
        return []
