"""Anthropic Messages streams (WIRE-FORMATS §3.4) decoded into canonical events for clients of
another family (``AnthropicStreamDecoder``), incrementally over any byte split. The same-family
byte-for-byte relay is ``relay.AnthropicStreamRelay``.

Decoding keeps per-block state: a ``tool_use`` block opens a call (id and name on its first
delta, never Anthropic's initial ``input: {}``), its ``input_json_delta`` pieces follow, and a
call that got no piece closes with ``"{}"``. Usage is split over ``message_start`` (input side)
and ``message_delta`` (cumulative: replaced, never added). An ``error`` event raises the mapped
gateway error once the events before it have been returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from switchgear.core.errors import UpstreamError, UpstreamProtocolError
from switchgear.core.jsoncodec import dumps, load_object
from switchgear.core.types import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage
from switchgear.providers.anthropic.errors import in_band_error
from switchgear.providers.anthropic.response import finish_reason, read_usage
from switchgear.providers.base import Deployment
from switchgear.transport.sse import SSESplitter


@dataclass(slots=True)
class _Block:
    kind: Literal["text", "thinking", "tool", "other"]
    call_index: int = -1
    has_arguments: bool = False


class AnthropicStreamDecoder:
    """Anthropic SSE events to canonical stream events (one choice, index 0)."""

    __slots__ = (
        "_blocks",
        "_calls",
        "_finished",
        "_model",
        "_pending_error",
        "_provider",
        "_raw_usage",
        "_splitter",
        "_started",
        "done",
        "usage",
    )

    def __init__(self, deployment: Deployment) -> None:
        self._provider = deployment.provider.name
        self._model = deployment.model
        self._splitter = SSESplitter(self._provider)
        self._blocks: dict[int, _Block] = {}
        self._calls = 0
        self._started = False
        self._finished = False
        self._raw_usage: dict[str, Any] = {}
        self._pending_error: UpstreamError | None = None
        self.done = False
        self.usage: Usage | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        if self._pending_error is not None:
            raise self._pending_error
        events: list[StreamEvent] = []
        for payload in self._splitter.payloads(data):
            if self.done:
                continue
            try:
                self._event(load_object(payload, self._provider, EVENT), events)
            except UpstreamError as exc:
                if not events:
                    raise
                self._pending_error = exc  # deliver what came before it first
                break
        return events

    def finish(self) -> list[StreamEvent]:
        if self._pending_error is not None:
            raise self._pending_error
        if not self.done:
            raise self._splitter.cut("ended the stream before message_stop")
        return []

    def _event(self, event: dict[str, Any], events: list[StreamEvent]) -> None:
        kind = event.get("type")
        if kind == "error":
            raise in_band_error(event.get("error"), self._provider)
        if kind == "message_start":
            self._start(event, events)
            return
        if kind not in ("content_block_start", "content_block_delta", "content_block_stop", "message_delta"):
            if kind == "message_stop":
                self._stop(events)
            return  # ping and event types from the future
        if not self._started:
            self._garbage(f"sent {kind} before message_start")
        match kind:
            case "content_block_start":
                self._block_start(event, events)
            case "content_block_delta":
                self._block_delta(event, events)
            case "content_block_stop":
                block = self._blocks.pop(self._index(event), None)
                if block is not None and block.kind == "tool" and not block.has_arguments:
                    events.append(ToolCallDelta(0, block.call_index, None, None, "{}"))
            case "message_delta":
                delta = event.get("delta")
                native = delta.get("stop_reason") if isinstance(delta, dict) else None
                if isinstance(native, str) and not self._finished:
                    self._finished = True
                    events.append(Finish(0, finish_reason(native), native))
                self._read_usage(event.get("usage"), replace=False)

    def _start(self, event: dict[str, Any], events: list[StreamEvent]) -> None:
        message = event.get("message")
        if not isinstance(message, dict):
            self._garbage("sent a message_start without a message")
        if self._started:
            return
        self._started = True
        events.append(
            StreamStart(
                id=str(message.get("id") or f"msg_{time.time_ns():x}"),
                model=str(message.get("model") or self._model),
                created=int(time.time()),
            )
        )
        self._read_usage(message.get("usage"), replace=True)

    def _stop(self, events: list[StreamEvent]) -> None:
        self.done = True
        if not self._started:
            self._garbage("sent message_stop before message_start")
        if not self._finished:
            self._finished = True
            events.append(Finish(0, "stop", None))
        if self.usage is not None:
            events.append(UsageEvent(self.usage))

    def _block_start(self, event: dict[str, Any], events: list[StreamEvent]) -> None:
        index = self._index(event)
        content = event.get("content_block")
        if not isinstance(content, dict):
            self._garbage("sent a content_block_start without a content_block")
        match content.get("type"):
            case "text":
                self._blocks[index] = _Block("text")
                text = content.get("text")
                if isinstance(text, str) and text:
                    events.append(TextDelta(0, text))
            case "thinking":
                self._blocks[index] = _Block("thinking")
                text, signature = content.get("thinking"), content.get("signature")
                if isinstance(text, str) and text:
                    events.append(ReasoningDelta(0, text))
                if isinstance(signature, str) and signature:
                    events.append(ReasoningDelta(0, signature=signature))
            case "redacted_thinking":
                self._blocks[index] = _Block("other")
                data = content.get("data")
                if not isinstance(data, str):
                    self._garbage("sent a redacted_thinking block without data")
                events.append(ReasoningDelta(0, redacted=data))
            case "tool_use":
                call_id, name = content.get("id"), content.get("name")
                if not isinstance(call_id, str) or not isinstance(name, str):
                    self._garbage("sent a tool_use block without an id or name")
                block = self._blocks[index] = _Block("tool", self._calls)
                self._calls += 1
                events.append(ToolCallDelta(0, block.call_index, call_id, name, ""))
                initial = content.get("input")
                if isinstance(initial, dict) and initial:  # a complete input up front, not the usual {}
                    block.has_arguments = True
                    events.append(ToolCallDelta(0, block.call_index, None, None, dumps(initial).decode()))
            case _:
                self._blocks[index] = _Block("other")  # server tools and future block types

    def _block_delta(self, event: dict[str, Any], events: list[StreamEvent]) -> None:
        block = self._blocks.get(self._index(event))
        delta = event.get("delta")
        if block is None or not isinstance(delta, dict):
            self._garbage("sent a content_block_delta outside a block")
        match delta.get("type"):
            case "text_delta":
                text = delta.get("text")
                if isinstance(text, str) and text:
                    events.append(TextDelta(0, text))
            case "thinking_delta":
                text = delta.get("thinking")
                if isinstance(text, str) and text:
                    events.append(ReasoningDelta(0, text))
            case "signature_delta":
                signature = delta.get("signature")
                if isinstance(signature, str) and signature:
                    events.append(ReasoningDelta(0, signature=signature))
            case "input_json_delta":
                piece = delta.get("partial_json")
                if block.kind == "tool" and isinstance(piece, str) and piece:
                    block.has_arguments = True
                    events.append(ToolCallDelta(0, block.call_index, None, None, piece))
            case _:
                pass  # citations_delta and future delta types have no canonical slot

    def _read_usage(self, raw: Any, *, replace: bool) -> None:
        if not isinstance(raw, dict):
            return
        if replace:
            self._raw_usage = dict(raw)
        else:  # message_delta counts are cumulative: replace each one given, never add
            self._raw_usage.update((k, v) for k, v in raw.items() if v is not None)
        self.usage = read_usage(self._raw_usage)

    def _index(self, event: dict[str, Any]) -> int:
        index = event.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            self._garbage(f"sent a {event.get('type')} event without an index")
        return index

    def _garbage(self, what: str) -> NoReturn:
        raise UpstreamProtocolError(f"provider {self._provider!r} {what}", provider=self._provider)


# Read with plain orjson: big integers only matter inside tool input, which streams as JSON *text*.
EVENT = ("sent a malformed stream event", "sent a stream event that is not an object")
