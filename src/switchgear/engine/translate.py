"""A stream relay that translates: the provider's stream decoded to canonical events, encoded
again in the client's format, chunk by chunk as the bytes arrive."""

from __future__ import annotations

from switchgear.apis.base import StreamEncoder
from switchgear.core.errors import UpstreamError
from switchgear.core.usage import Usage
from switchgear.providers.base import StreamDecoder


class TranslatingRelay:
    __slots__ = ("_decoder", "_encoder", "done", "events")

    def __init__(self, decoder: StreamDecoder, encoder: StreamEncoder) -> None:
        self._decoder = decoder
        self._encoder = encoder
        self.done = False  # the translated stream ends when the upstream body ends
        self.events = 0

    @property
    def usage(self) -> Usage | None:
        return self._decoder.usage

    def feed(self, data: bytes) -> bytes:
        events = self._decoder.feed(data)
        self.events += len(events)
        return self._encoder.encode(events) if events else b""

    def finish(self) -> bytes:
        if self.done:  # already ended (e.g. by an in-band error): nothing more to send
            return b""
        try:
            tail = self._encoder.encode(self._decoder.finish())
        except UpstreamError as exc:
            return self.error(exc)
        self.done = True
        return tail + self._encoder.finish()

    def error(self, exc: UpstreamError) -> bytes:
        self.done = True
        return self._encoder.error(exc)
