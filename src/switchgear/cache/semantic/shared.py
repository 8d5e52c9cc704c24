"""Semantic entries shared by every worker and replica through Redis.

Each stored question goes on a Redis stream (``<prefix>semantic``, capped near
``cache.semantic.max_entries``) as its entry id, partition, text, expiry and vector; the answer
itself is in the exact cache's Redis backend under that id. Each process reads the stream whole
when it starts (rebuilding its index: the stream is what persists) and then follows it, so an
answer stored by one replica can answer a paraphrase on any other. A Redis that cannot be reached
only delays this (retried every second, logged at most every 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import numpy as np
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchgear.cache.semantic.guard import features
from switchgear.cache.semantic.index import IndexEntry, VectorIndex

log = logging.getLogger("switchgear.cache")
_BATCH = 1000
_LOG_EVERY = 10.0


class SemanticShare:
    def __init__(self, url: str, prefix: str, index: VectorIndex, block_ms: int = 1000) -> None:
        self.stream = prefix + "semantic"
        self.index = index
        self.block_ms = block_ms
        self.received = 0
        self.errors = 0
        self._redis: Redis = Redis.from_url(url, socket_timeout=block_ms / 1000 + 5)
        self._last = "0-0"
        self._task: asyncio.Task[None] | None = None
        self._logged = 0.0

    async def start(self) -> None:
        """Read the whole stream (the index as the replicas built it), then follow it."""
        try:
            await self._read_all()
        except (RedisError, OSError) as exc:
            self._failed("read", exc)
        self._task = asyncio.get_running_loop().create_task(self._follow(), name="semantic-cache-share")

    async def _read_all(self) -> None:
        while True:
            found: Any = await self._redis.xrange(self.stream, min=f"({self._last}", count=_BATCH)
            for message_id, fields in found:
                self._take(message_id, fields)
            if len(found) < _BATCH:
                return

    async def _follow(self) -> None:
        while True:
            try:
                answer: Any = await self._redis.xread(
                    {self.stream: self._last}, count=_BATCH, block=self.block_ms
                )
                for _, messages in answer or ():
                    for message_id, fields in messages:
                        self._take(message_id, fields)
            except (RedisError, OSError) as exc:
                self._failed("follow", exc)
                await asyncio.sleep(1.0)

    def _take(self, message_id: bytes, fields: dict[bytes, bytes]) -> None:
        self._last = message_id.decode()
        try:
            entry_id, partition, text, expires = orjson.loads(fields[b"e"])
            vector = np.frombuffer(fields[b"v"], dtype=np.float32).copy()
        except (KeyError, ValueError, TypeError):
            return
        if expires <= time.time():
            return
        self.index.add(IndexEntry(entry_id, partition, text, features(text), float(expires), vector))
        self.received += 1

    async def publish(self, entry: IndexEntry) -> None:
        fields: dict[Any, Any] = {
            "e": orjson.dumps([entry.id, entry.partition, entry.text, entry.expires]),
            "v": np.ascontiguousarray(entry.vector, dtype=np.float32).tobytes(),
        }
        try:
            await self._redis.xadd(self.stream, fields, maxlen=self.index.max_entries, approximate=True)
        except (RedisError, OSError) as exc:
            self._failed("publish", exc)

    def _failed(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._logged >= _LOG_EVERY:
            self._logged = now
            log.warning("semantic cache %s in Redis failed (%d so far): %s", what, self.errors, exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
