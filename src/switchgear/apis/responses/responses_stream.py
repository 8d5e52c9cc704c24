"""Encoding to the OpenAI Responses wire format: the ``response`` object and its event stream.

Owns what a ``/v1/responses`` client sees for a translated answer: output items (reasoning,
message, function_call), usage, the echoed request settings, the outcome (``completed``,
``incomplete`` with its reason, ``failed``), and ``ResponsesStreamEncoder`` (canonical events to
typed ``response.*`` SSE events). Item ids derive from the upstream id and the output index, so a
stream ends with the same object as the non-streamed answer. A failure after the first byte is an
``error`` event (the SDK types' flat fields plus the nested ``error`` object the live API sends,
which makes the SDK raise ``APIError``), then ``response.failed``.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from switchgear.core.errors import GatewayError
from switchgear.core.responses_events import dumps, error_events, sse
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
    Finish,
    FinishReason,
    ImagePart,
    Message,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage

_PREFIX = re.compile(r"^[A-Za-z]+[-_]")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_PREFIXES = {"message": "msg", "reasoning": "rs", "function_call": "fc"}  # item ids


def id_base(upstream_id: str) -> str:
    """The id stem shared by a response and its items: the upstream id without its prefix."""
    return _NOT_ALNUM.sub("", _PREFIX.sub("", upstream_id))[-48:] or os.urandom(12).hex()


def usage_object(usage: Usage) -> dict[str, Any]:
    cached = {"cached_tokens": usage.cached_tokens, "cache_write_tokens": usage.cache_write_tokens}
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": cached,
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


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


def encode_answer(response: ChatResponse, model: str, request: ChatRequest | None) -> bytes:
    """A whole canonical answer as a Responses object (``model``: the name the client asked for)."""
    base = id_base(response.id)
    choice = response.choices[0] if response.choices else None
    reason, native = (choice.finish_reason, choice.native_finish_reason) if choice else (None, None)
    status, incomplete, error = outcome(reason, native)
    output = output_items(choice.message, base, incomplete is not None) if choice else []
    return dumps(
        response_object(base, response.created, model, status=status, output=output,
                        usage=usage_object(response.usage), settings=echo(request),
                        incomplete=incomplete, error=error)
    )  # fmt: skip


@dataclass(slots=True)
class _Item:
    kind: str  # "message" | "reasoning" | "function_call"
    index: int
    id: str
    text: list[str] = field(default_factory=list)  # message text, reasoning summary, call arguments
    opened: bool = False  # message: content part added; reasoning: summary part added
    signature: str | None = None
    call_id: str = ""
    name: str = ""


class ResponsesStreamEncoder:
    """Canonical stream events (choice 0) → Responses SSE events, for one response.

    Message and reasoning items close when another kind of output starts; function calls stay
    open until the finish. The terminal event waits for the usage that follows ``Finish``
    (or for ``finish()``) so it can carry it, as the Responses API always does.
    """

    def __init__(self, model: str, request: ChatRequest | None = None) -> None:
        self._model = model
        self._settings = echo(request)
        self._sequence = 0
        self._base, self._created = "", 0
        self._started = self._ended = self._finished = False
        self._items: dict[int, dict[str, Any]] = {}  # closed items by output index
        self._current: _Item | None = None  # the open message or reasoning item
        self._calls: dict[int, _Item] = {}  # open function calls by call index
        self._reason: FinishReason | None = None
        self._native: str | None = None
        self._usage: Usage | None = None

    def encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if self._ended:
                break
            match event:
                case StreamStart():
                    self._start(out, event.id, event.created)
                case TextDelta():
                    if event.index == 0 and event.text:
                        self._text(out, event.text)
                case ReasoningDelta():
                    if event.index == 0 and (event.text or event.signature is not None):
                        self._reasoning(out, event.text, event.signature)  # redacted data: no slot
                case ToolCallDelta():
                    if event.index == 0:
                        self._call(out, event)
                case Finish():
                    if event.index == 0:
                        self._reason, self._native, self._finished = event.reason, event.native_reason, True
                        self._close_all(out)
                case UsageEvent():
                    self._usage = event.usage
                    if self._finished:
                        self._terminal(out)
        return b"".join(out)

    def finish(self) -> bytes:
        out: list[bytes] = []
        if not self._ended:
            self._terminal(out)
        return b"".join(out)

    def error(self, exc: GatewayError) -> bytes:
        out: list[bytes] = []
        if not self._ended:
            self._start(out, "", 0)
            self._ended = True
            out.append(error_events(exc, self._sequence, self._response("failed")))
            self._sequence += 2
        return b"".join(out)

    def _emit(self, out: list[bytes], type_: str, **fields: Any) -> None:
        out.append(sse(type_, self._sequence, fields))
        self._sequence += 1

    def _response(self, status: str, **extra: Any) -> dict[str, Any]:
        output = [self._items[i] for i in sorted(self._items)]
        usage = usage_object(self._usage) if self._usage is not None and status != "in_progress" else None
        return response_object(self._base, self._created, self._model, status=status, output=output,
                               usage=usage, settings=self._settings, **extra)  # fmt: skip

    def _start(self, out: list[bytes], upstream_id: str, created: int) -> None:
        if self._started:
            return
        self._started = True
        self._base = id_base(upstream_id)
        self._created = created or int(time.time())
        self._emit(out, "response.created", response=self._response("in_progress"))
        self._emit(out, "response.in_progress", response=self._response("in_progress"))

    def _open(self, out: list[bytes], kind: str, call_id: str | None = None, name: str = "") -> _Item:
        self._close_current(out, "completed")
        self._start(out, "", 0)
        index = len(self._items) + len(self._calls)
        item_id = f"{_PREFIXES[kind]}_{self._base}_{index}"
        item = _Item(kind, index, item_id, call_id=call_id or f"call_{self._base}_{index}", name=name)
        if kind == "message":
            added = message_item(item_id, "", "in_progress")
        elif kind == "reasoning":
            added = reasoning_item(item_id, "", None)
        else:
            added = call_item(item_id, item.call_id, name, "", "in_progress")
        self._emit(out, "response.output_item.added", output_index=index, item=added)
        return item

    def _text(self, out: list[bytes], text: str) -> None:
        item = self._current
        if item is None or item.kind != "message":
            item = self._current = self._open(out, "message")
            self._emit(out, "response.content_part.added", item_id=item.id, output_index=item.index,
                       content_index=0, part=text_part(""))  # fmt: skip
        item.text.append(text)
        self._emit(out, "response.output_text.delta", item_id=item.id, output_index=item.index,
                   content_index=0, delta=text, logprobs=[])  # fmt: skip

    def _reasoning(self, out: list[bytes], text: str, signature: str | None) -> None:
        item = self._current
        if item is None or item.kind != "reasoning" or (text and item.signature is not None):
            item = self._current = self._open(out, "reasoning")
        if text:
            where = {"item_id": item.id, "output_index": item.index, "summary_index": 0}
            if not item.opened:
                item.opened = True
                part = {"type": "summary_text", "text": ""}
                self._emit(out, "response.reasoning_summary_part.added", **where, part=part)
            item.text.append(text)
            self._emit(out, "response.reasoning_summary_text.delta", **where, delta=text)
        if signature is not None:
            item.signature = signature

    def _call(self, out: list[bytes], event: ToolCallDelta) -> None:
        item = self._calls.get(event.call_index)
        if item is None:
            item = self._calls[event.call_index] = self._open(
                out, "function_call", event.id, event.name or ""
            )
        if event.arguments:
            item.text.append(event.arguments)
            self._emit(out, "response.function_call_arguments.delta", item_id=item.id,
                       output_index=item.index, delta=event.arguments)  # fmt: skip

    def _close_all(self, out: list[bytes]) -> None:
        """Close every open item; the last one (by output index) was cut if the response is."""
        last = len(self._items) + len(self._calls) + (self._current is not None) - 1
        cut = last if self._reason in ("length", "content_filter") else -1
        if self._current is not None:
            self._close_current(out, "incomplete" if self._current.index == cut else "completed")
        for call in sorted(self._calls.values(), key=lambda c: c.index):
            self._close_call(out, call, "incomplete" if call.index == cut else "completed")
        self._calls.clear()

    def _close_current(self, out: list[bytes], status: str) -> None:
        item, self._current = self._current, None
        if item is None:
            return
        text = "".join(item.text)
        if item.kind == "message":
            where = {"item_id": item.id, "output_index": item.index, "content_index": 0}
            self._emit(out, "response.output_text.done", **where, text=text, logprobs=[])
            self._emit(out, "response.content_part.done", **where, part=text_part(text))
            done = message_item(item.id, text, status)
        else:
            if item.opened:
                where = {"item_id": item.id, "output_index": item.index, "summary_index": 0}
                self._emit(out, "response.reasoning_summary_text.done", **where, text=text)
                part = {"type": "summary_text", "text": text}
                self._emit(out, "response.reasoning_summary_part.done", **where, part=part)
            done = reasoning_item(item.id, text, item.signature)
        self._items[item.index] = done
        self._emit(out, "response.output_item.done", output_index=item.index, item=done)

    def _close_call(self, out: list[bytes], item: _Item, status: str) -> None:
        where = {"item_id": item.id, "output_index": item.index}
        if not item.text:  # a call without arguments: "{}", as the canonical form has it
            item.text.append("{}")
            self._emit(out, "response.function_call_arguments.delta", **where, delta="{}")
        arguments = "".join(item.text)
        self._emit(out, "response.function_call_arguments.done", **where, arguments=arguments)
        done = call_item(item.id, item.call_id, item.name, arguments, status)
        self._items[item.index] = done
        self._emit(out, "response.output_item.done", output_index=item.index, item=done)

    def _terminal(self, out: list[bytes]) -> None:
        self._start(out, "", 0)
        self._close_all(out)
        self._ended = True
        status, incomplete, error = outcome(self._reason, self._native)
        response = self._response(status, incomplete=incomplete, error=error)
        self._emit(out, f"response.{status}", response=response)
