"""A stream relay that keeps the bytes the client gets, so that a complete stream can be stored
once it has ended well (``stage.ExactCache.settle``). Keeps at most a bound of bytes: a longer
answer is not cached and its bytes are let go at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchgear.core.errors import GatewayError
from switchgear.core.usage import Usage
from switchgear.providers.base import StreamRelay

if TYPE_CHECKING:
    from switchgear.cache.stage import Fill


class CapturingRelay:
    __slots__ = ("_fill", "_inner", "_left")

    def __init__(self, inner: StreamRelay, fill: Fill, limit: int) -> None:
        self._inner = inner
        self._fill = fill
        self._left = limit
        fill.chunks = []

    @property
    def done(self) -> bool:
        return self._inner.done

    @done.setter
    def done(self, value: bool) -> None:
        self._inner.done = value

    @property
    def events(self) -> int:
        return self._inner.events

    @events.setter
    def events(self, value: int) -> None:
        self._inner.events = value

    @property
    def failed(self) -> GatewayError | None:
        return self._inner.failed

    @failed.setter
    def failed(self, value: GatewayError | None) -> None:
        self._inner.failed = value

    @property
    def usage(self) -> Usage | None:
        return self._inner.usage

    def _keep(self, out: bytes) -> bytes:
        chunks = self._fill.chunks
        if chunks is not None and out:
            self._left -= len(out)
            if self._left < 0:
                self._fill.chunks = None  # too long to cache
            else:
                chunks.append(out)
        return out

    def feed(self, data: bytes) -> bytes:
        return self._keep(self._inner.feed(data))

    def finish(self) -> bytes:
        return self._keep(self._inner.finish())

    def error(self, exc: GatewayError) -> bytes:
        self._fill.chunks = None  # an answer that ended in an error is never stored
        return self._inner.error(exc)
