"""A base for ``Stage.wrap_relay``: a stream relay around another that forwards its state (done,
events, failure, usage) and passes every outgoing chunk through ``out``, which a subclass
overrides to see (or keep) the client's bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchgear.core.errors import GatewayError
from switchgear.core.usage import Usage

if TYPE_CHECKING:
    from switchgear.providers.base import StreamRelay


class RelayWrapper:
    __slots__ = ("_inner",)

    def __init__(self, inner: StreamRelay) -> None:
        self._inner = inner

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

    def out(self, data: bytes) -> bytes:
        """A chunk on its way to the client; returned as it is unless a subclass says otherwise."""
        return data

    def feed(self, data: bytes) -> bytes:
        return self.out(self._inner.feed(data))

    def finish(self) -> bytes:
        return self.out(self._inner.finish())

    def error(self, exc: GatewayError) -> bytes:
        return self.out(self._inner.error(exc))
