"""The skeleton of the stream decoders whose SSE events each carry one JSON object (Gemini, Cohere).

``JsonEventDecoder`` hands each event's payload to the family's ``_event``, skipping empty ones and
the family's end markers (Cohere's ``[DONE]``). When the body ends it takes a last event that came
whole but without its blank line, checks that the answer started and finished (``_complete``) and
closes with the usage as one ``UsageEvent``; a body cut inside an event, before any answer or before
a finish reason is an ``UpstreamProtocolError``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.jsoncodec import is_object, sent
from switchgear.core.types import StreamEvent, UsageEvent
from switchgear.core.usage import Usage
from switchgear.providers.base import Deployment
from switchgear.transport.sse import SSESplitter, data_of

EVENT = sent("a stream event")  # what ``load_object`` says of an event that is not a JSON object


class JsonEventDecoder(ABC):
    """Incremental decoding of one answer (see ``StreamDecoder``); families fill in the events."""

    __slots__ = ("_deployment", "_provider", "_splitter", "_started", "usage")
    MARKERS: ClassVar[frozenset[bytes]] = frozenset()  # payloads that end the stream, not events

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._provider = deployment.provider.name
        self._splitter = SSESplitter(self._provider)
        self._started = False  # the family's ``_event`` sets it with the first ``StreamStart``
        self.usage: Usage | None = None

    @abstractmethod
    def _event(self, payload: bytes, events: list[StreamEvent]) -> None:
        """Decode one event's JSON payload, appending what it yields to ``events``."""

    @abstractmethod
    def _complete(self) -> bool:
        """Every choice of the answer got its finish reason."""

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for payload in self._splitter.payloads(data):
            stripped = payload.strip()
            if stripped and stripped not in self.MARKERS:
                self._event(payload, events)
        return events

    def finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        provider = self._provider
        pending = self._splitter.pending
        if pending.strip():
            # The last event may lack its blank line; take it only if it is whole.
            payload = data_of(pending.rstrip(b"\r\n"))
            if payload is None or not (payload.strip() in self.MARKERS or is_object(payload)):
                raise UpstreamProtocolError(
                    f"provider {provider!r} ended the stream in the middle of an event", provider=provider
                )
            if payload.strip() not in self.MARKERS:
                self._event(payload, events)
        if not self._started:
            raise UpstreamProtocolError(
                f"provider {provider!r} ended the stream without an answer", provider=provider
            )
        if not self._complete():
            raise UpstreamProtocolError(
                f"provider {provider!r} ended the stream before a finish reason", provider=provider
            )
        if self.usage is not None:
            events.append(UsageEvent(self.usage))
        return events
