"""Where cached answers live: in the process (bounded by bytes, least recently used first out,
each entry with its own expiry) or in Redis (shared by every worker and replica, keys under a
prefix, expiry by Redis). Both hold the stored form (``entry.dump_entry``: compressed bytes).

A backend's ``get`` never raises: an unreachable or slow Redis is a miss (the request goes to
its provider), logged at most every 10 s; ``put`` runs off the request path (settle).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("switchgear.cache")
_LOG_EVERY = 10.0


class Backend(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, blob: bytes, ttl: float) -> None: ...

    async def close(self) -> None: ...


# What an entry costs beyond its stored bytes: its key, the bytes object and the table's slot.
ENTRY_OVERHEAD = 200


class MemoryBackend:
    """Entries in this process: at most ``max_bytes`` of stored answers (each counted with its key
    and bookkeeping); the least recently used goes first when a new one would not fit; an expired
    entry is dropped when met."""

    def __init__(self, max_bytes: int, overhead: int = ENTRY_OVERHEAD) -> None:
        self.max_bytes = max_bytes
        self.overhead = overhead
        self.bytes = 0
        self.evicted = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # key → (expires, blob)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, blob = found
        if expires <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return blob

    async def put(self, key: str, blob: bytes, ttl: float) -> None:
        size = self._size(key, blob)
        if size > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        entries = self._entries
        while entries and self.bytes + size > self.max_bytes:
            oldest = next(iter(entries))
            self._drop(oldest)
            self.evicted += 1
        entries[key] = (time.monotonic() + ttl, blob)
        self.bytes += size

    def _size(self, key: str, blob: bytes) -> int:
        return len(blob) + len(key) + self.overhead

    def _drop(self, key: str) -> None:
        _, blob = self._entries.pop(key)
        self.bytes -= self._size(key, blob)

    async def close(self) -> None:
        self._entries.clear()
        self.bytes = 0


class RedisBackend:
    """Entries in Redis under ``prefix``, each with its own expiry (``SET ... PX``)."""

    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        self.prefix = prefix
        self.timeout = timeout
        self.errors = 0
        self._redis: Redis = Redis.from_url(url, socket_timeout=max(timeout, 1.0))
        self._logged = 0.0

    async def get(self, key: str) -> bytes | None:
        try:
            async with asyncio.timeout(self.timeout):  # no task per lookup, unlike wait_for
                found = await self._redis.get(self.prefix + key)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed("lookup", exc)
            return None
        return found if isinstance(found, bytes) else None

    async def put(self, key: str, blob: bytes, ttl: float) -> None:
        try:
            await self._redis.set(self.prefix + key, blob, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed("store", exc)

    def _failed(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._logged >= _LOG_EVERY:
            self._logged = now
            reason = str(exc) or type(exc).__name__
            log.warning("cache %s in Redis failed (%d so far): %s", what, self.errors, reason)

    async def close(self) -> None:
        await self._redis.aclose()
