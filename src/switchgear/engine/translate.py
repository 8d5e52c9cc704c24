"""A stream relay that translates: the provider's stream decoded to canonical events, passed
through the request's stream transforms (stages), encoded again in the client's format, chunk by
chunk as the bytes arrive.

The client's encoder is made when the first events arrive, named with the model the stream
itself names in its first event (the model that answered, as its provider calls it), so a
translated stream says what a passed-through one says; ``model`` is the name used when the stream
names none or fails before its first event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from switchgear.apis.base import StreamEncoder
from switchgear.core.errors import GatewayError
from switchgear.core.redact import Redactor
from switchgear.core.types import StreamEvent, StreamStart
from switchgear.core.usage import Usage
from switchgear.providers.base import StreamDecoder
from switchgear.stages.base import StreamTransform

EncoderFor = Callable[[str], StreamEncoder]


class TranslatingRelay:
    __slots__ = (
        "_decoder",
        "_encoder",
        "_make",
        "_model",
        "_redactor",
        "_transforms",
        "done",
        "events",
        "failed",
    )

    def __init__(
        self,
        decoder: StreamDecoder,
        encoder: StreamEncoder | EncoderFor,
        transforms: Sequence[StreamTransform] = (),
        *,
        model: str = "",
        redactor: Redactor | None = None,
    ) -> None:
        self._decoder = decoder
        self._encoder: StreamEncoder | None = None if callable(encoder) else encoder
        self._make: EncoderFor | None = encoder if callable(encoder) else None
        self._model = model
        self._transforms = tuple(transforms)
        self._redactor = redactor or Redactor()
        self.done = False  # the translated stream ends when the upstream body ends
        self.events = 0
        self.failed: GatewayError | None = None

    @property
    def usage(self) -> Usage | None:
        return self._decoder.usage

    def _encoder_for(self, events: list[StreamEvent]) -> StreamEncoder:
        encoder = self._encoder
        if encoder is None:
            assert self._make is not None
            named = next((e.model for e in events if isinstance(e, StreamStart) and e.model), None)
            encoder = self._encoder = self._make(named or self._model)
        return encoder

    def feed(self, data: bytes) -> bytes:
        events = self._decoder.feed(data)
        self.events += len(events)
        for transform in self._transforms:
            if not events:
                break
            events = transform.feed(events)
        return self._encoder_for(events).encode(events) if events else b""

    def finish(self) -> bytes:
        if self.done:  # already ended (e.g. by an in-band error): nothing more to send
            return b""
        try:
            events = self._flush(self._decoder.finish())
            encoder = self._encoder_for(events)
            tail = encoder.encode(events)
        except GatewayError as exc:  # e.g. an error event the decoder held back: redacted here
            return self.error(self._redactor.error(exc))
        self.done = True
        return tail + encoder.finish()

    def _flush(self, events: list[StreamEvent]) -> list[StreamEvent]:
        """The decoder's last events through every transform, each flushing what it held back."""
        for transform in self._transforms:
            events = transform.feed(events) if events else []
            events = events + transform.finish()
        return events

    def error(self, exc: GatewayError) -> bytes:
        """The client format's error event for ``exc`` (already redacted by the caller)."""
        self.done = True
        self.failed = exc
        return self._encoder_for([]).error(exc)
