"""Settles the state backend could not take when a request ended (Redis unreachable), tried again.

A request that ends while the shared state backend is down cannot move its reservation to its
actual cost then. Giving up would leave the reservation to the reaper, which returns the reserved
money but records no spend: what the request cost would vanish from its budgets' counters (the
durable ledger has it, but seeds the backend only at start-up). So the settle is kept here and
tried again every second, off the request path, until the backend answers. Settle and release are
idempotent by reservation id, and a settle that arrives after the reaper records its spend without
releasing twice, so a retry never counts anything twice. At most ``bound`` settles are kept; past
that the oldest is given up (counted, logged) and its reservation left to the reaper.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from switchgear.state import StateBackend
from switchgear.state.types import Settlement

log = logging.getLogger("switchgear.keys")
RETRY_INTERVAL_S = 1.0
_BOUND = 100_000


@dataclass(frozen=True, slots=True)
class _Settle:
    cost_microusd: int
    tokens: int
    release: bool  # nothing billable: give the reservation back


class UnsettledQueue:
    def __init__(
        self,
        state: StateBackend,
        on_settled: Callable[[Settlement], None],
        *,
        bound: int = _BOUND,
        interval_s: float = RETRY_INTERVAL_S,
    ) -> None:
        self.state = state
        self.on_settled = on_settled
        self.bound = bound
        self.interval_s = interval_s
        self.pending: dict[str, _Settle] = {}
        self.retried = 0  # settles that went through on a later try
        self.given_up = 0  # settles dropped because the queue was full
        self._task: asyncio.Task[None] | None = None

    def add(self, reservation_id: str, cost_microusd: int, tokens: int, *, release: bool) -> None:
        if not self.pending:
            log.warning("the state backend is unreachable: settles are kept and tried again every second")
        if reservation_id not in self.pending and len(self.pending) >= self.bound:
            oldest = next(iter(self.pending))
            del self.pending[oldest]
            self.given_up += 1
            log.error("settle queue full (%d): reservation %s left to the reaper", self.bound, oldest)
        self.pending[reservation_id] = _Settle(cost_microusd, tokens, release)

    async def run_once(self) -> int:
        """Try every kept settle, oldest first; stop at the first failure. How many went through."""
        done = 0
        for reservation_id, held in list(self.pending.items()):
            try:
                if held.release:
                    settlement = await self.state.release(reservation_id)
                else:
                    settlement = await self.state.settle(reservation_id, held.cost_microusd, held.tokens)
            except Exception:  # still unreachable: the next round tries again
                break
            self.pending.pop(reservation_id, None)
            self.on_settled(settlement)
            done += 1
        if done:
            self.retried += done
            left = len(self.pending)
            log.warning("the state backend answers again: %d kept settle(s) done, %d left", done, left)
        return done

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="unsettled-retry")

    async def close(self) -> None:
        """Stop retrying in the background, then try what is kept once more."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.pending:
            await self.run_once()
        if self.pending:
            log.error(
                "%d settle(s) not done at shutdown: the reaper returns their reservations", len(self.pending)
            )

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if self.pending:
                await self.run_once()
