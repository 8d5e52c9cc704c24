"""How the simulated Bedrock frames what it sends besides Converse JSON: event streams and errors.

ConverseStream answers in the AWS event-stream binary framing: each message is a 12-byte prelude
(big-endian total length, headers length, CRC32 of those eight bytes), typed headers, a payload
and a CRC32 of everything before it. Only string headers (type 7) are written: ``:event-type`` /
``:content-type`` / ``:message-type: event`` for events, ``:exception-type`` / ``:content-type`` /
``:message-type: exception`` for mid-stream errors. :func:`corrupt` yields a frame with a bad
message CRC for ``malformed_after``, and :func:`decode` reads a stream back for tests that look at
the raw bytes. HTTP errors are a ``{"message"}`` body named by an ``x-amzn-ErrorType:
<Name>:<namespace URL>`` header (:func:`aws_error`), with Bedrock's exception name per status.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import Reject

CONTENT_TYPE = "application/vnd.amazon.eventstream"
PRELUDE_LENGTH = 12
_STRING = 7
# value type -> fixed size in bytes (types 6 and 7 carry a uint16 length instead)
_FIXED_SIZES = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


class FramingError(ValueError):
    """A byte string that is not a well-formed sequence of event-stream messages."""


@dataclass(frozen=True)
class Message:
    """One decoded event-stream message (header values of non-string types are left raw)."""

    headers: dict[str, Any]
    payload: bytes


def encode(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    """One message with string-valued ``headers`` and ``payload``, both CRCs correct."""
    block = bytearray()
    for name, value in headers:
        raw_name, raw_value = name.encode(), value.encode()
        block += struct.pack(">B", len(raw_name)) + raw_name
        block += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    total = PRELUDE_LENGTH + len(block) + len(payload) + 4
    prelude = struct.pack(">II", total, len(block))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + bytes(block) + payload
    return head + struct.pack(">I", zlib.crc32(head))


def event(event_type: str, document: object) -> bytes:
    """An ``event`` message whose payload is the JSON ``document``."""
    headers = [
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ]
    return encode(headers, text.dumps(document))


def exception(exception_type: str, message: str) -> bytes:
    """An ``exception`` message (e.g. ``throttlingException``) with a ``{"message"}`` payload."""
    headers = [
        (":exception-type", exception_type),
        (":content-type", "application/json"),
        (":message-type", "exception"),
    ]
    return encode(headers, text.dumps({"message": message}))


def corrupt(frame: bytes) -> bytes:
    """``frame`` with its message CRC inverted: structurally whole, but fails the checksum."""
    crc = struct.unpack(">I", frame[-4:])[0]
    return frame[:-4] + struct.pack(">I", crc ^ 0xFFFFFFFF)


def _headers(block: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    offset = 0
    while offset < len(block):
        size = block[offset]
        name = block[offset + 1 : offset + 1 + size].decode()
        offset += 1 + size
        kind = block[offset]
        offset += 1
        value: Any
        if kind in (6, _STRING):
            (length,) = struct.unpack(">H", block[offset : offset + 2])
            raw = block[offset + 2 : offset + 2 + length]
            value = raw.decode() if kind == _STRING else raw
            offset += 2 + length
        elif kind in _FIXED_SIZES:
            width = _FIXED_SIZES[kind]
            value = kind == 0 if width == 0 else block[offset : offset + width]
            offset += width
        else:
            raise FramingError(f"unknown header value type {kind}")
        headers[name] = value
    if offset != len(block):
        raise FramingError("header block overruns its declared length")
    return headers


def decode(data: bytes) -> list[Message]:
    """Every message in ``data``; :class:`FramingError` on a truncated frame or a bad CRC."""
    messages: list[Message] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < PRELUDE_LENGTH + 4:
            raise FramingError(f"truncated message at byte {offset}")
        total, headers_length, prelude_crc = struct.unpack(">III", data[offset : offset + PRELUDE_LENGTH])
        if zlib.crc32(data[offset : offset + 8]) != prelude_crc:
            raise FramingError(f"prelude CRC mismatch at byte {offset}")
        end = offset + total
        if end > len(data) or total < PRELUDE_LENGTH + headers_length + 4:
            raise FramingError(f"truncated message at byte {offset}")
        (message_crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[offset : end - 4]) != message_crc:
            raise FramingError(f"message CRC mismatch at byte {offset}")
        start = offset + PRELUDE_LENGTH
        headers = _headers(data[start : start + headers_length])
        messages.append(Message(headers, data[start + headers_length : end - 4]))
        offset = end
    return messages


_ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "ValidationException",
        "Input validation failed. Check your request parameters and retry the request.",
    ),
    401: ("UnrecognizedClientException", "The security token included in the request is invalid."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: (
        "ResourceNotFoundException",
        "Could not resolve the foundation model from the provided model identifier.",
    ),
    408: (
        "ModelTimeoutException",
        "The request took too long to process. Processing time exceeded the model timeout length.",
    ),
    409: ("ConflictException", "The request conflicts with the current state of the resource."),
    424: ("ModelErrorException", "The request failed due to an error while processing the model."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: (
        "InternalServerException",
        "The server encountered an internal error while processing the request.",
    ),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
_DEFAULT_MESSAGES = dict(_ERRORS.values())


def error_name(status: int) -> str:
    """Bedrock's exception name for an HTTP status (Validation/InternalServer for the others)."""
    known = _ERRORS.get(status)
    if known is not None:
        return known[0]
    return "InternalServerException" if status >= 500 else "ValidationException"


def aws_error(
    status: int, name: str | None = None, message: str | None = None, *, namespace: str = "com.amazon.bedrock"
) -> web.Response:
    """A Bedrock error answer: ``{"message"}`` and ``x-amzn-ErrorType: <Name>:<namespace URL>``."""
    name = name or error_name(status)
    body = message if message is not None else _DEFAULT_MESSAGES.get(name, f"{name} (HTTP {status}).")
    headers = {"x-amzn-ErrorType": f"{name}:http://internal.amazon.com/coral/{namespace}/"}
    return web.Response(
        status=status, body=text.dumps({"message": body}), content_type="application/json", headers=headers
    )


def aws_reject(message: str, name: str = "ValidationException", status: int = 400, **kw: str) -> Reject:
    """A :class:`Reject` carrying :func:`aws_error` (raise it from a handler)."""
    return Reject(aws_error(status, name, message, **kw))
