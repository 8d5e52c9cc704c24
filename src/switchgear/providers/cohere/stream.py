"""Cohere v2 chat SSE streams to canonical stream events, incrementally over any byte split.

Each event's JSON carries its ``type``. ``message-start`` yields ``StreamStart`` (synthesized if
content comes first); ``content-start``/``content-delta`` yield ``TextDelta`` for ``text`` and
``ReasoningDelta`` for ``thinking``; ``tool-plan-delta`` yields ``ReasoningDelta`` (as
``response`` reads ``tool_plan``); ``tool-call-start`` yields the call's first ``ToolCallDelta``
(id, name, any initial arguments), ``tool-call-delta`` its argument pieces, and ``tool-call-end``
``"{}"`` for a call that had no arguments. ``message-end`` yields ``Finish`` (its ``error``, if
any, is the in-band failure behind finish reason ``ERROR``) and records usage, emitted as one
``UsageEvent`` when the body ends. ``citation-*``, ``debug``, unknown types and ``data: [DONE]``
are ignored; an event without a ``type`` but with a ``message`` raises the mapped error; a body
that ends inside an event or before ``message-end`` raises ``UpstreamProtocolError``.
"""

from __future__ import annotations

import time
from typing import Any

from switchgear.core.errors import UpstreamError, UpstreamProtocolError
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
from switchgear.providers.cohere.errors import map_error
from switchgear.providers.cohere.response import finish_reason, response_id, tool_call, usage_of
from switchgear.providers.jsonevents import EVENT, JsonEventDecoder


class CohereStreamDecoder(JsonEventDecoder):
    __slots__ = ("_args", "_calls", "_finished")
    MARKERS = frozenset({b"[DONE]"})

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self._finished = False
        self._calls = 0  # tool calls started
        self._args = 0  # argument characters of the open call

    def _complete(self) -> bool:
        return self._finished

    def _start(self, events: list[StreamEvent], event_id: Any = None) -> None:
        if not self._started:
            self._started = True
            events.append(StreamStart(id=response_id(event_id), model=self._deployment.model, created=_now()))

    def _event(self, payload: bytes, events: list[StreamEvent]) -> None:
        provider = self._provider
        event = load_object(payload, provider, EVENT)
        kind = event.get("type")
        if not isinstance(kind, str):
            if "message" in event:
                raise map_error(200, {}, payload, provider)
            raise UpstreamProtocolError(
                f"provider {provider!r} sent a stream event without a type", provider=provider
            )
        message = _delta_message(event)
        match kind:
            case "message-start":
                self._start(events, event.get("id"))
            case "content-start" | "content-delta":
                self._start(events)
                content = message.get("content")
                if isinstance(content, dict):
                    text = content.get("text")
                    thinking = content.get("thinking")
                    if isinstance(thinking, str) and thinking:
                        events.append(ReasoningDelta(0, thinking))
                    if isinstance(text, str) and text:
                        events.append(TextDelta(0, text))
            case "tool-plan-delta":
                self._start(events)
                plan = message.get("tool_plan")
                if isinstance(plan, str) and plan:
                    events.append(ReasoningDelta(0, plan))
            case "tool-call-start":
                self._start(events)
                raw_call = message.get("tool_calls")
                call = tool_call(raw_call, self._calls, provider)
                arguments = _arguments(raw_call)
                events.append(ToolCallDelta(0, self._calls, call.id, call.name, arguments))
                self._args = len(arguments)
                self._calls += 1
            case "tool-call-delta":
                if not self._calls:
                    raise UpstreamProtocolError(
                        f"provider {provider!r} sent tool-call arguments before a tool call",
                        provider=provider,
                    )
                arguments = _arguments(message.get("tool_calls"))
                if arguments:
                    events.append(ToolCallDelta(0, self._calls - 1, None, None, arguments))
                    self._args += len(arguments)
            case "tool-call-end":
                if self._calls and not self._args:
                    events.append(ToolCallDelta(0, self._calls - 1, None, None, "{}"))
                    self._args = 2
            case "message-end":
                self._start(events, event.get("id"))
                delta = event.get("delta")
                delta = delta if isinstance(delta, dict) else {}
                if "usage" in delta:
                    self.usage = usage_of(delta["usage"])
                native = delta.get("finish_reason")
                native = native if isinstance(native, str) and native else "ERROR"
                if delta.get("error"):  # the generation failed after it began: an in-band error
                    raise UpstreamError(
                        f"provider {self._provider!r} failed mid-stream (finish reason {native})",
                        provider=self._provider,
                    )
                if not self._finished:
                    self._finished = True
                    events.append(Finish(0, finish_reason(native, self._calls > 0), native))
            case _:
                pass  # citation-start/-end, debug, and anything newer


def _delta_message(event: dict[str, Any]) -> dict[str, Any]:
    delta = event.get("delta")
    message = delta.get("message") if isinstance(delta, dict) else None
    return message if isinstance(message, dict) else {}


def _arguments(raw_call: Any) -> str:
    """The ``function.arguments`` piece of a streamed tool-call event ("" when absent)."""
    function = raw_call.get("function") if isinstance(raw_call, dict) else None
    arguments = function.get("arguments") if isinstance(function, dict) else None
    return arguments if isinstance(arguments, str) else ""


def _now() -> int:
    return int(time.time())
