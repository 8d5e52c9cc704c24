"""OpenAI Chat Completions chunk streams decoded into canonical stream events, incrementally
over any byte split (``reasoning_content`` / ``reasoning`` deltas read back as reasoning).
"""

from __future__ import annotations

import time

from switchgear.core.errors import UpstreamError
from switchgear.core.jsoncodec import load_object
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
from switchgear.providers.base import Deployment
from switchgear.providers.openai.response import FINISH
from switchgear.transport.sse import SSESplitter

CHUNK = ("sent a malformed stream chunk", "sent a stream chunk that is not an object")


class OpenAIChatStreamDecoder:
    """Chat completion chunks to canonical events, over any byte split."""

    __slots__ = ("_model", "_provider", "_splitter", "_started", "done", "usage")

    def __init__(self, deployment: Deployment) -> None:
        self._provider = deployment.provider.name
        self._model = deployment.model
        self._splitter = SSESplitter(self._provider)
        self._started = False
        self.done = False
        self.usage: Usage | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for payload in self._splitter.payloads(data):
            if payload == b"[DONE]":
                self.done = True
                continue
            self._chunk(payload, events)
        return events

    def _chunk(self, payload: bytes, events: list[StreamEvent]) -> None:
        provider = self._provider
        chunk = load_object(payload, provider, CHUNK)
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
                events.append(Finish(index, FINISH.get(native, "stop"), native))
        usage = chunk.get("usage")
        if usage:
            self.usage = Usage.from_openai(usage)
            events.append(UsageEvent(self.usage))

    def finish(self) -> list[StreamEvent]:
        if not self.done:
            raise self._splitter.cut("ended without [DONE]")
        return []
