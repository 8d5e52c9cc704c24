"""Encoding canonical stream events as typed OpenAI Responses ``response.*`` SSE events for the client.

Output items are built as in ``encode``, so the stream ends with the same object as the
non-streamed answer. A failure after the first byte is an ``error`` event (the SDK types' flat
fields plus the nested ``error`` object the live API sends, which makes the SDK raise
``APIError``), then ``response.failed`` (``core.responses_events``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from switchgear.apis.base import EndsOnce
from switchgear.apis.responses.encode import (
    ITEM_PREFIXES,
    call_item,
    echo,
    id_base,
    message_item,
    outcome,
    reasoning_item,
    response_object,
    text_part,
    usage_object,
)
from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError
from switchgear.core.responses_events import error_events, sse
from switchgear.core.types import (
    ChatRequest,
    Finish,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage


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


class ResponsesStreamEncoder(EndsOnce):
    """Canonical stream events (choice 0) → Responses SSE events, for one response.

    Message and reasoning items close when another kind of output starts; function calls stay
    open until the finish. The terminal event waits for the usage that follows ``Finish``
    (or for ``finish()``) so it can carry it, as the Responses API always does.
    """

    def __init__(self, model: str, request: ChatRequest | None = None, price: Pricer | None = None) -> None:
        self._model = model
        self._price = price  # prices the usage the terminal event carries (as usage.cost)
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
                        self._end(out)
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
        usage = None
        if self._usage is not None and status != "in_progress":
            usage = usage_object(self._usage, self._price(self._usage) if self._price is not None else None)
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
        item_id = f"{ITEM_PREFIXES[kind]}_{self._base}_{index}"
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

    def _end(self, out: list[bytes]) -> None:
        self._start(out, "", 0)
        self._close_all(out)
        self._ended = True
        status, incomplete, error = outcome(self._reason, self._native)
        response = self._response(status, incomplete=incomplete, error=error)
        self._emit(out, f"response.{status}", response=response)
