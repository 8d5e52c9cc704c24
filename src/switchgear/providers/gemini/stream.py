"""``streamGenerateContent?alt=sse`` to canonical stream events, incrementally over any byte split.

Each ``data:`` event is a partial ``GenerateContentResponse`` holding only new parts. The first
one yields ``StreamStart``; thought parts yield ``ReasoningDelta`` (a signature on another part
yields a ``ReasoningDelta`` with the signature and no text, before that part's own delta), text
parts ``TextDelta``, and each ``functionCall`` part, which arrives whole, one ``ToolCallDelta``
with its id (Gemini's, or ``call_<n>`` as in ``response``), name and full arguments. A
``finishReason`` yields ``Finish``; the last ``usageMetadata`` becomes one ``UsageEvent`` when the
body ends. An ``{"error": …}`` event raises the mapped ``UpstreamError``; a body that ends inside
an event or before every choice finished raises ``UpstreamProtocolError``.
"""

from __future__ import annotations

from typing import Any

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.jsoncodec import load_object
from switchgear.core.types import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    StreamStart,
    TextDelta,
    ToolCallDelta,
)
from switchgear.providers.base import Deployment
from switchgear.providers.gemini.errors import map_error
from switchgear.providers.gemini.response import (
    blocked_reason,
    envelope,
    finish_reason,
    parts_of,
    tool_call,
    usage_of,
)
from switchgear.providers.jsonevents import EVENT, JsonEventDecoder


class GeminiStreamDecoder(JsonEventDecoder):
    __slots__ = ("_calls", "_finished")

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self._calls: dict[int, int] = {}  # choice index -> function calls seen (every seen choice is a key)
        self._finished: set[int] = set()

    def _complete(self) -> bool:
        return bool(self._finished) and self._calls.keys() <= self._finished

    def _event(self, payload: bytes, events: list[StreamEvent]) -> None:
        provider = self._provider
        chunk = load_object(payload, provider, EVENT)
        if "error" in chunk and "candidates" not in chunk:
            raise map_error(200, {}, payload, provider)
        if not self._started:
            self._started = True
            response_id, model, created = envelope(chunk, self._deployment)
            events.append(StreamStart(id=response_id, model=model, created=created))
        candidates = chunk.get("candidates")
        if isinstance(candidates, list):
            for position, candidate in enumerate(candidates):
                if not isinstance(candidate, dict):
                    raise UpstreamProtocolError(
                        f"provider {provider!r} sent a malformed candidate", provider=provider
                    )
                self._candidate(candidate, position, events)
        elif candidates is None and not self._calls:
            blocked = blocked_reason(chunk)
            if blocked is not None:
                self._calls[0] = 0
                self._finished.add(0)
                events.append(Finish(0, "content_filter", blocked))
        if "usageMetadata" in chunk:
            self.usage = usage_of(chunk["usageMetadata"])

    def _candidate(self, candidate: dict[str, Any], position: int, events: list[StreamEvent]) -> None:
        provider = self._provider
        index = candidate.get("index", position)
        index = index if isinstance(index, int) else position
        calls = self._calls.setdefault(index, 0)
        for part in parts_of(candidate, provider):
            signature = part.get("thoughtSignature")
            signature = signature if isinstance(signature, str) and signature else None
            text = part.get("text")
            text = text if isinstance(text, str) else ""
            if part.get("thought") is True:
                if text or signature:
                    events.append(ReasoningDelta(index, text, signature=signature))
                continue
            if signature:
                events.append(ReasoningDelta(index, "", signature=signature))
            function_call = part.get("functionCall")
            if isinstance(function_call, dict):
                call = tool_call(function_call, calls, provider)
                events.append(ToolCallDelta(index, calls, call.id, call.name, call.arguments))
                calls += 1
            elif text:
                events.append(TextDelta(index, text))
        self._calls[index] = calls
        native = candidate.get("finishReason")
        if isinstance(native, str) and index not in self._finished:
            self._finished.add(index)
            events.append(Finish(index, finish_reason(native, calls > 0), native))
