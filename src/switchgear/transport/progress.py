"""Where a stream's events end, for the minimum-progress rule of streamed answers.

A stream must complete an event within ``chunk_gap``: bytes that trickle in without ending one (a
provider dripping a byte a second) are no progress. ``tracker(content_type)`` gives the function a
connection feeds each block of body bytes it hands out; it says whether an event ended in that
block. SSE events end at a blank line (``\\n\\n``, ``\\r\\n\\r\\n`` or ``\\r\\r``), AWS event-stream
frames after the length their prelude states. Other streams have no tracker: any bytes are progress.
The checks cost tens of nanoseconds per block: an ``endswith`` for the usual block of whole SSE
events (byte searches otherwise), a few integer steps per event-stream frame.
"""

from __future__ import annotations

from collections.abc import Callable

Tracker = Callable[[bytes], bool]


def tracker(content_type: bytes | None) -> Tracker | None:
    """The event-end detector for a stream of ``content_type`` (None: any bytes count)."""
    if content_type is None:
        return None
    media = content_type.split(b";", 1)[0].strip().lower()
    if media == b"text/event-stream":
        return SSEEnds().feed
    if media == b"application/vnd.amazon.eventstream":
        return FrameEnds().feed
    return None


_WHOLE = (b"\n\n", b"\r\n\r\n")


class SSEEnds:
    """Blank lines in a byte stream, also across the blocks it arrives in."""

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""  # the last two bytes of the stream so far

    def feed(self, data: bytes) -> bool:
        if data.endswith(_WHOLE):  # a block of whole events, the common case: one cheap check
            self._tail = b""  # (no event end can straddle the start of the next block)
            return True
        ended = b"\n\n" in data or (b"\r" in data and (b"\n\r\n" in data or b"\r\r" in data))
        if not ended and self._tail:
            probe = self._tail + data[:2]
            ended = b"\n\n" in probe or b"\n\r\n" in probe or b"\r\r" in probe
        self._tail = data[-2:] if len(data) > 1 else self._tail[-1:] + data
        return ended


class FrameEnds:
    """Frame ends in an AWS event stream: each frame starts with its total length (4 bytes, big-endian)."""

    __slots__ = ("_broken", "_head", "_left")

    def __init__(self) -> None:
        self._left = 0  # bytes of the current frame still to come (0: the next byte starts a frame)
        self._head = b""  # a length prefix split across blocks
        self._broken = False  # a length no frame can have: the decoder will say so; stop judging

    def feed(self, data: bytes) -> bool:
        if self._broken:
            return True
        ended = False
        pos, size = 0, len(data)
        while True:
            if self._left:
                step = min(self._left, size - pos)
                self._left -= step
                pos += step
                if self._left:
                    return ended
                ended = True
            if pos >= size:
                return ended
            head = self._head + data[pos : pos + 4 - len(self._head)]
            pos += len(head) - len(self._head)
            if len(head) < 4:
                self._head = head
                return ended
            self._head = b""
            total = int.from_bytes(head, "big")
            if total < 16:  # prelude (12) and message CRC (4) at the least
                self._broken = True
                return True
            self._left = total - 4
