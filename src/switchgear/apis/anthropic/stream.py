"""Encoding canonical stream events as an Anthropic Messages SSE stream for the client.

``message_start`` … ``message_stop``, blocks opened and closed in order as canonical deltas
arrive; a failure after the first byte is an in-band ``error`` event. Canonical streams report
usage after ``Finish``, so ``message_start`` carries zeros and ``message_delta`` the real,
cumulative counts (the SDKs replace their snapshot with them). Streamed tool-argument pieces are
forwarded as they arrive, as Anthropic's own fine-grained tool streaming does.
"""

from __future__ import annotations

from typing import Any, Literal

from switchgear.apis.anthropic.encode import message_id, stop_reason, tool_id, usage_body
from switchgear.apis.base import EndsOnce
from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError, UpstreamProtocolError
from switchgear.core.jsoncodec import dumps
from switchgear.core.types import (
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

_Open = Literal["text", "thinking", "signed", "redacted", "tool"] | None


def _event(kind: str, body: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + dumps({"type": kind, **body}) + b"\n\n"


class MessagesStreamEncoder(EndsOnce):
    """Canonical events (choice 0) to Anthropic SSE. One block is open at a time; a delta of
    another kind closes it. ``message_delta`` goes out once both ``Finish`` and the usage after it
    are known, or at ``finish()``."""

    __slots__ = (
        "_call",
        "_calls",
        "_ended",
        "_finish",
        "_index",
        "_model",
        "_open",
        "_price",
        "_started",
        "_usage",
    )

    def __init__(self, model: str, price: Pricer | None = None) -> None:
        self._model = model
        self._price = price  # prices the usage message_delta carries (as usage.cost)
        self._started = False
        self._ended = False  # message_delta + message_stop (or an error) sent
        self._index = -1  # index of the last block opened
        self._open: _Open = None
        self._call = -1  # call_index of the open tool block
        self._calls: set[int] = set()  # call indexes seen
        self._finish: tuple[FinishReason, str | None] | None = None
        self._usage: Usage | None = None

    def encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if self._ended:
                break
            match event:
                case StreamStart(id=upstream_id):
                    self._start(out, upstream_id)
                case TextDelta(index=index, text=text):
                    if index == 0 and text:
                        self._block(out, "text", {"type": "text", "text": ""})
                        out.append(self._delta({"type": "text_delta", "text": text}))
                case ReasoningDelta(index=index):
                    if index == 0:
                        self._reasoning(out, event)
                case ToolCallDelta(index=index):
                    if index == 0:
                        self._tool(out, event)
                case Finish(index=index, reason=reason, native_reason=native):
                    if index == 0:
                        self._close(out)
                        self._finish = (reason, native)
                case UsageEvent(usage=usage):
                    self._usage = usage
                    if self._finish is not None:
                        self._end(out)
        return b"".join(out)

    def error(self, exc: GatewayError) -> bytes:
        if self._ended:
            return b""
        self._ended = True
        return _event("error", {"error": {"type": exc.anthropic_type, "message": exc.message}})

    def _start(self, out: list[bytes], upstream_id: str = "") -> None:
        if self._started:
            return
        self._started = True
        message: dict[str, Any] = {
            "id": message_id(upstream_id),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_body(Usage()),  # canonical streams report usage at the end
        }
        out.append(_event("message_start", {"message": message}))

    def _block(self, out: list[bytes], kind: _Open, start: dict[str, Any]) -> None:
        """Open a block of ``kind`` (a text or thinking block continues the open one)."""
        if self._open == kind and kind in ("text", "thinking"):
            return
        self._close(out)
        self._start(out)
        self._index += 1
        self._open = kind
        out.append(_event("content_block_start", {"index": self._index, "content_block": start}))

    def _close(self, out: list[bytes]) -> None:
        if self._open is not None:
            out.append(_event("content_block_stop", {"index": self._index}))
            self._open = None

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return _event("content_block_delta", {"index": self._index, "delta": delta})

    def _reasoning(self, out: list[bytes], event: ReasoningDelta) -> None:
        if event.redacted is not None:  # arrives whole: a block of its own, opened and closed
            self._block(out, "redacted", {"type": "redacted_thinking", "data": event.redacted})
            self._close(out)
            return
        if event.text:
            # Text after a signature starts a new thinking block (interleaved thinking).
            self._block(out, "thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out.append(self._delta({"type": "thinking_delta", "thinking": event.text}))
        if event.signature:
            if self._open not in ("thinking", "signed"):
                self._block(out, "thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out.append(self._delta({"type": "signature_delta", "signature": event.signature}))
            self._open = "signed"

    def _tool(self, out: list[bytes], event: ToolCallDelta) -> None:
        if self._open != "tool" or self._call != event.call_index:
            if event.call_index in self._calls:
                raise UpstreamProtocolError(
                    f"tool call {event.call_index} continued after another block began: "
                    "interleaved tool calls cannot be streamed to an Anthropic client"
                )
            self._calls.add(event.call_index)
            start = {"type": "tool_use", "id": tool_id(event.id), "name": event.name or "", "input": {}}
            self._block(out, "tool", start)
            self._call = event.call_index
        if event.arguments:
            out.append(self._delta({"type": "input_json_delta", "partial_json": event.arguments}))

    def _end(self, out: list[bytes]) -> None:
        self._close(out)
        self._start(out)
        reason, native = self._finish or (None, None)
        delta = {"stop_reason": stop_reason(reason, native, bool(self._calls)), "stop_sequence": None}
        usage: dict[str, Any] = {"output_tokens": 0}
        if self._usage is not None:
            usage = usage_body(self._usage, self._price(self._usage) if self._price is not None else None)
        out.append(_event("message_delta", {"delta": delta, "usage": usage}))
        out.append(_event("message_stop", {}))
        self._ended = True
