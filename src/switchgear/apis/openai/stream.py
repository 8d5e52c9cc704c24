"""Encoding canonical stream events as OpenAI ``chat.completion.chunk`` SSE for the client."""

from __future__ import annotations

import time
from typing import Any

import orjson

from switchgear.catalog.costs import Pricer
from switchgear.core.errors import GatewayError
from switchgear.core.money import json_default
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


class ChatStreamEncoder:
    """Canonical events to ``chat.completion.chunk`` SSE; usage last when the client asked.

    Every chunk shares its envelope (id, created, model), so that part is serialised once and
    only each delta is encoded per event (the bytes equal a whole-object ``orjson.dumps``)."""

    __slots__ = (
        "_created",
        "_id",
        "_include_usage",
        "_model",
        "_prefix",
        "_price",
        "_reasoning",
        "_roles",
        "_usage",
    )

    def __init__(self, model: str, include_usage: bool, price: Pricer | None = None) -> None:
        self._model = model
        self._include_usage = include_usage
        self._price = price  # prices the usage chunk (as usage.cost)
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
                "usage": self._usage.to_openai(self._price(self._usage) if self._price is not None else None),
            }
            tail = b"data: " + orjson.dumps(body, default=json_default) + b"\n\n"
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
