"""Settle queues: finished requests' records leave the request path here.

One bounded queue per settle consumer, drained in batches by a background task of the worker's
event loop, so a slow consumer delays nobody else and a failing one fails no request. The request
path only queues the finished context (O(1), never waits); its record is built in the background,
once for all consumers. A woken consumer lingers (``server.settle.linger``, 5 ms) for more
records before it takes its batch. When the queue is full the configured overflow policy drops the
new record (``drop_new``) or the oldest one (``drop_old``), and counts it. Depth, drops and
failures are visible (``stats``) on the operations routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from switchgear.stages.base import Stage
from switchgear.stages.context import RequestContext
from switchgear.stages.record import RequestRecord

log = logging.getLogger("switchgear.settle")
Overflow = Literal["drop_new", "drop_old"]
_LOG_EVERY = 10.0  # seconds between two reports of the same consumer's drops or failures


@dataclass(frozen=True, slots=True)
class SettleStats:
    consumer: str
    bound: int
    overflow: str
    depth: int
    delivered: int
    dropped: int
    failed: int


class SettleQueue:
    def __init__(
        self, stage: Stage, *, size: int, overflow: Overflow, batch: int, linger: float = 0.0
    ) -> None:
        self.stage = stage
        self.linger = linger
        self.size = size
        self.overflow = overflow
        self.batch = batch
        self.delivered = 0
        self.dropped = 0
        self.failed = 0
        self._items: deque[RequestContext] = deque()
        self._wake: asyncio.Event | None = None
        self._idle = False
        self._task: asyncio.Task[None] | None = None
        self._reported_at = 0.0

    def put(self, record: RequestContext) -> None:
        """Queue a finished request; never blocks, never raises."""
        items = self._items
        if len(items) >= self.size:
            self.dropped += 1
            self._report(f"settle queue of {self.stage.name!r} is full ({self.size}): dropped a record")
            if self.overflow == "drop_new":
                return
            items.popleft()
        items.append(record)
        if self._idle and self._wake is not None:
            self._idle = False
            self._wake.set()

    def start(self) -> None:
        """Start draining (in the running event loop)."""
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def close(self, grace: float = 5.0) -> None:
        """Deliver what is queued (for up to ``grace`` seconds), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        deadline = time.monotonic() + grace
        while self._items and time.monotonic() < deadline and not task.done():
            if self._wake is not None:
                self._wake.set()
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def stats(self) -> SettleStats:
        return SettleStats(
            consumer=self.stage.name,
            bound=self.size,
            overflow=self.overflow,
            depth=len(self._items),
            delivered=self.delivered,
            dropped=self.dropped,
            failed=self.failed,
        )

    async def _drain(self) -> None:
        wake = self._wake
        assert wake is not None
        items = self._items
        while True:
            if not items:
                self._idle = True
                wake.clear()
                await wake.wait()
                # let the requests of this loop turn (and of ``linger``) add to the batch
                await asyncio.sleep(self.linger)
            count = min(len(items), self.batch)
            batch = [RequestRecord.of(items.popleft()) for _ in range(count)]
            try:
                await self.stage.settle(batch)
            except Exception:
                self.failed += count
                self._report(f"settle consumer {self.stage.name!r} failed on {count} record(s)", trace=True)
            else:
                self.delivered += count

    def _report(self, message: str, *, trace: bool = False) -> None:
        now = time.monotonic()
        if now - self._reported_at < _LOG_EVERY:
            return
        self._reported_at = now
        totals = f" (so far: {self.dropped} dropped, {self.failed} failed)"
        log.error(message + totals, exc_info=trace)
