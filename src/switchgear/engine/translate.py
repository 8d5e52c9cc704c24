"""A stream relay that translates: the provider's stream decoded to canonical events, passed
through the request's stream transforms (stages), encoded again in the client's format, chunk by
chunk as the bytes arrive."""

from __future__ import annotations

from collections.abc import Sequence

from switchgear.apis.base import StreamEncoder
from switchgear.core.errors import GatewayError
from switchgear.core.types import StreamEvent
from switchgear.core.usage import Usage
from switchgear.providers.base import StreamDecoder
from switchgear.stages.base import StreamTransform


class TranslatingRelay:
    __slots__ = ("_decoder", "_encoder", "_transforms", "done", "events", "failed")

    def __init__(
        self, decoder: StreamDecoder, encoder: StreamEncoder, transforms: Sequence[StreamTransform] = ()
    ) -> None:
        self._decoder = decoder
        self._encoder = encoder
        self._transforms = tuple(transforms)
        self.done = False  # the translated stream ends when the upstream body ends
        self.events = 0
        self.failed: GatewayError | None = None

    @property
    def usage(self) -> Usage | None:
        return self._decoder.usage

    def feed(self, data: bytes) -> bytes:
        events = self._decoder.feed(data)
        self.events += len(events)
        for transform in self._transforms:
            if not events:
                break
            events = transform.feed(events)
        return self._encoder.encode(events) if events else b""

    def finish(self) -> bytes:
        if self.done:  # already ended (e.g. by an in-band error): nothing more to send
            return b""
        try:
            events = self._decoder.finish()
            events = self._flush(events)
            tail = self._encoder.encode(events)
        except GatewayError as exc:
            return self.error(exc)
        self.done = True
        return tail + self._encoder.finish()

    def _flush(self, events: list[StreamEvent]) -> list[StreamEvent]:
        """The decoder's last events through every transform, each flushing what it held back."""
        for transform in self._transforms:
            events = transform.feed(events) if events else []
            events = events + transform.finish()
        return events

    def error(self, exc: GatewayError) -> bytes:
        self.done = True
        self.failed = exc
        return self._encoder.error(exc)
