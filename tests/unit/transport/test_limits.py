"""The per-origin connection cap and the DNS cache, against real origins on loopback."""

from __future__ import annotations

import asyncio
import time

from switchgear.config.model import Timeouts, UpstreamSettings
from switchgear.core.errors import UpstreamTimeout
from switchgear.transport.client import HttpClient, HttpRequest
from tests.fakes.origin import ANSWER, Origin

FAST = Timeouts(connect=2.0, first_byte=3.0, chunk_gap=2.0, total=5.0)


async def ask(client: HttpClient, url: str, timeouts: Timeouts = FAST) -> bytes:
    response = await client.send(HttpRequest("POST", url, {}, b"{}"), timeouts, "p")
    return await response.read()


async def test_the_per_origin_cap_holds_and_leaves_other_origins_alone() -> None:
    slow = await Origin(delay=0.3).start()
    other = await Origin().start()
    client = HttpClient(UpstreamSettings(max_connections=10, max_connections_per_origin=2))
    await client.start()
    try:
        started = time.monotonic()
        queued = [asyncio.ensure_future(ask(client, slow.url())) for _ in range(6)]
        await asyncio.sleep(0.05)
        assert await ask(client, other.url()) == ANSWER  # not stuck behind the slow origin's line
        assert time.monotonic() - started < 0.25
        assert await asyncio.gather(*queued) == [ANSWER] * 6
        assert slow.most_open == 2 and slow.connections == 2  # three rounds over two connections
        assert time.monotonic() - started >= 0.85
    finally:
        await client.close()
        await slow.stop()
        await other.stop()


async def test_waiting_for_an_origin_slot_is_fifo_and_bounded_by_the_first_byte_deadline() -> None:
    slow = await Origin(delay=0.4, close=True).start()  # each answer closes: slots are handed on
    client = HttpClient(UpstreamSettings(max_connections_per_origin=1))
    await client.start()
    done: list[int] = []

    async def numbered(i: int) -> None:
        await ask(client, slow.url())
        done.append(i)

    try:
        tasks = [asyncio.ensure_future(numbered(i)) for i in range(3)]
        await asyncio.sleep(0.05)
        short = Timeouts(connect=1.0, first_byte=0.2, chunk_gap=1.0, total=1.0)
        try:
            await ask(client, slow.url(), short)
            raise AssertionError("expected a timeout")
        except UpstreamTimeout as exc:
            assert "waiting for a free connection" in str(exc)
        await asyncio.gather(*tasks)
        assert done == [0, 1, 2] and slow.most_open == 1 and slow.connections == 3
    finally:
        await client.close()
        await slow.stop()


async def test_dns_answers_are_reused_for_their_ttl() -> None:
    origin = await Origin(close=True).start()  # a new connection for every request
    url = origin.url("localhost")
    cached = HttpClient(UpstreamSettings(dns_ttl="30s"))  # type: ignore[arg-type]
    uncached = HttpClient(UpstreamSettings(dns_ttl=0))
    short = HttpClient(UpstreamSettings(dns_ttl="100ms"))  # type: ignore[arg-type]
    for client in (cached, uncached, short):
        await client.start()
    try:
        for _ in range(3):
            assert await ask(cached, url) == ANSWER
            assert await ask(uncached, url) == ANSWER
        assert cached.resolver is not None and cached.resolver.lookups == 1
        assert uncached.resolver is not None and uncached.resolver.lookups == 3
        # Concurrent new connections share one lookup.
        await asyncio.gather(*(ask(short, url) for _ in range(5)))
        assert short.resolver is not None and short.resolver.lookups == 1
        await asyncio.sleep(0.15)  # the answer expired
        assert await ask(short, url) == ANSWER
        assert short.resolver.lookups == 2
        # IP literals are never looked up.
        assert await ask(cached, origin.url()) == ANSWER
        assert cached.resolver.lookups == 1
        assert origin.connections == 3 + 3 + 5 + 1 + 1
    finally:
        for client in (cached, uncached, short):
            await client.close()
        await origin.stop()
