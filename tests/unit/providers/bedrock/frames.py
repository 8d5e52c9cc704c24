"""A small AWS event-stream encoder for the tests (botocore only decodes), and event builders."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

# (name, value type, value); value types as in the framing: 0 true ... 9 uuid
Header = tuple[str, int, Any]


def encode_header(name: str, value_type: int, value: Any) -> bytes:
    raw_name = name.encode("utf-8")
    out = struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">B", value_type)
    match value_type:
        case 0 | 1:
            return out
        case 2:
            return out + struct.pack(">b", value)
        case 3:
            return out + struct.pack(">h", value)
        case 4:
            return out + struct.pack(">i", value)
        case 5 | 8:
            return out + struct.pack(">q", value)
        case 6:
            return out + struct.pack(">H", len(value)) + bytes(value)
        case 7:
            raw = str(value).encode("utf-8")
            return out + struct.pack(">H", len(raw)) + raw
        case 9:
            assert len(value) == 16
            return out + bytes(value)
    raise ValueError(value_type)


def encode_message(headers: list[Header], payload: bytes) -> bytes:
    head = b"".join(encode_header(*h) for h in headers)
    total = 16 + len(head) + len(payload)
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(name: str, payload: dict[str, Any]) -> bytes:
    return encode_message(
        [
            (":event-type", 7, name),
            (":content-type", 7, "application/json"),
            (":message-type", 7, "event"),
        ],
        json.dumps(payload, separators=(",", ":")).encode(),
    )


def exception(name: str, payload: dict[str, Any]) -> bytes:
    return encode_message(
        [
            (":exception-type", 7, name),
            (":content-type", 7, "application/json"),
            (":message-type", 7, "exception"),
        ],
        json.dumps(payload).encode(),
    )


def error(code: str, message: str) -> bytes:
    return encode_message(
        [(":error-code", 7, code), (":error-message", 7, message), (":message-type", 7, "error")], b""
    )
