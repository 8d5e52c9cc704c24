"""The spend log writer: one row per finished request, written to the database in batches, off the
request path.

A settle consumer. ``settle`` only turns records into ``SpendRow``s and holds them in a bounded
buffer (``governance.spend_log.buffer``); a background task writes them with
``storage.spend.record_spend``, ``batch_size`` rows per transaction, as soon as a batch is full
and at least every ``flush_interval``. While the database is unreachable or a write fails, the
rows stay in the buffer and the batch is tried again with growing pauses (0.5 s doubling to 30 s);
rows are keyed by request id, so a batch that reached the database before its answer was lost is
stored once all the same. A full buffer drops per ``overflow`` and counts it. The counters
(``stats``) are kept for metrics; changes of state are logged (never a password or a query).
When the worker stops, ``close`` writes what is held for a bounded time.

With ``storage.spend_log_retention_days`` set, raw rows older than that are deleted at start and
every six hours (the daily rollup keeps their totals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from switchgear.config.model import Settings
from switchgear.observability.spend_buffer import SpendBuffer
from switchgear.observability.spend_rows import describe_error, refused_unauthenticated, spend_row
from switchgear.stages.base import Stage
from switchgear.stages.record import RequestRecord
from switchgear.storage import Database
from switchgear.storage.migrate import upgrade
from switchgear.storage.spend import apply_retention, record_spend

log = logging.getLogger("switchgear.spend_log")
_LOG_EVERY = 10.0  # seconds between two reports of drops
_RETENTION_EVERY = 6 * 3600.0
_RETENTION_RETRY = 300.0


@dataclass(frozen=True, slots=True)
class SpendLogStats:
    written: int  # rows stored by this worker
    batches: int  # transactions that stored rows
    retried_batches: int  # writes that failed (their rows were kept and tried again)
    dropped: int  # rows lost: a full buffer, or still unwritten when the worker stopped
    buffered: int  # rows waiting now
    failing: bool  # the last write failed
    last_error: str | None  # what the last failed write said (None: none failed yet)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses between tries of a failing write: ``first`` doubling up to ``most``, ±20 %."""

    first: float = 0.5
    most: float = 30.0

    def after(self, failures: int) -> float:
        pause = min(self.most, self.first * 2.0 ** max(0, failures - 1))
        return pause * random.uniform(0.8, 1.2)


