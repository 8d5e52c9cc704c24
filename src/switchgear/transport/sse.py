"""Server-sent-events framing: split a byte stream into complete events, incrementally.

Events end with a blank line; ``\\r\\n`` is accepted and normalised to ``\\n``. The splitter
bounds what it buffers, so a provider that never ends an event cannot exhaust memory: an overlong
event is the provider's fault, an ``UpstreamProtocolError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable

from switchgear.core.errors import UpstreamProtocolError
from switchgear.core.usage import Counts, restate_json, with_cost


class SSESplitter:
    """The events of one provider's stream (``provider`` is named in the errors it raises)."""

    __slots__ = ("_buf", "_limit", "_provider")

    def __init__(self, provider: str, limit: int = 16 * 1024 * 1024) -> None:
        self._buf = b""
        self._limit = limit
        self._provider = provider

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
                provider = self._provider
                raise UpstreamProtocolError(
                    f"provider {provider!r}: a stream event exceeded {self._limit} bytes", provider=provider
                )
            self._buf = buf
            return b""
        self._buf = buf[end + 2 :]
        return buf[: end + 2]

    def payloads(self, data: bytes) -> list[bytes]:
        """Add ``data``; the ``data:`` payloads of the events now complete (comments skipped)."""
        block = self.feed(data)
        if not block:
            return []
        found = (data_of(event) for event in block.split(b"\n\n")[:-1])
        return [payload for payload in found if payload is not None]

    @property
    def pending(self) -> bytes:
        """Bytes received after the last complete event."""
        return self._buf

    def cut(
        self, otherwise: str, mid_event: str = "ended in the middle of an event"
    ) -> UpstreamProtocolError:
        """The error for a stream that ended before its end: ``mid_event`` when an event was left
        unfinished, else ``otherwise`` (say "ended the stream without [DONE]")."""
        reason = mid_event if self._buf.strip() else otherwise
        return UpstreamProtocolError(f"provider {self._provider!r} {reason}", provider=self._provider)


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


def with_data(event: bytes, payload: bytes) -> bytes:
    """``event`` (without its blank line) carrying ``payload`` as its only data line, where its
    first data line was; its other lines (``event:``, ``id:``, comments) are kept."""
    lines = event.split(b"\n")
    out = []
    placed = False
    for line in lines:
        if not line.startswith(b"data:"):
            out.append(line)
        elif not placed:
            out.append(b"data: " + payload)
            placed = True
    if not placed:
        out.append(b"data: " + payload)
    return b"\n".join(out)


def map_events(block: bytes, read: Callable[[bytes], bytes]) -> bytes:
    """``block`` (complete events) with each event replaced by what ``read`` makes of it (an event
    without its blank line); the block itself when ``read`` returned every event as it was."""
    events = block.split(b"\n\n")[:-1]
    changed = False
    for i, event in enumerate(events):
        kept = read(event)
        if kept is not event:
            events[i] = kept
            changed = True
    return b"".join(e + b"\n\n" for e in events) if changed else block


def usage_event(
    event: bytes, payload: bytes, at: tuple[str, ...], counts: Counts | None, cost: int | None
) -> bytes:
    """``event``, whose data ``payload`` holds a usage object under ``at``, with that usage restated
    to ``counts`` (when the gateway clamped it) and carrying ``cost`` (nano-USD, written as USD);
    the event as it was when neither applies."""
    changed = False
    if counts is not None:
        restated = restate_json(payload, at, counts)
        if restated is not None:
            payload, changed = restated, True
    if cost is not None:
        payload, changed = with_cost(payload, at, cost), True
    return with_data(event, payload) if changed else event
