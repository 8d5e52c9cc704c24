"""The reaper: a background task that returns expired reservations and leases, at an interval.

A worker that crashed, was killed or lost its settle leaves reservations behind; each carries an
expiry (the request's deadline plus a margin), after which the reaper gives its reserved money and
its leases back. Every replica may run one: the backend's reap is atomic, so a reservation is
returned once. Failures (the backend unreachable) are counted and logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from switchgear.state.protocol import StateBackend

log = logging.getLogger("switchgear.state")


class Reaper:
    def __init__(self, backend: StateBackend, interval_s: float = 5.0) -> None:
        self.backend = backend
        self.interval_s = interval_s
        self.runs = 0
        self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._logged_at = 0.0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="state-reaper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        try:
            reaped = await self.backend.reap()
        except Exception as exc:  # a task boundary: count it, say so, go on
            self.failures += 1
            if time.monotonic() - self._logged_at >= 60:
                self._logged_at = time.monotonic()
                log.warning("state reaper failed (%d failures so far): %s", self.failures, exc)
            return 0
        self.runs += 1
        if reaped:
            log.info("state reaper returned %d expired reservations", reaped)
        return reaped

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.run_once()