class SpendLog(Stage):
    """``database`` is used only once the worker has started. ``owns_database``: this stage opens
    it (migrating it when ``storage.migrate_on_start``) and closes it; otherwise whoever passed it does.
    """

    name = "spend_log"

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        owns_database: bool = False,
        backoff: Backoff = Backoff(),
        write_timeout: float = 30.0,
        close_grace: float = 5.0,
    ) -> None:
        config = settings.governance.spend_log
        self.database = database
        self.batch_size = config.batch_size
        self.flush_interval = config.flush_interval
        self.retention_days = settings.storage.spend_log_retention_days
        self.owns_database = owns_database
        self.migrate = owns_database and settings.storage.migrate_on_start
        self.backoff = backoff
        self.write_timeout = write_timeout
        self.close_grace = close_grace
        self.buffer = SpendBuffer(config.buffer, config.overflow)
        self.written = 0
        self.batches = 0
        self.retried_batches = 0
        self.last_error: str | None = None
        self.failures = 0  # consecutive failed writes
        self._closing = False
        self._full: asyncio.Event | None = None
        self._stopping = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._retention: asyncio.Task[None] | None = None
        self._dropped_reported = 0
        self._dropped_reported_at = 0.0
        self.unauthenticated = 0  # requests refused for a missing or invalid key: never written

    def stats(self) -> SpendLogStats:
        return SpendLogStats(
            written=self.written,
            batches=self.batches,
            retried_batches=self.retried_batches,
            dropped=self.buffer.dropped,
            buffered=len(self.buffer),
            failing=self.failures > 0,
            last_error=self.last_error,
        )

    async def start(self) -> None:
        if self.migrate:
            await upgrade(self.database)
        self._closing = False
        self._full = asyncio.Event()
        self._stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_forever(), name="spend-log-writer")
        if self.retention_days is not None:
            self._retention = loop.create_task(self._retain_forever(), name="spend-log-retention")

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        buffer = self.buffer
        for record in records:
            if refused_unauthenticated(record):
                self.unauthenticated += 1
                continue
            buffer.add(spend_row(record))
        if buffer.dropped != self._dropped_reported:
            self._report_drops()
        if self._full is not None and buffer.waiting >= self.batch_size:
            self._full.set()

    async def close(self) -> None:
        """Write what is held (for up to ``close_grace`` seconds), then stop."""
        self._closing = True
        self._stopping.set()
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
            self._retention = None
        writer, self._writer = self._writer, None
        if writer is not None:
            if self._full is not None:
                self._full.set()
            with contextlib.suppress(TimeoutError):  # wait_for cancels it: its batch goes back
                await asyncio.wait_for(writer, self.close_grace)
        left = self.buffer.clear()
        if left:
            log.error(
                "spend log: %d row(s) not written at shutdown (%s)", left, self.last_error or "no time left"
            )
        if self.owns_database:
            await self.database.close()

    async def _write_forever(self) -> None:
        full = self._full
        assert full is not None
        due = time.monotonic() + self.flush_interval
        while True:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(full.wait(), max(0.0, due - time.monotonic()))
                full.clear()
            everything = self._closing or time.monotonic() >= due
            await self._write_held(everything)
            if self._closing:
                return
            if everything:
                due = time.monotonic() + self.flush_interval

    async def _write_held(self, everything: bool) -> None:
        """Write the full batches held (``everything``: every held row), batch by batch; after a
        failure pause, then try again."""
        while self.buffer.waiting >= self.batch_size or (everything and self.buffer.waiting):
            if await self._write_batch():
                continue
            pause = self.backoff.after(self.failures)
            if self._closing:
                await asyncio.sleep(min(pause, 0.25))
            else:  # a pause that ``close`` cuts short
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)

    async def _write_batch(self) -> bool:
        batch = self.buffer.take(self.batch_size)
        try:
            async with asyncio.timeout(self.write_timeout):
                stored = await record_spend(self.database, batch)
        except Exception as exc:
            self.buffer.put_back(batch)
            self._failed(exc)
            return False
        except BaseException:  # cancelled (shutdown): the rows stay held
            self.buffer.put_back(batch)
            raise
        self.buffer.written()
        self.written += stored
        self.batches += 1
        if self.failures:
            log.warning(
                "spend log: database writes resumed after %d failed attempt(s); %d row(s) held",
                self.failures,
                len(self.buffer),
            )
            self.failures = 0
        return True

    def _failed(self, exc: Exception) -> None:
        error = describe_error(exc)
        self.retried_batches += 1
        self.failures += 1
        if self.failures == 1 or error != self.last_error:
            log.warning(
                "spend log: cannot write to the database (%s); %d row(s) held, trying again",
                error,
                len(self.buffer),
            )
        self.last_error = error

    def _report_drops(self) -> None:
        now = time.monotonic()
        if now - self._dropped_reported_at < _LOG_EVERY:
            return
        self._dropped_reported_at = now
        self._dropped_reported = self.buffer.dropped
        log.error(
            "spend log: buffer full (%d rows, %s): %d row(s) dropped so far",
            self.buffer.bound,
            self.buffer.overflow,
            self.buffer.dropped,
        )

    async def _retain_forever(self) -> None:
        days = self.retention_days
        assert days is not None
        while True:
            try:
                deleted = await apply_retention(self.database, days)
            except Exception as exc:
                log.warning("spend log: retention failed (%s); trying again later", describe_error(exc))
                await asyncio.sleep(_RETENTION_RETRY)
                continue
            if deleted:
                log.info("spend log: deleted %d row(s) older than %d day(s)", deleted, days)
            await asyncio.sleep(_RETENTION_EVERY)
