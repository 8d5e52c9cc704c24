"""SSE helpers: an event's data replaced, its other lines kept."""

from __future__ import annotations

import pytest

from switchgear.transport.sse import data_of, with_data


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (b'data: {"a":1}', b"data: {}"),
        (b'event: message_delta\ndata: {"a":1}', b"event: message_delta\ndata: {}"),
        (b"id: 7\ndata: {\ndata: }\nretry: 5", b"id: 7\ndata: {}\nretry: 5"),  # multi-line data: one line
        (b": a comment\ndata:{}", b": a comment\ndata: {}"),
        (b"event: ping", b"event: ping\ndata: {}"),
    ],
)
def test_with_data(event: bytes, expected: bytes) -> None:
    assert with_data(event, b"{}") == expected
    assert data_of(with_data(event, b'{"b":2}')) == b'{"b":2}'
