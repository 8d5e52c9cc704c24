from __future__ import annotations

import pytest

from switchgear.cache.controls import DEFAULT, read_controls
from switchgear.core.errors import InvalidRequest


def test_no_controls() -> None:
    assert read_controls(None, None) is DEFAULT


def test_headers() -> None:
    found = read_controls(
        {
            b"cache-control": b"no-cache, max-age=30",
            b"x-switchgear-cache-ttl": b"10m",
            b"x-switchgear-cache-namespace": b"blue",
        },
        None,
    )
    assert (found.lookup, found.store, found.max_age) == (False, True, 30)
    assert (found.ttl, found.namespace) == (600, "blue")
    assert read_controls({b"cache-control": b"no-store"}, None).store is False
    assert read_controls({b"x-switchgear-cache": b"Refresh"}, None).lookup is False
    assert read_controls({b"x-switchgear-cache-ttl": b"45"}, None).ttl == 45
    assert read_controls({b"cache-control": b"private"}, None).lookup is True  # others ignored


def test_body() -> None:
    found = read_controls(None, {"ttl": 60, "no_cache": True, "namespace": "n", "max_age": 0})
    assert (found.lookup, found.store, found.ttl, found.namespace, found.max_age) == (False, True, 60, "n", 0)
    assert read_controls(None, {"no_store": True}).store is False
    assert read_controls(None, {"no_store": False}).store is True


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({b"x-switchgear-cache": b"maybe"}, None),
        ({b"x-switchgear-cache-ttl": b"-1"}, None),
        ({b"x-switchgear-cache-ttl": b"0"}, None),
        ({b"x-switchgear-cache-namespace": b"has space"}, None),
        ({b"cache-control": b"max-age=abc"}, None),
        (None, []),
        (None, {"ttl": True}),
        (None, {"ttl": float("nan")}),
        (None, {"namespace": 3}),
        (None, {"unknown": 1}),
    ],
)
def test_refused(headers: dict[bytes, bytes] | None, body: object) -> None:
    with pytest.raises(InvalidRequest):
        read_controls(headers, body)
