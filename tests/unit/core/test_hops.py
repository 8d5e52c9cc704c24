"""The hop count: refused past the limit, one more on the way out, private to each request."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from switchgear.core.errors import InvalidRequest, LoopDetected
from switchgear.core.hops import admit, next_hop


def in_fresh_context(value: bytes | None, limit: int = 3) -> str:
    def run() -> str:
        admit(value, limit)
        return next_hop()

    return contextvars.Context().run(run)


@pytest.mark.parametrize(("value", "sent"), [(None, "1"), (b"0", "1"), (b"2", "3"), (b" 3 ", "4")])
def test_the_upstream_request_carries_one_more_hop(value: bytes | None, sent: str) -> None:
    assert in_fresh_context(value) == sent


@pytest.mark.parametrize("value", [b"4", b"1000000", b"9" * 5000])
def test_past_the_limit_is_a_loop(value: bytes) -> None:
    with pytest.raises(LoopDetected) as caught:
        in_fresh_context(value)
    assert caught.value.status == 508 and caught.value.code == "loop_detected"
    assert "server.max_hops (3)" in caught.value.message and len(caught.value.message) < 300


@pytest.mark.parametrize("value", [b"", b"-1", b"two", b"1.5", b"\xff"])
def test_a_malformed_count_is_a_client_error(value: bytes) -> None:
    with pytest.raises(InvalidRequest):
        in_fresh_context(value)


async def test_concurrent_requests_keep_their_own_count() -> None:
    async def request(value: bytes) -> str:
        admit(value, 10)
        await asyncio.sleep(0.01)  # the other request runs meanwhile
        return next_hop()

    assert await asyncio.gather(request(b"1"), request(b"5"), asyncio.create_task(request(b"7"))) == [
        "2",
        "6",
        "8",
    ]
    assert next_hop() == "1"  # nothing leaked into the caller's context
