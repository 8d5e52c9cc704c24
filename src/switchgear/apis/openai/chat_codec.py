"""The OpenAI Chat Completions inbound codec: a checked chat body to canonical form, canonical
answers and events back to ``chat.completion`` JSON and ``chat.completion.chunk`` streams.

Used when an OpenAI client's request goes to another family. Reasoning comes back in
``reasoning_content`` plus ``reasoning_details`` (OpenRouter's shape: text with its signature,
or encrypted data), and both are accepted on the next turn so opaque thinking state round-trips.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from switchgear.apis.openai.checks import check
from switchgear.core.errors import GatewayError, InvalidRequest, openai_error
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    Finish,
    ImagePart,
    Message,
    Reasoning,
    ReasoningDelta,
    ReasoningPart,
    ResponseFormat,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolDef,
    UsageEvent,
)
from switchgear.core.usage import Usage


class OpenAIChatCodec:
    api = "chat"
    family = "openai"

    def decode(self, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
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
        return request

    def encode_response(
        self, response: ChatResponse, model: str, *, request: ChatRequest | None = None
    ) -> bytes:
        choices = []
        for choice in response.choices:
            message: dict[str, Any] = {"role": "assistant", "content": choice.message.text() or None}
            if choice.message.tool_calls:
                message["tool_calls"] = [_call(c) for c in choice.message.tool_calls]
            elif message["content"] is None:
                message["content"] = ""
            _add_reasoning(message, choice.message.reasoning)
            choices.append(
                {
                    "index": choice.index,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": choice.finish_reason,
                }
            )
        return orjson.dumps(
            {
                "id": response.id,
                "object": "chat.completion",
                "created": response.created,
                "model": model,
                "choices": choices,
                "usage": response.usage.to_openai(),
            }
        )

    def stream_encoder(
        self, model: str, *, include_usage: bool, request: ChatRequest | None = None
    ) -> ChatStreamEncoder:
        return ChatStreamEncoder(model, include_usage)

    def error_body(self, exc: GatewayError) -> bytes:
        return orjson.dumps(openai_error(exc))


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


def _call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _add_reasoning(message: dict[str, Any], parts: list[ReasoningPart]) -> None:
    if not parts:
        return
    message["reasoning_content"] = "".join(p.text for p in parts)
    message["reasoning_details"] = [
        {"type": "reasoning.encrypted", "data": p.redacted}
        if p.redacted is not None
        else {"type": "reasoning.text", "text": p.text, "signature": p.signature}
        for p in parts
    ]


class ChatStreamEncoder:
    """Canonical events to ``chat.completion.chunk`` SSE; usage last when the client asked.

    Every chunk shares its envelope (id, created, model), so that part is serialised once and
    only each delta is encoded per event (the bytes equal a whole-object ``orjson.dumps``)."""

    __slots__ = ("_created", "_id", "_include_usage", "_model", "_prefix", "_reasoning", "_roles", "_usage")

    def __init__(self, model: str, include_usage: bool) -> None:
        self._model = model
        self._include_usage = include_usage
        self._id = f"chatcmpl-{time.time_ns():x}"
        self._created = int(time.time())
        self._roles: set[int] = set()
        self._usage: Usage | None = None
        self._reasoning: dict[int, str] = {}  # per choice: reasoning text since its last signature
        self._prefix = self._envelope()

    def _envelope(self) -> bytes:
        head = orjson.dumps(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
            }
        )
        return b"data: " + head[:-1] + b',"choices":[{"index":'

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        if index not in self._roles:
            self._roles.add(index)
            delta = {"role": "assistant", **delta}
        reason = b"null" if finish is None else orjson.dumps(finish)
        parts = (self._prefix, str(index).encode(), b',"delta":', orjson.dumps(delta))
        return b"".join((*parts, b',"logprobs":null,"finish_reason":', reason, b"}]}\n\n"))

    def encode(self, events: list[StreamEvent]) -> bytes:
        out = []
        for event in events:
            match event:
                case StreamStart(id=upstream_id, created=created):
                    self._id, self._created = upstream_id, created
                    self._prefix = self._envelope()
                    out.append(self._chunk(0, {"content": ""}))
                case TextDelta(index=index, text=text):
                    out.append(self._chunk(index, {"content": text}))
                case ReasoningDelta(index=index, text=text, signature=signature, redacted=redacted):
                    delta: dict[str, Any] = {"reasoning_content": text}
                    seen = self._reasoning.get(index, "") + text
                    self._reasoning[index] = seen
                    if signature is not None or redacted is not None:
                        # the signed entry carries the whole text it signs, so that accumulated
                        # details round-trip (the signature usually arrives after the text)
                        self._reasoning[index] = ""
                        delta["reasoning_details"] = [
                            {"type": "reasoning.encrypted", "data": redacted}
                            if redacted is not None
                            else {"type": "reasoning.text", "text": seen, "signature": signature}
                        ]
                    out.append(self._chunk(index, delta))
                case ToolCallDelta(
                    index=index, call_index=call_index, id=call_id, name=name, arguments=arguments
                ):
                    call: dict[str, Any] = {"index": call_index, "function": {"arguments": arguments}}
                    if call_id is not None:
                        call["id"] = call_id
                        call["type"] = "function"
                    if name is not None:
                        call["function"]["name"] = name
                    out.append(self._chunk(index, {"tool_calls": [call]}))
                case Finish(index=index, reason=reason):
                    out.append(self._chunk(index, {}, reason))
                case UsageEvent(usage=usage):
                    self._usage = usage
        return b"".join(out)

    def finish(self) -> bytes:
        tail = b""
        if self._include_usage and self._usage is not None:
            body = {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [],
                "usage": self._usage.to_openai(),
            }
            tail = b"data: " + orjson.dumps(body) + b"\n\n"
        return tail + b"data: [DONE]\n\n"

    def error(self, exc: GatewayError) -> bytes:
        body = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "error": {"message": exc.message, "type": exc.type, "param": None, "code": exc.code},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        }
        return b"data: " + orjson.dumps(body) + b"\n\ndata: [DONE]\n\n"
