"""ConverseStream (AWS event-stream frames of JSON events) → canonical stream events.

``messageStart`` opens the stream (``StreamStart``; Bedrock sends no id, one is made up);
``contentBlockStart`` with ``toolUse`` opens a tool call (its id and name, empty arguments);
``contentBlockDelta`` carries text, tool-input JSON fragments or reasoning (text, signature,
redacted data); a tool call that got no fragment is closed with ``"{}"`` at its
``contentBlockStop``; ``messageStop`` is the ``Finish``; ``metadata`` (after it) the usage. An
``exception`` or ``error`` message raises the mapped ``UpstreamError``; unknown events and keys
are ignored. A stream that ends mid-frame or before ``messageStop`` is an
``UpstreamProtocolError``.
"""

from __future__ import annotations

from typing import Any

import orjson

from switchgear.core.errors import UpstreamProtocolError
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
from switchgear.providers.bedrock.errors import error_from_stream, make_error
from switchgear.providers.bedrock.eventstream import EventStreamDecoder, EventStreamError, HeaderValue
from switchgear.providers.bedrock.response import finish_reason, new_response_id, usage_of
from switchgear.providers.bedrock.toolids import from_bedrock


class BedrockStreamDecoder:
    """One ConverseStream answer, decoded incrementally (see ``StreamDecoder``)."""

    __slots__ = (
        "_calls",
        "_created",
        "_filled",
        "_frames",
        "_model",
        "_provider",
        "_started",
        "_stopped",
        "usage",
    )

    def __init__(self, provider: str, model: str, created: int) -> None:
        self._provider = provider
        self._model = model
        self._created = created
        self._frames = EventStreamDecoder()
        self._started = False
        self._stopped = False
        self._calls: dict[int, int] = {}  # content block index -> call index
        self._filled: set[int] = set()  # call indexes that got an argument fragment
        self.usage: Usage | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        try:
            messages = self._frames.feed(data)
        except EventStreamError as exc:
            raise self._garbage(f"sent a malformed event stream: {exc}") from None
        events: list[StreamEvent] = []
        for headers, payload in messages:
            self._message(headers, payload, events)
        return events

    def finish(self) -> list[StreamEvent]:
        if self._frames.pending:
            raise self._garbage("ended in the middle of an event-stream message")
        if not self._stopped:
            raise self._garbage("ended the stream without messageStop")
        return []

    def _message(self, headers: dict[str, HeaderValue], payload: bytes, events: list[StreamEvent]) -> None:
        kind = headers.get(":message-type")
        if kind == "exception":
            name = headers.get(":exception-type")
            raise error_from_stream(name if isinstance(name, str) else "", payload, self._provider)
        if kind == "error":
            code, message = headers.get(":error-code"), headers.get(":error-message")
            raise make_error(
                code if isinstance(code, str) else None,
                message if isinstance(message, str) else "",
                self._provider,
                status=None,
            )
        if kind != "event":
            return
        name = str(headers.get(":event-type"))
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise self._garbage(f"sent a {name} event that is not JSON") from None
        if not isinstance(body, dict):
            raise self._garbage(f"sent a {name} event that is not an object")
        if not self._started:
            self._started = True
            events.append(StreamStart(id=new_response_id(), model=self._model, created=self._created))
        match name:
            case "contentBlockStart":
                self._block_start(body, events)
            case "contentBlockDelta":
                self._block_delta(body, events)
            case "contentBlockStop":
                call = self._calls.get(_index(body))
                if call is not None and call not in self._filled:
                    self._filled.add(call)
                    events.append(ToolCallDelta(0, call, None, None, "{}"))
            case "messageStop":
                self._stopped = True
                native = body.get("stopReason")
                events.append(
                    Finish(
                        0,
                        finish_reason(native, has_tool_calls=bool(self._calls)),
                        native if isinstance(native, str) else None,
                    )
                )
            case "metadata":
                if "usage" in body:
                    self.usage = usage_of(body["usage"])
                    events.append(UsageEvent(self.usage))
            case _:
                pass  # messageStart (handled above) and events this gateway does not use

    def _block_start(self, body: dict[str, Any], events: list[StreamEvent]) -> None:
        start = body.get("start")
        tool = start.get("toolUse") if isinstance(start, dict) else None
        if not isinstance(tool, dict):
            return
        call_id, name = tool.get("toolUseId"), tool.get("name")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise self._garbage("sent a toolUse start without id or name")
        call = len(self._calls)
        self._calls[_index(body)] = call
        events.append(ToolCallDelta(0, call, from_bedrock(call_id), name, ""))

    def _block_delta(self, body: dict[str, Any], events: list[StreamEvent]) -> None:
        delta = body.get("delta")
        if not isinstance(delta, dict):
            raise self._garbage("sent a contentBlockDelta without a delta")
        if isinstance(text := delta.get("text"), str):
            if text:
                events.append(TextDelta(0, text))
        elif isinstance(tool := delta.get("toolUse"), dict):
            call = self._calls.get(_index(body))
            if call is None:
                raise self._garbage("sent tool input for a block that started no tool call")
            fragment = tool.get("input")
            if isinstance(fragment, str) and fragment:
                self._filled.add(call)
                events.append(ToolCallDelta(0, call, None, None, fragment))
        elif isinstance(reasoning := delta.get("reasoningContent"), dict):
            if isinstance(text := reasoning.get("text"), str) and text:
                events.append(ReasoningDelta(0, text=text))
            if isinstance(signature := reasoning.get("signature"), str):
                events.append(ReasoningDelta(0, signature=signature))
            if isinstance(redacted := reasoning.get("redactedContent"), str):
                events.append(ReasoningDelta(0, redacted=redacted))

    def _garbage(self, what: str) -> UpstreamProtocolError:
        return UpstreamProtocolError(f"provider {self._provider!r} {what}", provider=self._provider)


def _index(body: dict[str, Any]) -> int:
    index = body.get("contentBlockIndex")
    return index if isinstance(index, int) else -1
