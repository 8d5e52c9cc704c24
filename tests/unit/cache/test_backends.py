from __future__ import annotations

import asyncio

from switchgear.cache.backends import MemoryBackend


def test_memory_backend_is_bounded_by_bytes_and_least_recently_used_goes_first() -> None:
    async def run() -> None:
        backend = MemoryBackend(max_bytes=33, overhead=0)
        await backend.put("a", b"x" * 10, 60)
        await backend.put("b", b"y" * 10, 60)
        await backend.put("c", b"z" * 10, 60)
        assert await backend.get("a") == b"x" * 10  # a is now the most recently used
        await backend.put("d", b"w" * 10, 60)  # b goes
        assert await backend.get("b") is None
        assert await backend.get("a") is not None and await backend.get("d") is not None
        assert backend.bytes == 33 and backend.evicted == 1
        await backend.put("huge", b"h" * 33, 60)  # never fits: not stored, nothing evicted for it
        assert await backend.get("huge") is None and len(backend) == 3
        await backend.put("a", b"x" * 5, 60)  # replaced, not counted twice
        assert backend.bytes == 28

    asyncio.run(run())


def test_memory_backend_expires_entries() -> None:
    async def run() -> None:
        backend = MemoryBackend(max_bytes=100, overhead=0)
        await backend.put("a", b"x", 0.05)
        assert await backend.get("a") == b"x"
        await asyncio.sleep(0.08)
        assert await backend.get("a") is None
        assert backend.bytes == 0

    asyncio.run(run())


def test_each_entry_counts_its_key_and_overhead() -> None:
    async def run() -> None:
        backend = MemoryBackend(max_bytes=1000)
        await backend.put("k" * 40, b"x" * 100, 60)
        assert backend.bytes == 100 + 40 + backend.overhead > 140

    asyncio.run(run())
