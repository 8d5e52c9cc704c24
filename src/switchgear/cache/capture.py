"""A stream relay that keeps the bytes the client gets, so that a complete stream can be stored
once it has ended well (``stage.ExactCache.settle``). Keeps at most a bound of bytes: a longer
answer is not cached and its bytes are let go at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchgear.core.errors import GatewayError
from switchgear.providers.base import StreamRelay
from switchgear.stages.relay import RelayWrapper

if TYPE_CHECKING:
    from switchgear.cache.stage import Fill


class CapturingRelay(RelayWrapper):
    __slots__ = ("_fill", "_left")

    def __init__(self, inner: StreamRelay, fill: Fill, limit: int) -> None:
        super().__init__(inner)
        self._fill = fill
        self._left = limit
        fill.chunks = []

    def out(self, data: bytes) -> bytes:
        chunks = self._fill.chunks
        if chunks is not None and data:
            self._left -= len(data)
            if self._left < 0:
                self._fill.chunks = None  # too long to cache
            else:
                chunks.append(data)
        return data

    def error(self, exc: GatewayError) -> bytes:
        self._fill.chunks = None  # an answer that ended in an error is never stored
        return self._inner.error(exc)
