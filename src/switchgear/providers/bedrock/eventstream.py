"""Incremental decoder of the AWS binary event-stream framing (``application/vnd.amazon.eventstream``).

A message is: uint32 total length, uint32 headers length, uint32 CRC32 of those eight bytes,
the headers (each: uint8 name length, UTF-8 name, uint8 value type, typed value), the payload,
and a uint32 CRC32 of everything before it; integers are big-endian, CRCs are IEEE (``zlib``).
``EventStreamDecoder.feed`` takes bytes split anywhere and returns ``(headers, payload)`` per
complete message. Both CRCs are checked, and the lengths are bounded (headers 128 KiB, payload
24 MiB, as botocore bounds them) before anything is buffered beyond one prelude, so a garbled or
hostile stream fails fast instead of exhausting memory. Failures raise ``EventStreamError``.
"""

from __future__ import annotations

import struct
import zlib

MAX_HEADERS = 128 * 1024
MAX_PAYLOAD = 24 * 1024 * 1024
_PRELUDE = 12  # total length, headers length, prelude CRC
_OVERHEAD = 16  # prelude + message CRC

HeaderValue = str | int | bool | bytes
Message = tuple[dict[str, HeaderValue], bytes]

_INTS = {2: (">b", 1), 3: (">h", 2), 4: (">i", 4), 5: (">q", 8), 8: (">q", 8)}  # 8: timestamp, ms


class EventStreamError(Exception):
    """The bytes are not a well-formed event stream (bad CRC, length or header)."""


class EventStreamDecoder:
    """Splits an event stream into messages, over any split of its bytes."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received after the last complete message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        """Add ``data``; return the messages now complete, in order."""
        buf = self._buf
        buf += data
        messages: list[Message] = []
        pos = 0
        while len(buf) - pos >= _PRELUDE:
            total, headers_length, prelude_crc = struct.unpack_from(">III", buf, pos)
            if zlib.crc32(buf[pos : pos + 8]) != prelude_crc:
                raise EventStreamError("prelude CRC mismatch")
            if headers_length > MAX_HEADERS:
                raise EventStreamError(f"headers length {headers_length} exceeds {MAX_HEADERS}")
            if total < _OVERHEAD + headers_length:
                raise EventStreamError(f"total length {total} is shorter than its headers and CRCs")
            if total - _OVERHEAD - headers_length > MAX_PAYLOAD:
                raise EventStreamError(f"payload length exceeds {MAX_PAYLOAD}")
            if len(buf) - pos < total:
                break
            end = pos + total
            (message_crc,) = struct.unpack_from(">I", buf, end - 4)
            if zlib.crc32(memoryview(buf)[pos : end - 4]) != message_crc:
                raise EventStreamError("message CRC mismatch")
            headers_end = pos + _PRELUDE + headers_length
            headers = parse_headers(bytes(buf[pos + _PRELUDE : headers_end]))
            messages.append((headers, bytes(buf[headers_end : end - 4])))
            pos = end
        if pos:
            del buf[:pos]
        return messages


def parse_headers(data: bytes) -> dict[str, HeaderValue]:
    """The headers section of one message as a dict (a repeated name is an error)."""
    headers: dict[str, HeaderValue] = {}
    pos = 0
    size = len(data)
    try:
        while pos < size:
            name_length = data[pos]
            raw_name = data[pos + 1 : pos + 1 + name_length]
            if len(raw_name) != name_length:
                raise EventStreamError("a header name is cut short")
            name = raw_name.decode("utf-8")
            pos += 1 + name_length
            value_type = data[pos]
            pos += 1
            value: HeaderValue
            match value_type:
                case 0:
                    value = True
                case 1:
                    value = False
                case 2 | 3 | 4 | 5 | 8:
                    fmt, width = _INTS[value_type]
                    (value,) = struct.unpack_from(fmt, data, pos)
                    pos += width
                case 6 | 7:
                    (length,) = struct.unpack_from(">H", data, pos)
                    raw = data[pos + 2 : pos + 2 + length]
                    if len(raw) != length:
                        raise EventStreamError(f"header {name!r} is cut short")
                    value = raw.decode("utf-8") if value_type == 7 else raw
                    pos += 2 + length
                case 9:
                    value = data[pos : pos + 16]
                    if len(value) != 16:
                        raise EventStreamError(f"header {name!r} is cut short")
                    pos += 16
                case _:
                    raise EventStreamError(f"header {name!r} has unknown value type {value_type}")
            if name in headers:
                raise EventStreamError(f"header {name!r} is repeated")
            headers[name] = value
    except (IndexError, struct.error):
        raise EventStreamError("a header is cut short") from None
    except UnicodeDecodeError:
        raise EventStreamError("a header name or string value is not UTF-8") from None
    if pos != size:
        raise EventStreamError("a header is cut short")
    return headers
