"""The event-stream decoder against botocore's decoder, over every split, and on corrupt input."""

from __future__ import annotations

import struct
import zlib

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from switchgear.providers.bedrock.eventstream import (
    MAX_HEADERS,
    MAX_PAYLOAD,
    EventStreamDecoder,
    EventStreamError,
    Message,
    parse_headers,
)
from tests.unit.providers.bedrock.frames import encode_header, encode_message, event

UUID = bytes(range(16))
MESSAGES = [
    event("messageStart", {"role": "assistant"}),
    encode_message(
        [
            ("true", 0, True),
            ("false", 1, False),
            ("int8", 2, -7),
            ("int16", 3, -300),
            ("int32", 4, 2_000_000_000),
            ("int64", 5, -(2**62)),
            ("bytes", 6, b"\x00\xffraw"),
            ("string", 7, "Grüße ☀"),
            ("timestamp", 8, 1_767_225_600_000),
            ("uuid", 9, UUID),
        ],
        b'{"every":"type"}',
    ),
    encode_message([], b""),
    encode_message([(":message-type", 7, "event")], "x☀".encode() * 5000),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
]
STREAM = b"".join(MESSAGES)


def reference(data: bytes) -> list[Message]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(message.headers, message.payload) for message in buffer]


def decode_in_pieces(data: bytes, size: int) -> list[Message]:
    decoder = EventStreamDecoder()
    out: list[Message] = []
    for start in range(0, len(data), size):
        out.extend(decoder.feed(data[start : start + size]))
    assert decoder.pending == 0
    return out


def test_whole_stream_matches_botocore() -> None:
    ours = EventStreamDecoder().feed(STREAM)
    assert ours == reference(STREAM)
    assert len(ours) == len(MESSAGES)
    headers, payload = ours[1]
    assert headers == {
        "true": True,
        "false": False,
        "int8": -7,
        "int16": -300,
        "int32": 2_000_000_000,
        "int64": -(2**62),
        "bytes": b"\x00\xffraw",
        "string": "Grüße ☀",
        "timestamp": 1_767_225_600_000,
        "uuid": UUID,
    }
    assert payload == b'{"every":"type"}'


@pytest.mark.parametrize("size", [*range(1, 40), 97, 1000, 4096, 65536])
def test_any_split_decodes_the_same(size: int) -> None:
    assert decode_in_pieces(STREAM, size) == reference(STREAM)


def test_partial_message_waits_and_is_pending() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(MESSAGES[0][:-1]) == []
    assert decoder.pending == len(MESSAGES[0]) - 1
    assert len(decoder.feed(MESSAGES[0][-1:] + MESSAGES[4][:5])) == 1
    assert decoder.pending == 5


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("at", "what"),
    [(0, "prelude CRC"), (9, "prelude CRC"), (14, "message CRC"), (-5, "message CRC"), (-1, "message CRC")],
)
def test_corruption_is_caught_like_botocore(at: int, what: str) -> None:
    message = MESSAGES[4]
    bad = flip(message, at % len(message))
    with pytest.raises(EventStreamError, match=what):
        EventStreamDecoder().feed(bad)
    with pytest.raises(ChecksumMismatch):
        reference(bad)


def test_corruption_after_good_messages_fails_at_the_bad_one() -> None:
    decoder = EventStreamDecoder()
    assert len(decoder.feed(MESSAGES[0])) == 1
    with pytest.raises(EventStreamError, match="message CRC"):
        decoder.feed(flip(MESSAGES[4], 30))


def prelude(total: int, headers_length: int) -> bytes:
    head = struct.pack(">II", total, headers_length)
    return head + struct.pack(">I", zlib.crc32(head))


def test_oversized_lengths_fail_before_buffering_the_message() -> None:
    with pytest.raises(EventStreamError, match="headers length"):
        EventStreamDecoder().feed(prelude(16 + MAX_HEADERS + 1, MAX_HEADERS + 1))
    with pytest.raises(EventStreamError, match="payload length"):
        EventStreamDecoder().feed(prelude(16 + MAX_PAYLOAD + 1, 0))
    with pytest.raises(EventStreamError, match="shorter"):
        EventStreamDecoder().feed(prelude(20, 10))


def test_largest_allowed_payload_decodes() -> None:
    message = encode_message([], b"p" * MAX_PAYLOAD)
    [(headers, payload)] = decode_in_pieces(message, 1 << 20)
    assert headers == {}
    assert len(payload) == MAX_PAYLOAD


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (encode_header("a", 7, "x")[:-1], "cut short"),
        (encode_header("a", 4, 1)[:-2], "cut short"),
        (encode_header("a", 9, UUID)[:-1], "cut short"),
        (b"\x05ab", "cut short"),
        (b"\x01a\x0a", "unknown value type 10"),
        (encode_header("a", 0, True) + encode_header("a", 1, False), "repeated"),
        (b"\x02\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_bad_headers(raw: bytes, what: str) -> None:
    with pytest.raises(EventStreamError, match=what):
        parse_headers(raw)


def test_bad_headers_inside_a_valid_frame() -> None:
    head = b"\x01a\x0a"
    total = 16 + len(head)
    body = prelude(total, len(head)) + head
    frame = body + struct.pack(">I", zlib.crc32(body))
    with pytest.raises(EventStreamError, match="unknown value type"):
        EventStreamDecoder().feed(frame)
