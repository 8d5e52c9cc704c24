"""What the Anthropic Messages codec answers with: the whole ``message`` JSON, the SSE stream
(``message_start`` … ``message_stop``, blocks opened and closed in order as canonical deltas
arrive), ``{"type":"error"}`` bodies and events, and the offline input-token estimate behind
``/v1/messages/count_tokens`` for models not served by Anthropic.

Stop reasons follow WIRE-FORMATS §8.a in reverse (a turn with tool calls is ``tool_use``);
usage follows §8.b in reverse (``input_tokens`` excludes cache reads and writes). Canonical
streams report usage after ``Finish``, so ``message_start`` carries zeros and ``message_delta``
the real, cumulative counts (the SDKs replace their snapshot with them). Tool arguments that are
not a JSON object come back as ``{"raw": "<text>"}`` in whole answers; streamed argument pieces
are forwarded as they arrive, as Anthropic's own fine-grained tool streaming does.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Literal

import orjson

from switchgear.core.errors import GatewayError, UpstreamProtocolError
from switchgear.core.types import (
    ChatRequest,
    ChatResponse,
    Finish,
    FinishReason,
    ImagePart,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage

_IMAGE_TOKENS = 1_600
_MESSAGE_TOKENS = 4
_TOOLS_PROMPT_TOKENS = 346  # the tool-use system prompt Anthropic adds when tools are present
_Open = Literal["text", "thinking", "signed", "redacted", "tool"] | None


def dumps(value: Any) -> bytes:
    """Compact JSON; falls back to ``json`` for integers beyond 64 bits (valid JSON, rare)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def message_id(upstream_id: str) -> str:
    """The upstream id when it is already an Anthropic one, else ``msg_`` + it."""
    if upstream_id.startswith("msg_"):
        return upstream_id
    return "msg_" + (upstream_id or os.urandom(12).hex())


def stop_reason(reason: FinishReason | None, native: str | None, tool_calls: bool) -> str:
    """The Anthropic ``stop_reason`` for a canonical finish reason (and the raw upstream one)."""
    native = (native or "").lower()
    match reason:
        case "tool_calls":
            return "tool_use"
        case "length":
            return (
                "model_context_window_exceeded" if native == "model_context_window_exceeded" else "max_tokens"
            )
        case "content_filter":
            return "refusal"
        case "stop" | "error" | None:
            if tool_calls:
                return "tool_use"  # some families end a tool turn with a plain stop (Gemini)
            return "stop_sequence" if native == "stop_sequence" else "end_turn"


def usage_body(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input_tokens": max(usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens, 0),
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.completion_tokens,
    }
    if usage.reasoning_tokens:
        body["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return body


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's JSON text as the ``input`` object: ``{}`` when empty, ``{"raw": text}`` when
    the model produced something that is not a JSON object."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return {"raw": arguments}
    return value if isinstance(value, dict) else {"raw": arguments}


def tool_id(call_id: str | None) -> str:
    return call_id or "toolu_" + os.urandom(12).hex()


def encode_message(response: ChatResponse, model: str) -> bytes:
    """The ``message`` JSON for choice 0 (Anthropic answers with one)."""
    content: list[dict[str, Any]] = []
    reason: FinishReason | None = None
    native: str | None = None
    calls = False
    if response.choices:
        choice = response.choices[0]
        message = choice.message
        reason, native, calls = choice.finish_reason, choice.native_finish_reason, bool(message.tool_calls)
        for part in message.reasoning:
            if part.redacted is not None:
                content.append({"type": "redacted_thinking", "data": part.redacted})
            elif part.text or part.signature:
                content.append({"type": "thinking", "thinking": part.text, "signature": part.signature or ""})
        texts = []
        for item in message.content:
            match item:
                case TextPart(text=text):
                    texts.append(text)
                case ImagePart():
                    pass  # Anthropic messages have no image output block
        if "".join(texts):
            content.append({"type": "text", "text": "".join(texts)})
        for call in message.tool_calls:
            content.append(
                {
                    "type": "tool_use",
                    "id": tool_id(call.id),
                    "name": call.name,
                    "input": tool_input(call.arguments),
                }
            )
    stop = stop_reason(reason, native, calls)
    return dumps(
        {
            "id": message_id(response.id),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage_body(response.usage),
        }
    )


def count_tokens_estimate(request: ChatRequest) -> int:
    """An offline input-token estimate: one token per 4 characters (rounded up) of all text
    (system, messages, thinking, tool-call names and arguments, tool names, descriptions and
    schemas as compact JSON), plus 4 per message, 1,600 per image and 346 when tools are given."""
    chars = images = 0
    for message in request.messages:
        for part in message.content:
            match part:
                case TextPart(text=text):
                    chars += len(text)
                case ImagePart():
                    images += 1
        chars += sum(len(r.text) for r in message.reasoning)
        chars += sum(len(c.name) + len(c.arguments) for c in message.tool_calls)
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description or "") + len(dumps(tool.parameters or {}))
    tools = _TOOLS_PROMPT_TOKENS if request.tools else 0
    return math.ceil(chars / 4) + _MESSAGE_TOKENS * len(request.messages) + _IMAGE_TOKENS * images + tools


def encode_error(exc: GatewayError) -> bytes:
    return dumps(
        {"type": "error", "error": {"type": exc.anthropic_type, "message": exc.message}, "request_id": None}
    )


def _event(kind: str, body: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + dumps({"type": kind, **body}) + b"\n\n"


class MessagesStreamEncoder:
    """Canonical events (choice 0) to Anthropic SSE. One block is open at a time; a delta of
    another kind closes it. ``message_delta`` goes out once both ``Finish`` and the usage after it
    are known, or at ``finish()``."""

    __slots__ = ("_call", "_calls", "_ended", "_finish", "_index", "_model", "_open", "_started", "_usage")

    def __init__(self, model: str) -> None:
        self._model = model
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

    def finish(self) -> bytes:
        out: list[bytes] = []
        if not self._ended:
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
        usage = usage_body(self._usage) if self._usage is not None else {"output_tokens": 0}
        out.append(_event("message_delta", {"delta": delta, "usage": usage}))
        out.append(_event("message_stop", {}))
        self._ended = True
