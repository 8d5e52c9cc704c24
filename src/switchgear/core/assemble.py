"""Between whole answers and streams, in canonical form: a ``ChatResponse`` as the events of a
stream (``events_of``), and a stream's events gathered into one ``ChatResponse``
(``Assembler`` / ``response_of``). Used where an answer made once must be served either way
(caches, mock answers) and where a stream must be judged as a whole."""

from __future__ import annotations

from collections.abc import Iterable

from switchgear.core.types import (
    ChatResponse,
    Choice,
    ContentPart,
    Finish,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    UsageEvent,
)
from switchgear.core.usage import Usage


def events_of(response: ChatResponse) -> list[StreamEvent]:
    """The stream a client would have seen for ``response``: start, deltas, finishes, usage."""
    events: list[StreamEvent] = [StreamStart(response.id, response.model, response.created)]
    for choice in response.choices:
        message = choice.message
        for part in message.reasoning:
            events.append(ReasoningDelta(choice.index, part.text, part.signature, part.redacted))
        text = message.text()
        if text:
            events.append(TextDelta(choice.index, text))
        for position, call in enumerate(message.tool_calls):
            events.append(ToolCallDelta(choice.index, position, call.id, call.name, call.arguments))
    for choice in response.choices:
        events.append(Finish(choice.index, choice.finish_reason or "stop", choice.native_finish_reason))
    events.append(UsageEvent(response.usage))
    return events


class Assembler:
    """Gathers stream events into the whole answer they describe."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.usage = Usage()
        self._text: dict[int, list[str]] = {}
        self._reasoning: dict[int, list[ReasoningPart]] = {}
        self._calls: dict[int, dict[int, ToolCall]] = {}
        self._finish: dict[int, Finish] = {}

    def add(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            match event:
                case StreamStart(id=id_, model=model, created=created):
                    self.id, self.model, self.created = id_, model, created
                case TextDelta(index=index, text=text):
                    self._text.setdefault(index, []).append(text)
                case ReasoningDelta():
                    self._add_reasoning(event)
                case ToolCallDelta():
                    self._add_call(event)
                case Finish(index=index):
                    self._finish[index] = event
                case UsageEvent(usage=usage):
                    self.usage = usage

    def _add_reasoning(self, event: ReasoningDelta) -> None:
        parts = self._reasoning.setdefault(event.index, [])
        if not parts or parts[-1].signature is not None or event.redacted is not None:
            parts.append(ReasoningPart())
        part = parts[-1]
        part.text += event.text
        if event.signature is not None:
            part.signature = event.signature
        if event.redacted is not None:
            part.redacted = event.redacted

    def _add_call(self, event: ToolCallDelta) -> None:
        calls = self._calls.setdefault(event.index, {})
        call = calls.get(event.call_index)
        if call is None:
            calls[event.call_index] = ToolCall(event.id or "", event.name or "", event.arguments)
            return
        call.arguments += event.arguments
        if event.id:
            call.id = event.id
        if event.name:
            call.name = event.name

    def response(self) -> ChatResponse:
        indexes = sorted(set(self._text) | set(self._reasoning) | set(self._calls) | set(self._finish)) or [0]
        choices = []
        for index in indexes:
            content: list[ContentPart] = []
            text = "".join(self._text.get(index, ()))
            if text:
                content.append(TextPart(text))
            calls = self._calls.get(index, {})
            message = Message(
                role="assistant",
                content=content,
                tool_calls=[calls[k] for k in sorted(calls)],
                reasoning=self._reasoning.get(index, []),
            )
            finish = self._finish.get(index)
            choices.append(
                Choice(
                    index,
                    message,
                    finish.reason if finish is not None else None,
                    finish.native_reason if finish is not None else None,
                )
            )
        return ChatResponse(self.id, self.model, self.created, choices, self.usage)


def response_of(events: Iterable[StreamEvent]) -> ChatResponse:
    assembler = Assembler()
    assembler.add(events)
    return assembler.response()
