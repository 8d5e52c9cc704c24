"""Server-sent-events framing: split a byte stream into complete events, incrementally.

Events end with a blank line; ``\\r\\n`` is accepted and normalised to ``\\n``. The splitter
bounds what it buffers, so a provider that never ends an event cannot exhaust memory.
"""

from __future__ import annotations

from switchgear.core.errors import UpstreamProtocolError


class SSEOverflow(Exception):
    """An event grew past the buffer bound without ending."""


class SSESplitter:
    __slots__ = ("_buf", "_limit")

    def __init__(self, limit: int = 16 * 1024 * 1024) -> None:
        self._buf = b""
        self._limit = limit

    def feed(self, data: bytes) -> bytes:
        """Add ``data``; return the complete events now available (ending in a blank line) or b""."""
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            # A read may end between "\r" and "\n": normalise what is complete, keep the rest.
            held = b"\r" if buf.endswith(b"\r") else b""
            buf = buf[: len(buf) - len(held)].replace(b"\r\n", b"\n") + held
        end = buf.rfind(b"\n\n")
        if end < 0:
            if len(buf) > self._limit:
                raise SSEOverflow(f"a stream event exceeded {self._limit} bytes")
            self._buf = buf
            return b""
        self._buf = buf[end + 2 :]
        return buf[: end + 2]

    def payloads(self, data: bytes, provider: str) -> list[bytes]:
        """Add ``data``; the ``data:`` payloads of the events now complete (comments skipped).
        An overlong event is the provider's fault: UpstreamProtocolError naming it."""
        try:
            block = self.feed(data)
        except SSEOverflow as exc:
            raise UpstreamProtocolError(f"provider {provider!r}: {exc}", provider=provider) from None
        if not block:
            return []
        found = (data_of(event) for event in block.split(b"\n\n")[:-1])
        return [payload for payload in found if payload is not None]

    @property
    def pending(self) -> bytes:
        """Bytes received after the last complete event."""
        return self._buf


def data_of(event: bytes) -> bytes | None:
    """The ``data:`` payload of one event (joined over lines), or None for comments / empty events."""
    newline = event.find(b"\n")
    if newline < 0 and event.startswith(b"data: "):
        return event[6:]
    if (
        newline > 0
        and event.startswith(b"event: ")
        and event.startswith(b"data: ", newline + 1)
        and event.find(b"\n", newline + 1) < 0
    ):
        return event[newline + 7 :]  # "event: x" then one data line: the common named-event shape
    parts = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            parts.append(value[1:] if value.startswith(b" ") else value)
    if not parts:
        return None
    return b"\n".join(parts)
